package dev.strata.core.tensor;

import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A restricted reader for the {@code data.pkl} of a {@code torch.save} archive. It is not a Python
 * unpickler: it executes nothing, knows only the opcodes torch's pickler emits (protocol 2, plus
 * the protocol 3-4 framing and memo opcodes) and only the globals that rebuild tensors, storages
 * and ordered dicts, and rejects everything else. Memo size, stack depth, mark depth and the total
 * number of objects are capped; strings are bounded by the input length.
 */
final class TorchPickle {
    static final int MAX_MEMO = 1 << 20;
    static final int MAX_STACK = 1 << 20;
    static final int MAX_MARKS = 256;
    static final int MAX_OBJECTS = 4 << 20;
    static final int MAX_WALK_DEPTH = 64;

    /** A storage named by a persistent id: {@code ('storage', type, key, location, numel)}. */
    record Storage(String key, DType dtype, long numel) {}

    /** A tensor view: {@code _rebuild_tensor_v2(storage, offset, size, stride, ...)}. */
    record Tensor(Storage storage, long storageOffset, long[] size, long[] stride) {}

    /**
     * A storage as the tensors reachable from the root use it: the dotted path of the first tensor
     * (depth-first, dict insertion order) and the shape all its tensors agree on, or the storage's
     * element count as a 1-D shape when they differ or do not cover it exactly.
     */
    record StorageUse(Storage storage, String name, long[] shape) {}

    /** A path from the root, materialised only for a storage's first tensor. */
    private record PathNode(PathNode parent, String key) {
        String render() {
            StringBuilder sb = new StringBuilder();
            render(sb);
            return sb.toString();
        }

        private void render(StringBuilder sb) {
            if (parent != null && parent.key != null) {
                parent.render(sb);
                sb.append('.');
            }
            if (sb.length() + key.length() > TensorInfo.MAX_NAME_BYTES) {
                throw new InvalidInputException("torch: tensor path longer than " + TensorInfo.MAX_NAME_BYTES);
            }
            sb.append(key);
        }
    }

    private record Global(String module, String name) {}

    private record Tuple(Object[] items) {}

