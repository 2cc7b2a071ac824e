package dev.strata.service;

import dev.strata.core.ChunkRef;
import dev.strata.core.FileManifest;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.tensor.DType;
import dev.strata.core.tensor.TensorEntry;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Tensor by tensor comparison of two versions of a model file: which tensors are unchanged (equal
 * digests, decided from the manifests alone), changed, added or removed, and for a changed tensor of
 * the same dtype and shape the relative norm of the change, ‖new − old‖₂ / ‖old‖₂, read from the
 * stored chunks (only changed tensors are read).
 */
public final class TensorDiff {
    /** One tensor's change; {@code relativeChange} is null where it is not defined (not numeric, reshaped, added, removed). */
    public record TensorChange(String name, String dtype, long[] shape, String status, Double relativeChange) {}

    private TensorDiff() {}

    static List<TensorChange> compare(ChunkStore store, FileManifest from, FileManifest to) {
        Map<String, TensorEntry> old = new LinkedHashMap<>();
        from.tensors().forEach(t -> old.put(t.name(), t));
        List<TensorChange> out = new ArrayList<>();
        for (TensorEntry t : to.tensors()) {
            TensorEntry o = old.remove(t.name());
            if (o == null) {
                out.add(new TensorChange(t.name(), t.dtype().name(), t.shape(), "added", null));
            } else if (o.digest().equals(t.digest()) && o.dtype() == t.dtype()) {
                out.add(new TensorChange(t.name(), t.dtype().name(), t.shape(), "unchanged", null));
            } else {
                boolean comparable = o.dtype() == t.dtype() && java.util.Arrays.equals(o.shape(), t.shape())
                        && o.length() == t.length() && numeric(t.dtype());
                Double rel = comparable ? relativeChange(store, from, o, to, t) : null;
                out.add(new TensorChange(t.name(), t.dtype().name(), t.shape(), "changed", rel));
            }
        }
        old.values().forEach(o -> out.add(new TensorChange(o.name(), o.dtype().name(), o.shape(), "removed", null)));
        return out;
    }

    private static boolean numeric(DType d) {
        return switch (d) {
            case BF16, F16, F32, F64, I8, I16, I32, I64, U8, U16, U32, U64, BOOL -> true;
            default -> false;
        };
    }

    /** ‖b − a‖ / ‖a‖ over every element (NaN when either holds NaN or infinities; +∞ when ‖a‖ = 0 and b differs). */
    private static double relativeChange(ChunkStore store, FileManifest fa, TensorEntry a, FileManifest fb, TensorEntry b) {
        int width = a.dtype().blockBytes();
        double diff2 = 0, norm2 = 0;
        // Both tensors have the same length, but their slices need not line up: read them as two
        // byte streams and compare element by element.
        Stream sa = new Stream(store, fa.chunks().subList(a.firstChunk(), a.firstChunk() + a.chunkCount()));
        Stream sb = new Stream(store, fb.chunks().subList(b.firstChunk(), b.firstChunk() + b.chunkCount()));
        long remaining = a.length() / width;
        ByteBuffer ea = ByteBuffer.allocate(width).order(ByteOrder.LITTLE_ENDIAN);
        ByteBuffer eb = ByteBuffer.allocate(width).order(ByteOrder.LITTLE_ENDIAN);
        while (remaining-- > 0) {
            sa.next(ea.clear());
            sb.next(eb.clear());
            double x = value(a.dtype(), ea.flip()), y = value(b.dtype(), eb.flip());
            double d = y - x;
            diff2 += d * d;
            norm2 += x * x;
        }
        if (norm2 == 0) {
            return diff2 == 0 ? 0.0 : Double.POSITIVE_INFINITY;
        }
        return Math.sqrt(diff2) / Math.sqrt(norm2);
    }

    private static double value(DType d, ByteBuffer b) {
        return switch (d) {
            case BF16 -> Float.intBitsToFloat((b.getShort() & 0xffff) << 16);
            case F16 -> Float.float16ToFloat(b.getShort());
            case F32 -> b.getFloat();
            case F64 -> b.getDouble();
            case I8 -> b.get();
            case U8, BOOL -> b.get() & 0xff;
            case I16 -> b.getShort();
            case U16 -> b.getShort() & 0xffff;
            case I32 -> b.getInt();
            case U32 -> b.getInt() & 0xffffffffL;
            case I64 -> b.getLong();
            case U64 -> {
                long v = b.getLong();
                yield v >= 0 ? v : (double) (v >>> 1) * 2.0;
            }
            default -> throw new IllegalArgumentException(d + " is not numeric");
        };
    }

    /** The bytes of a run of chunks, one chunk in memory at a time. */
    private static final class Stream {
        private final ChunkStore store;
        private final List<ChunkRef> chunks;
        private int next;
        private byte[] buf = new byte[0];
        private int pos;

        Stream(ChunkStore store, List<ChunkRef> chunks) {
            this.store = store;
            this.chunks = chunks;
        }

        void next(ByteBuffer into) {
            while (into.hasRemaining()) {
                if (pos == buf.length) {
                    buf = store.get(chunks.get(next++).id());
                    pos = 0;
                }
                int n = Math.min(into.remaining(), buf.length - pos);
                into.put(buf, pos, n);
                pos += n;
            }
        }
    }
}
