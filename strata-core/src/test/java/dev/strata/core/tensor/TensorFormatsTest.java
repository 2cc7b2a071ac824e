package dev.strata.core.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.InvalidInputException;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorFormatsTest {
    @TempDir
    Path dir;

    private record Expected(String name, DType dtype, long[] shape, long length, String hex) {}

    private static Map<String, List<Expected>> expected() {
        Map<String, List<Expected>> out = new LinkedHashMap<>();
        List<Expected> cur = null;
        for (String line : new String(TensorFiles.fixture("expected.txt"), StandardCharsets.UTF_8).split("\n")) {
            String[] f = line.split(" ");
            if (f[0].equals("file")) {
                cur = new ArrayList<>();
                out.put(f[1], cur);
            } else {
                long[] shape = Arrays.stream(f[2].split(",")).mapToLong(Long::parseLong).toArray();
                cur.add(new Expected(f[0], DType.valueOf(f[1]), shape, Long.parseLong(f[3]), f[4]));
            }
        }
        return out;
    }

    private Optional<TensorLayout> detect(byte[] data) throws IOException {
        Path f = Files.write(Files.createTempFile(dir, "m", ".bin"), data);
        return TensorFormats.detect(f);
    }

    static void assertTiles(TensorLayout l, long size) {
        long next = 0;
        for (TensorLayout.Segment s : l.segments()) {
            assertEquals(next, s.offset());
            assertTrue(s.length() > 0);
            next = s.end();
        }
        assertEquals(size, next);
    }

    @Test
    void fixturesParseToTheTensorsPythonWrote() throws IOException {
        Map<String, String> formats = Map.of("state_dict.pt", "torch-zip", "small.safetensors", "safetensors", "small.gguf", "gguf");
        for (var e : expected().entrySet()) {
            byte[] data = TensorFiles.fixture(e.getKey());
            TensorLayout layout = detect(data).orElseThrow(() -> new AssertionError(e.getKey() + " not recognised"));
            assertEquals(formats.get(e.getKey()), layout.format());
            assertTiles(layout, data.length);
            Map<String, TensorInfo> byName = new LinkedHashMap<>();
            for (TensorInfo t : layout.tensors()) {
                byName.put(t.name(), t);
            }
            assertEquals(e.getValue().size(), byName.size(), e.getKey() + ": " + layout.tensors());
            for (Expected x : e.getValue()) {
                TensorInfo t = byName.get(x.name());
                assertTrue(t != null, e.getKey() + " lacks " + x.name() + ": " + layout.tensors());
                assertEquals(x.dtype(), t.dtype(), x.name());
                assertArrayEquals(x.shape(), t.shape(), x.name());
                assertEquals(x.length(), t.length(), x.name());
                int n = (int) Math.min(8, t.length());
                byte[] got = new byte[2 * n];
                System.arraycopy(data, (int) t.offset(), got, 0, n);
                System.arraycopy(data, (int) (t.end() - n), got, n, n);
                assertEquals(x.hex(), HexFormat.of().formatHex(got), x.name() + " bytes at its offset");
            }
        }
    }

    @Test
    void torchStoragesAre64ByteAlignedAndNamedAfterTheirFirstTensor() throws IOException {
        TensorLayout l = detect(TensorFiles.fixture("state_dict.pt")).orElseThrow();
        List<String> names = l.tensors().stream().map(TensorInfo::name).toList();
        assertEquals(List.of("embed.weight", "layer.0.weight", "layer.0.bias", "base", "steps", "mask", "lonely_view"), names);
        for (TensorInfo t : l.tensors()) {
            assertEquals(0, t.offset() % 64, t.name());
        }
    }

    @Test
    void unknownAndMalformedFilesAreNotRecognised() throws IOException {
        assertEquals(Optional.empty(), detect(new byte[0]));
        assertEquals(Optional.empty(), detect("hello, world, this is text".getBytes(StandardCharsets.UTF_8)));
        byte[] random = new byte[100_000];
        new SplittableRandom(3).nextBytes(random);
        assertEquals(Optional.empty(), detect(random));
        byte[] st = TensorFiles.fixture("small.safetensors");
        assertEquals(Optional.empty(), detect(Arrays.copyOf(st, st.length - 1)), "truncated data");
        byte[] plainZip = TensorFiles.torchZip("not a pickle".getBytes(StandardCharsets.US_ASCII), Map.of(), false);
        assertEquals(Optional.empty(), detect(plainZip));
    }

    @Test
    void headerLengthsBeyondTheFileOrTheCapAreRejectedWithoutAllocating() {
        for (long n : new long[] {1L << 60, -1L, Safetensors.MAX_HEADER + 1, 1000}) {
            byte[] data = new byte[200];
            ByteBuffer.wrap(data).order(ByteOrder.LITTLE_ENDIAN).putLong(n);
            data[8] = '{';
            assertThrows(InvalidInputException.class, () -> TensorFiles.parse(dir, data, TensorFormats.Format.SAFETENSORS));
        }
        // GGUF claiming 2^60 tensors, or a 2^60-element array.
        ByteBuffer g = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        g.putInt(Gguf.MAGIC).putInt(3).putLong(1L << 60).putLong(0);
        assertThrows(InvalidInputException.class, () -> TensorFiles.parse(dir, g.array(), TensorFormats.Format.GGUF));
        ByteBuffer a = ByteBuffer.allocate(64).order(ByteOrder.LITTLE_ENDIAN);
        a.putInt(Gguf.MAGIC).putInt(3).putLong(0).putLong(1).putLong(1).put((byte) 'k').putInt(9).putInt(8).putLong(1L << 60);
        assertThrows(InvalidInputException.class, () -> TensorFiles.parse(dir, a.array(), TensorFormats.Format.GGUF));
    }

    @Test
    void safetensorsOverlapsHolesAndBadShapesAreHandled() throws IOException {
        byte[] four = new byte[16];
        Map<String, TensorFiles.St> ok = new LinkedHashMap<>();
        ok.put("a", new TensorFiles.St("F32", new long[] {2, 2}, four));
        ok.put("b", new TensorFiles.St("BF16", new long[] {8}, four));
        TensorLayout l = TensorFiles.parse(dir, TensorFiles.safetensors(ok), TensorFormats.Format.SAFETENSORS);
        assertEquals(2, l.tensors().size());
        assertEquals(TensorLayout.Kind.HEADER, l.segments().getFirst().kind());

        String[] bad = {
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
            "{\"a\":{\"dtype\":\"Q9\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}} trailing",
            "{\"a\":" + "[".repeat(1000) + "]".repeat(1000) + "}",
            "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", // past the end
        };
        for (String json : bad) {
            byte[] h = json.getBytes(StandardCharsets.UTF_8);
            ByteBuffer b = ByteBuffer.allocate(8 + h.length + 8).order(ByteOrder.LITTLE_ENDIAN);
            b.putLong(h.length).put(h);
            assertThrows(InvalidInputException.class, () -> TensorFiles.parse(dir, b.array(), TensorFormats.Format.SAFETENSORS), json);
        }
    }

    @Test
    void compressedTorchArchivesAreUnknown() throws IOException {
        byte[] pkl = Pickles.stateDict("w", "0", "FloatStorage", 4);
        Map<String, byte[]> storages = Map.of("0", new byte[16]);
        TensorLayout l = detect(TensorFiles.torchZip(pkl, storages, false)).orElseThrow();
        assertEquals(1, l.tensors().size());
        assertEquals("w", l.tensors().getFirst().name());
        assertEquals(DType.F32, l.tensors().getFirst().dtype());
        assertEquals(Optional.empty(), detect(TensorFiles.torchZip(pkl, storages, true)));
        // A storage whose entry holds the wrong number of bytes, or that is missing.
        assertEquals(Optional.empty(), detect(TensorFiles.torchZip(pkl, Map.of("0", new byte[15]), false)));
        assertEquals(Optional.empty(), detect(TensorFiles.torchZip(pkl, Map.of("1", new byte[16]), false)));
    }

    @Test
    void zip64ArchivesWithManyStoragesParse() throws IOException {
        // Over 65 535 entries: java.util.zip writes the ZIP64 end records, as torch does for big files.
        int n = 66_000;
        Pickles p = new Pickles().proto().op('}').op('(');
        Map<String, byte[]> storages = new LinkedHashMap<>();
        for (int i = 0; i < n; i++) {
            String key = Integer.toString(i);
            p.str("t" + i).global("torch._utils", "_rebuild_tensor_v2");
            p.op('(').op('(').str("storage").global("torch", "ShortStorage").str(key).str("cpu").integer(1).op('t').op('Q');
            p.integer(0).op(')').op(')').op(0x89).op('N').op('t').op('R');
            storages.put(key, new byte[] {(byte) i, (byte) (i >> 8)});
        }
        p.op('u').op('.');
        byte[] zip = TensorFiles.torchZip(p.bytes(), storages, false);
        TensorLayout l = detect(zip).orElseThrow();
        assertTiles(l, zip.length);
        assertEquals(n, l.tensors().size());
        TensorInfo last = l.tensors().getLast();
        assertEquals("t" + (n - 1), last.name());
        assertEquals(DType.I16, last.dtype());
        assertEquals((byte) (n - 1), zip[(int) last.offset()]);
    }

    @Test
    void hostilePicklesAreRejected() {
        Pickles os = new Pickles().proto().global("os", "system").str("echo pwned").tuple1().op('R').op('.');
        assertRejected(os.bytes(), "global os.system");
        Pickles builtins = new Pickles().proto().global("builtins", "eval").op('.');
        assertRejected(builtins.bytes(), "builtins.eval");
        Pickles torchGlobal = new Pickles().proto().global("torch", "load").op('.');
        assertRejected(torchGlobal.bytes(), "torch.load");
        Pickles deepMarks = new Pickles().proto();
        for (int i = 0; i < 10_000; i++) {
            deepMarks.op('(');
        }
        assertRejected(deepMarks.bytes(), "deep marks");
        Pickles deepLists = new Pickles().proto();
        for (int i = 0; i < 10_000; i++) {
            deepLists.op(']');
        }
        for (int i = 0; i < 9_999; i++) {
            deepLists.op('a');
        }
        assertRejected(deepLists.op('.').bytes(), "deeply nested lists");
        Pickles hugeGet = new Pickles().proto().op('j').u32(0x7fff_fff0).op('.');
        assertRejected(hugeGet.bytes(), "memo index never stored");
        Pickles manyPuts = new Pickles().proto().op('N');
        for (int i = 0; i <= TorchPickle.MAX_MEMO; i++) {
            manyPuts.op('r').u32(i);
        }
        assertRejected(manyPuts.op('.').bytes(), "memo over the cap");
        Pickles longString = new Pickles().proto().op('X').u32(0x7fff_ffff).op('.');
        assertRejected(longString.bytes(), "string longer than the pickle");
        assertRejected(new Pickles().proto().op('c').op('.').bytes(), "unterminated global");
        assertRejected(new Pickles().proto().op('i').op('.').bytes(), "INST opcode");
        assertRejected(new Pickles().proto().op('.').bytes(), "empty stack at STOP");
        assertRejected(new Pickles().proto().op('0').bytes(), "pop on empty stack");
        Pickles selfList = new Pickles().proto().op(']').op('q').u8(0).op('h').u8(0).op('a').op('.');
        assertEquals(List.of(), TorchPickle.storages(selfList.bytes()), "a list that contains itself walks once");
    }

    private static void assertRejected(byte[] pickle, String what) {
        assertThrows(InvalidInputException.class, () -> TorchPickle.storages(pickle), what);
    }

    /** A tiny pickle writer for hand-made (and hostile) data.pkl files. */
    static final class Pickles {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickles op(int op) {
            out.write(op);
            return this;
        }

        Pickles u8(int v) {
            out.write(v);
            return this;
        }

        Pickles u32(int v) {
            out.writeBytes(ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN).putInt(v).array());
            return this;
        }

        Pickles proto() {
            return op(0x80).u8(2);
        }

        Pickles global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickles str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            op('X').u32(b.length);
            out.writeBytes(b);
            return this;
        }

        Pickles integer(int v) {
            return op('J').u32(v);
        }

        Pickles tuple1() {
            return op(0x85);
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        /** {@code OrderedDict(name=_rebuild_tensor_v2(storage(key, type, numel), 0, (numel,), (1,), False, OrderedDict()))}. */
        static byte[] stateDict(String name, String key, String storageType, int numel) {
            Pickles p = new Pickles().proto().global("collections", "OrderedDict").op(')').op('R');
            p.op('(').str(name).global("torch._utils", "_rebuild_tensor_v2");
            p.op('(').op('(').str("storage").global("torch", storageType).str(key).str("cpu").integer(numel).op('t').op('Q');
            p.integer(0).integer(numel).tuple1().integer(1).tuple1().op(0x89).global("collections", "OrderedDict").op(')').op('R');
            p.op('t').op('R').op('u').op('.');
            return p.bytes();
        }
    }
}