    private static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };
    private static final Object MARK = new Object();

    private final byte[] data;
    private int pos;
    private final List<Object> stack = new ArrayList<>();
    private final int[] marks = new int[MAX_MARKS];
    private int markDepth;
    private final Map<Long, Object> memo = new HashMap<>();
    private long objects;

    private TorchPickle(byte[] data) {
        this.data = data;
    }

    /** The storages used by the tensors reachable from the pickle's root, in first-use order. */
    static List<StorageUse> storages(byte[] pickle) {
        TorchPickle p = new TorchPickle(pickle);
        try {
            Object root = p.run();
            Map<String, StorageUse> uses = new LinkedHashMap<>();
            walk(root, new PathNode(null, null), uses, new IdentityHashMap<>(), 0, new long[] {0});
            return new ArrayList<>(uses.values());
        } catch (IndexOutOfBoundsException | ClassCastException | ArithmeticException | NegativeArraySizeException e) {
            throw new InvalidInputException("torch: malformed data.pkl (" + e.getClass().getSimpleName() + ")");
        }
    }

    /** Total name characters materialised, capped so that hostile nesting cannot blow up memory. */
    private static final long MAX_NAME_TOTAL = 64L << 20;

    private static void walk(Object o, PathNode path, Map<String, StorageUse> uses, IdentityHashMap<Object, Boolean> seen,
                             int depth, long[] nameChars) {
        if (depth > MAX_WALK_DEPTH) {
            throw new InvalidInputException("torch: data.pkl nested deeper than " + MAX_WALK_DEPTH);
        }
        if (o instanceof Tensor t) {
            Storage s = t.storage();
            long[] shape = covers(t) ? t.size() : new long[] {s.numel()};
            StorageUse u = uses.get(s.key());
            if (u == null) {
                if (uses.size() >= TorchZip.MAX_ENTRIES) {
                    throw new InvalidInputException("torch: more than " + TorchZip.MAX_ENTRIES + " storages");
                }
                String name = path.key() == null ? "" : path.render();
                nameChars[0] += name.length();
                if (nameChars[0] > MAX_NAME_TOTAL) {
                    throw new InvalidInputException("torch: tensor names longer than " + MAX_NAME_TOTAL + " in total");
                }
                uses.put(s.key(), new StorageUse(s, name, shape));
            } else {
                if (!u.storage().equals(s)) {
                    throw new InvalidInputException("torch: storage " + Names.quote(s.key()) + " declared with two types or sizes");
                }
                if (!java.util.Arrays.equals(u.shape(), shape)) {
                    uses.put(s.key(), new StorageUse(s, u.name(), new long[] {s.numel()}));
                }
            }
            return;
        }
        if (!(o instanceof Map || o instanceof List || o instanceof Tuple) || seen.put(o, Boolean.TRUE) != null) {
            return;
        }
        if (o instanceof Map<?, ?> m) {
            for (Map.Entry<?, ?> e : m.entrySet()) {
                walk(e.getValue(), new PathNode(path, String.valueOf(e.getKey())), uses, seen, depth + 1, nameChars);
            }
        } else {
            Object[] items = o instanceof Tuple t ? t.items() : ((List<?>) o).toArray();
            for (int i = 0; i < items.length; i++) {
                walk(items[i], new PathNode(path, Integer.toString(i)), uses, seen, depth + 1, nameChars);
            }
        }
    }

    /** Whether the view is the whole storage, contiguous from element 0. */
    private static boolean covers(Tensor t) {
        if (t.storageOffset() != 0) {
            return false;
        }
        long[] size = t.size();
        long[] stride = t.stride();
        long expect = 1;
        for (int i = size.length - 1; i >= 0; i--) {
            if (size[i] != 1 && stride[i] != expect) {
                return false;
            }
            expect = Math.multiplyExact(expect, size[i]);
        }
        return expect == t.storage().numel();
    }

    private int u8() {
        if (pos >= data.length) {
            throw new InvalidInputException("torch: data.pkl truncated");
        }
        return data[pos++] & 0xff;
    }

    private long le(int n) {
        if (n > data.length - pos) {
            throw new InvalidInputException("torch: data.pkl truncated");
        }
        long v = 0;
        for (int i = 0; i < n; i++) {
            v |= (long) (data[pos + i] & 0xff) << (8 * i);
        }
        pos += n;
        return v;
    }

    private String utf8(long n) {
        if (n < 0 || n > data.length - pos) {
            throw new InvalidInputException("torch: data.pkl string runs past its end");
        }
        String s = ChannelReader.utf8(java.util.Arrays.copyOfRange(data, pos, pos + (int) n));
        pos += (int) n;
        return s;
    }

    private String line() {
        int start = pos;
        while (pos < data.length && data[pos] != '\n') {
            if (pos - start > 256) {
                throw new InvalidInputException("torch: global name too long");
            }
            pos++;
        }
        if (pos >= data.length) {
            throw new InvalidInputException("torch: data.pkl truncated");
        }
        String s = new String(data, start, pos - start, StandardCharsets.US_ASCII);
        pos++;
        return s;
    }

    private void push(Object o) {
        if (stack.size() >= MAX_STACK) {
            throw new InvalidInputException("torch: pickle stack deeper than " + MAX_STACK);
        }
        if (++objects > MAX_OBJECTS) {
            throw new InvalidInputException("torch: pickle builds more than " + MAX_OBJECTS + " objects");
        }
        stack.add(o);
    }

    private Object pop() {
        if (stack.size() <= (markDepth > 0 ? marks[markDepth - 1] : 0)) {
            throw new InvalidInputException("torch: pickle stack underflow");
        }
        return stack.removeLast();
    }

    private Object peek() {
        if (stack.size() <= (markDepth > 0 ? marks[markDepth - 1] : 0)) {
            throw new InvalidInputException("torch: pickle stack underflow");
        }
        return stack.getLast();
    }

    /** Pops everything above the topmost mark, and the mark. */
    private List<Object> popMark() {
        if (markDepth == 0) {
            throw new InvalidInputException("torch: pickle has no mark to pop to");
        }
        int m = marks[--markDepth];
        List<Object> sub = stack.subList(m, stack.size());
        List<Object> items = new ArrayList<>(sub);
        sub.clear();
        return items;
    }

    private void memoPut(long index) {
        if (index < 0) {
            throw new InvalidInputException("torch: negative memo index");
        }
        if (memo.size() >= MAX_MEMO && !memo.containsKey(index)) {
            throw new InvalidInputException("torch: pickle memo over " + MAX_MEMO + " entries");
        }
        memo.put(index, peek());
    }

    private void memoGet(long index) {
        Object o = memo.get(index);
        if (o == null) {
            throw new InvalidInputException("torch: pickle refers to memo entry " + index + " that was never stored");
        }
        push(o);
    }

    private Object run() {
        while (true) {
            int op = u8();
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v < 2 || v > 5) {
                        throw new InvalidInputException("torch: unsupported pickle protocol " + v);
                    }
                }
                case 0x95 -> le(8); // FRAME: framing only, the bytes follow inline
                case '.' -> { // STOP
                    if (stack.size() != 1 || markDepth != 0) {
                        throw new InvalidInputException("torch: pickle ends with " + stack.size() + " values on the stack");
                    }
                    return stack.getFirst();
                }
                case '}' -> push(new LinkedHashMap<Object, Object>()); // EMPTY_DICT
                case ']' -> push(new ArrayList<Object>()); // EMPTY_LIST
                case ')' -> push(new Tuple(new Object[0])); // EMPTY_TUPLE
                case '(' -> { // MARK
                    if (markDepth == MAX_MARKS) {
                        throw new InvalidInputException("torch: pickle marks nested deeper than " + MAX_MARKS);
                    }
                    marks[markDepth++] = stack.size();
                }
                case 'N' -> push(NONE);
                case 0x88 -> push(Boolean.TRUE); // NEWTRUE
                case 0x89 -> push(Boolean.FALSE); // NEWFALSE
                case 'K' -> push((long) u8()); // BININT1
                case 'M' -> push(le(2)); // BININT2
                case 'J' -> push((long) (int) le(4)); // BININT
                case 0x8a -> { // LONG1
                    int n = u8();
                    if (n > 8) {
                        throw new InvalidInputException("torch: integer of " + n + " bytes");
                    }
                    long v = le(n);
                    if (n > 0 && n < 8 && (v & (1L << (8 * n - 1))) != 0) {
                        v |= -1L << (8 * n); // sign-extend
                    }
                    push(v);
                }
                case 'G' -> { // BINFLOAT (big-endian)
                    long bits = Long.reverseBytes(le(8));
                    push(Double.longBitsToDouble(bits));
                }
                case 'X' -> push(utf8(le(4))); // BINUNICODE
                case 0x8c -> push(utf8(u8())); // SHORT_BINUNICODE
                case 0x85 -> push(new Tuple(new Object[] {pop()})); // TUPLE1
                case 0x86 -> { // TUPLE2
                    Object b = pop();
                    Object a = pop();
                    push(new Tuple(new Object[] {a, b}));
                }
                case 0x87 -> { // TUPLE3
                    Object c = pop();
                    Object b = pop();
                    Object a = pop();
                    push(new Tuple(new Object[] {a, b, c}));
                }
                case 't' -> push(new Tuple(popMark().toArray())); // TUPLE
                case 'q' -> memoPut(u8()); // BINPUT
                case 'r' -> memoPut(le(4)); // LONG_BINPUT
                case 0x94 -> memoPut(memo.size()); // MEMOIZE
                case 'h' -> memoGet(u8()); // BINGET
                case 'j' -> memoGet(le(4)); // LONG_BINGET
                case '0' -> pop(); // POP
                case 'c' -> push(global(line(), line())); // GLOBAL
                case 0x93 -> { // STACK_GLOBAL
                    Object name = pop();
                    Object module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) {
                        throw new InvalidInputException("torch: STACK_GLOBAL needs two strings");
                    }
                    push(global(m, n));
                }
                case 'Q' -> push(persistentLoad(pop())); // BINPERSID
                case 'R' -> { // REDUCE
                    Object args = pop();
                    Object fn = pop();
                    push(reduce(fn, args));
                }
                case 'b' -> { // BUILD: state is ignored (OrderedDict._metadata and the like)
                    pop();
                    peek();
                }
                case 's' -> { // SETITEM
                    Object v = pop();
                    Object k = pop();
                    dict(peek()).put(key(k), v);
                }
                case 'u' -> { // SETITEMS
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) {
                        throw new InvalidInputException("torch: SETITEMS with an odd number of items");
                    }
                    Map<Object, Object> d = dict(peek());
                    for (int i = 0; i < items.size(); i += 2) {
                        d.put(key(items.get(i)), items.get(i + 1));
                    }
                }
                case 'a' -> { // APPEND
                    Object v = pop();
                    list(peek()).add(v);
                }
                case 'e' -> { // APPENDS
                    List<Object> items = popMark();
                    list(peek()).addAll(items);
                }
                default -> throw new InvalidInputException(String.format("torch: pickle opcode 0x%02x is not allowed", op));
            }
        }
    }

    /** Dict keys must be immutable scalars (no identity-hashed containers used as keys). */
    private static Object key(Object k) {
        if (k instanceof String || k instanceof Long || k instanceof Boolean || k == NONE || k instanceof Double) {
            return k;
        }
        throw new InvalidInputException("torch: unsupported dict key type");
    }

    @SuppressWarnings("unchecked")
    private static Map<Object, Object> dict(Object o) {
        if (o instanceof Map<?, ?> m) {
            return (Map<Object, Object>) m;
        }
        throw new InvalidInputException("torch: SETITEM on something that is not a dict");
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object o) {
        if (o instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw new InvalidInputException("torch: APPEND on something that is not a list");
    }

    private static Global global(String module, String name) {
        boolean ok = switch (module) {
            case "collections" -> name.equals("OrderedDict");
            case "torch._utils" -> name.equals("_rebuild_tensor_v2") || name.equals("_rebuild_parameter");
            case "torch.storage" -> name.equals("UntypedStorage");
            case "torch" -> storageDType(name) != null || torchDType(name) != null || name.equals("UntypedStorage");
            default -> false;
        };
        if (!ok) {
            throw new InvalidInputException("torch: global " + Names.quote(module + "." + name) + " is not allowed");
        }
        return new Global(module, name);
    }

    /** {@code torch.FloatStorage} and friends. */
    static DType storageDType(String name) {
        return switch (name) {
            case "FloatStorage" -> DType.F32;
            case "DoubleStorage" -> DType.F64;
            case "HalfStorage" -> DType.F16;
            case "BFloat16Storage" -> DType.BF16;
            case "ByteStorage" -> DType.U8;
            case "CharStorage" -> DType.I8;
            case "ShortStorage" -> DType.I16;
            case "IntStorage" -> DType.I32;
            case "LongStorage" -> DType.I64;
            case "BoolStorage" -> DType.BOOL;
            case "ComplexFloatStorage" -> DType.C64;
            case "ComplexDoubleStorage" -> DType.C128;
            case "Float8_e4m3fnStorage" -> DType.F8_E4M3;
            case "Float8_e5m2Storage" -> DType.F8_E5M2;
            case "UInt16Storage" -> DType.U16;
            case "UInt32Storage" -> DType.U32;
            case "UInt64Storage" -> DType.U64;
            default -> null;
        };
    }

    /** {@code torch.float32} and friends (dtype objects). */
    static DType torchDType(String name) {
        return switch (name) {
            case "float32", "float" -> DType.F32;
            case "float64", "double" -> DType.F64;
            case "float16", "half" -> DType.F16;
            case "bfloat16" -> DType.BF16;
            case "uint8" -> DType.U8;
            case "int8" -> DType.I8;
            case "int16", "short" -> DType.I16;
            case "int32", "int" -> DType.I32;
            case "int64", "long" -> DType.I64;
            case "bool" -> DType.BOOL;
            case "uint16" -> DType.U16;
            case "uint32" -> DType.U32;
            case "uint64" -> DType.U64;
            case "complex64", "cfloat" -> DType.C64;
            case "complex128", "cdouble" -> DType.C128;
            case "float8_e4m3fn" -> DType.F8_E4M3;
            case "float8_e5m2" -> DType.F8_E5M2;
            default -> null;
        };
    }

    private static Storage persistentLoad(Object pid) {
        if (!(pid instanceof Tuple t) || t.items().length != 5 || !"storage".equals(t.items()[0])) {
            throw new InvalidInputException("torch: persistent id is not a ('storage', ...) tuple");
        }
        Object[] it = t.items();
        if (!(it[1] instanceof Global g) || !(it[2] instanceof String key) || !(it[3] instanceof String)
                || !(it[4] instanceof Long numel) || numel < 0) {
            throw new InvalidInputException("torch: malformed storage persistent id");
        }
        DType dtype;
        if (g.name().equals("UntypedStorage")) {
            dtype = DType.U8;
        } else {
            dtype = storageDType(g.name());
            if (dtype == null) {
                dtype = torchDType(g.name());
            }
            if (dtype == null) {
                throw new InvalidInputException("torch: " + Names.quote(g.name()) + " is not a storage type");
            }
        }
        if (key.isEmpty() || key.length() > 64 || !key.chars().allMatch(c -> c >= 0x21 && c < 0x7f && c != '/')) {
            throw new InvalidInputException("torch: bad storage key");
        }
        return new Storage(key, dtype, numel);
    }

    private static Object reduce(Object fn, Object args) {
        if (!(fn instanceof Global g) || !(args instanceof Tuple t)) {
            throw new InvalidInputException("torch: REDUCE needs a global and a tuple");
        }
        Object[] a = t.items();
        return switch (g.module() + "." + g.name()) {
            case "collections.OrderedDict" -> {
                if (a.length != 0) {
                    throw new InvalidInputException("torch: OrderedDict with arguments");
                }
                yield new LinkedHashMap<Object, Object>();
            }
            case "torch._utils._rebuild_tensor_v2" -> {
                if (a.length < 4 || !(a[0] instanceof Storage s) || !(a[1] instanceof Long off) || off < 0) {
                    throw new InvalidInputException("torch: malformed _rebuild_tensor_v2 arguments");
                }
                long[] size = longs(a[2]);
                long[] stride = longs(a[3]);
                if (size.length != stride.length) {
                    throw new InvalidInputException("torch: tensor size and stride differ in rank");
                }
                yield new Tensor(s, off, size, stride);
            }
            case "torch._utils._rebuild_parameter" -> {
                if (a.length < 1 || !(a[0] instanceof Tensor tensor)) {
                    throw new InvalidInputException("torch: malformed _rebuild_parameter arguments");
                }
                yield tensor;
            }
            default -> throw new InvalidInputException("torch: " + g.module() + "." + g.name() + " cannot be called");
        };
    }

    private static long[] longs(Object o) {
        if (!(o instanceof Tuple t) || t.items().length > TensorInfo.MAX_RANK) {
            throw new InvalidInputException("torch: tensor size/stride is not a tuple of rank <= " + TensorInfo.MAX_RANK);
        }
        long[] out = new long[t.items().length];
        for (int i = 0; i < out.length; i++) {
            if (!(t.items()[i] instanceof Long v) || v < 0) {
                throw new InvalidInputException("torch: tensor size/stride entry is not a non-negative int");
            }
            out[i] = v;
        }
        return out;
    }
}
