package dev.strata.core;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.core.tensor.DType;
import dev.strata.core.tensor.TensorEntry;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class FileManifestTest {
    private static ContentHash id(int i) {
        return ContentHash.of(new byte[] {(byte) i, (byte) (i >> 8), (byte) (i >> 16)});
    }

    /** A random manifest: chunks of random lengths, some runs of them covered by tensors. */
    static FileManifest random(long seed) {
        SplittableRandom rnd = new SplittableRandom(seed);
        int n = rnd.nextInt(0, 60);
        List<ChunkRef> chunks = new ArrayList<>();
        long[] offsets = new long[n + 1];
        for (int i = 0; i < n; i++) {
            int len = rnd.nextBoolean() ? 8 * rnd.nextInt(1, 1 << 17) : 1 << 20;
            chunks.add(new ChunkRef(id(rnd.nextInt()), len));
            offsets[i + 1] = offsets[i] + len;
        }
        List<TensorEntry> tensors = new ArrayList<>();
        DType[] plain = {DType.F32, DType.BF16, DType.F16, DType.I64, DType.U8, DType.F64, DType.BOOL, DType.F8_E4M3};
        int i = 0;
        while (i < n) {
            i += rnd.nextInt(0, 3);
            int count = rnd.nextInt(1, 5);
            if (i + count > n) {
                break;
            }
            long length = offsets[i + count] - offsets[i];
            DType t = plain[rnd.nextInt(plain.length)];
            long[] shape = length % t.elementSize() == 0 ? (rnd.nextBoolean()
                    ? new long[] {length / t.elementSize()} : new long[] {1, length / t.elementSize(), 1})
                    : null;
            if (shape == null) {
                t = DType.U8;
                shape = new long[] {length};
            }
            StringBuilder name = new StringBuilder("layer." + i + ".weight");
            if (rnd.nextInt(8) == 0) {
                name.append("\u00e9\u4e2d\ud83d\ude00");
            }
            int first = i;
            tensors.add(new TensorEntry(name.toString(), t, shape, offsets[i], length, i, count,
                    TensorEntry.digestOf(k -> chunks.get(k).id(), first, count)));
            i += count;
        }
        return new FileManifest(chunks, tensors);
    }

    @Property(tries = 300)
    void encodingRoundTrips(@ForAll long seed) {
        FileManifest m = random(seed);
        byte[] enc = m.encode();
        assertEquals(m.tensors().isEmpty() ? FileManifest.VERSION : FileManifest.VERSION_TENSORS, enc[4]);
        FileManifest back = FileManifest.decode(enc);
        assertEquals(m, back);
        assertArrayEquals(enc, back.encode());
        assertEquals(m.id(), back.id());
    }

    @Property(tries = 500)
    void corruptEncodingsAreRejectedOrDecodeCanonically(@ForAll long seed, @ForAll @IntRange(min = 1, max = 4) int edits) {
        FileManifest m = random(seed);
        SplittableRandom rnd = new SplittableRandom(seed ^ 0x5eed);
        byte[] enc = m.encode();
        for (int e = 0; e < edits && enc.length > 0; e++) {
            switch (rnd.nextInt(4)) {
                case 0 -> enc[rnd.nextInt(enc.length)] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> enc = Arrays.copyOf(enc, rnd.nextInt(enc.length + 1));
                case 2 -> enc = Arrays.copyOf(enc, enc.length + rnd.nextInt(1, 40));
                default -> {
                    int at = rnd.nextInt(Math.max(1, enc.length - 3));
                    if (at + 4 <= enc.length) {
                        ByteBuffer.wrap(enc).putInt(at, new int[] {-1, 0x7fffffff, 1 << 24, 0}[rnd.nextInt(4)]);
                    }
                }
            }
        }
        try {
            FileManifest d = FileManifest.decode(enc);
            // Whatever decodes must re-encode to exactly the same bytes (one encoding per manifest).
            assertArrayEquals(enc, d.encode());
        } catch (InvalidInputException expected) {
            // rejected: fine
        }
    }

    @Test
    void manifestsWithoutTensorsKeepTheVersionOneEncodingAndId() {
        FileManifest m = new FileManifest(List.of(new ChunkRef(id(1), 10), new ChunkRef(id(2), 20)));
        ByteBuffer want = ByteBuffer.allocate(9 + 2 * 36);
        want.putInt(0x5354524d).put((byte) 1).putInt(2).put(id(1).toBytes()).putInt(10).put(id(2).toBytes()).putInt(20);
        assertArrayEquals(want.array(), m.encode());
        assertEquals(ContentHash.of(want.array()), m.id());
        assertEquals(m, FileManifest.decode(want.array()));
        assertEquals(List.of(), FileManifest.decode(want.array()).tensors());
        // The id of an empty manifest, pinned: it must never change.
        assertEquals("5354524d0100000000", HexFormat.of().formatHex(new FileManifest(List.of()).encode()));
    }

    @Test
    void inconsistentTensorTablesAreRejected() {
        List<ChunkRef> chunks = List.of(new ChunkRef(id(1), 16), new ChunkRef(id(2), 16), new ChunkRef(id(3), 8));
        ContentHash d01 = TensorEntry.digestOf(k -> chunks.get(k).id(), 0, 2);
        ContentHash d2 = TensorEntry.digestOf(k -> chunks.get(k).id(), 2, 1);
        FileManifest ok = new FileManifest(chunks, List.of(
                new TensorEntry("a", DType.F32, new long[] {8}, 0, 32, 0, 2, d01),
                new TensorEntry("b", DType.I64, new long[] {1}, 32, 8, 2, 1, d2)));
        assertEquals(ok, FileManifest.decode(ok.encode()));
        List<List<TensorEntry>> bad = List.of(
                List.of(new TensorEntry("a", DType.F32, new long[] {8}, 0, 32, 0, 2, d2)), // wrong digest
                List.of(new TensorEntry("a", DType.F32, new long[] {8}, 16, 32, 0, 2, d01)), // wrong offset
                List.of(new TensorEntry("a", DType.F32, new long[] {4}, 0, 16, 0, 2, d01)), // wrong length
                List.of(new TensorEntry("b", DType.I64, new long[] {1}, 32, 8, 2, 1, d2),
                        new TensorEntry("a", DType.F32, new long[] {8}, 0, 32, 0, 2, d01)), // out of order
                List.of(new TensorEntry("c", DType.U8, new long[] {8}, 32, 8, 2, 2, d2))); // past the list
        for (List<TensorEntry> t : bad) {
            assertThrows(InvalidInputException.class, () -> new FileManifest(chunks, t), t.toString());
        }
        assertThrows(InvalidInputException.class, () -> new TensorEntry("a", DType.F32, new long[] {3}, 0, 16, 0, 1, d2));
        assertThrows(InvalidInputException.class, () -> new TensorEntry("a", DType.F32, new long[17], 0, 0, 0, 1, d2));
        // A version-2 manifest with an empty tensor table is not canonical.
        byte[] v1 = new FileManifest(chunks).encode();
        byte[] v2 = Arrays.copyOf(v1, v1.length + 4);
        v2[4] = 2;
        assertThrows(InvalidInputException.class, () -> FileManifest.decode(v2));
    }
}
