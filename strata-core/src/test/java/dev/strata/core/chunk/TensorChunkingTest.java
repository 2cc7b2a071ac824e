package dev.strata.core.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.tensor.DType;
import dev.strata.core.tensor.TensorEntry;
import dev.strata.core.tensor.TensorFiles;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TensorChunkingTest {
    private static final int MIB = 1 << 20;

    @TempDir
    Path dir;

    private static byte[] random(long seed, int n) {
        byte[] b = new byte[n];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    /** Tensors of awkward sizes: 3.5 MiB, 100 B, 2.25 MiB + 2, 5 MiB, and a 2 KiB one. */
    private static Map<String, TensorFiles.St> model(long seed) {
        Map<String, TensorFiles.St> m = new LinkedHashMap<>();
        m.put("a.weight", new TensorFiles.St("F32", new long[] {7, 128 * 1024}, random(seed, 7 * MIB / 2)));
        m.put("b.bias", new TensorFiles.St("U8", new long[] {100}, random(seed + 1, 100)));
        m.put("c.weight", new TensorFiles.St("BF16", new long[] {(9 * MIB / 4 + 2) / 2}, random(seed + 2, 9 * MIB / 4 + 2)));
        m.put("d.weight", new TensorFiles.St("F16", new long[] {5, MIB / 2}, random(seed + 3, 5 * MIB)));
        m.put("e.norm", new TensorFiles.St("F32", new long[] {512}, random(seed + 4, 2048)));
        return m;
    }

    private Path write(byte[] data) throws IOException {
        return Files.write(Files.createTempFile(dir, "m", ".safetensors"), data);
    }

    private static void assertTensorAligned(ChunkedFile f, int slice) {
        Set<Long> starts = new HashSet<>();
        for (ChunkSpan c : f.chunks()) {
            starts.add(c.offset());
        }
        for (TensorEntry t : f.tensors()) {
            assertTrue(starts.contains(t.offset()), t.name() + " starts a chunk");
            for (int i = 0; i < t.chunkCount(); i++) {
                ChunkSpan c = f.chunks().get(t.firstChunk() + i);
                assertEquals(t.offset() + (long) i * slice, c.offset(), t.name() + " slice " + i);
                long want = Math.min(slice, t.end() - c.offset());
                assertEquals(want, c.length(), t.name() + " slice " + i + " length");
            }
        }
    }

    @Test
    void everyTensorStartsAChunkAndIsCutIntoOneMebibyteSlices() throws IOException {
        Path file = write(TensorFiles.safetensors(model(1)));
        AtomicLong progress = new AtomicLong();
        List<ChunkSpan> streamed = new ArrayList<>();
        ChunkedFile f = new FileChunker(2).chunk(file, progress::addAndGet, s -> {
            synchronized (streamed) {
                streamed.addAll(s);
            }
        });
        assertEquals(5, f.tensors().size());
        assertEquals(List.of("a.weight", "b.bias", "c.weight", "d.weight", "e.norm"), f.tensors().stream().map(TensorEntry::name).toList());
        assertEquals(DType.BF16, f.tensors().get(2).dtype());
        assertEquals(4, f.tensors().get(0).chunkCount());
        assertEquals(3, f.tensors().get(2).chunkCount());
        assertTensorAligned(f, FileChunker.TENSOR_SLICE);
        assertEquals(Files.size(file), progress.get());
        assertEquals(f.chunks().size(), streamed.size());
        assertEquals(ContentHash.sha256Of(Files.readAllBytes(file)), f.sha256());
        // The digest is the BLAKE3 of the tensor's chunk ids.
        TensorEntry a = f.tensors().getFirst();
        assertEquals(TensorEntry.digestOf(i -> f.chunks().get(i).id(), a.firstChunk(), a.chunkCount()), a.digest());
    }

    @Test
    void parallelUnitsGiveTheSameChunksAsOneBuffer() throws IOException {
        Path file = write(TensorFiles.safetensors(model(2)));
        ChunkedFile one = new FileChunker(1).chunk(file);
        for (int threads : new int[] {1, 2, 3}) {
            // 4 MiB read units: the file is read in several units, packing small tensors together.
            assertEquals(one, new FileChunker(threads, 4 * MIB).chunk(file), threads + " threads");
        }
        // 1.5 MiB units hold one whole slice each; boundaries still equal.
        assertEquals(one, new FileChunker(2, 3 * MIB / 2).chunk(file));
    }

    @Test
    void changingOneTensorChangesOnlyItsChunks() throws IOException {
        Map<String, TensorFiles.St> m = model(3);
        ChunkedFile before = new FileChunker(2).chunk(write(TensorFiles.safetensors(m)));
        byte[] c = m.get("c.weight").data();
        c[MIB + 12345] ^= 1; // one element in c's second slice
        ChunkedFile after = new FileChunker(2).chunk(write(TensorFiles.safetensors(m)));
        assertEquals(before.chunks().size(), after.chunks().size());
        for (int t = 0; t < before.tensors().size(); t++) {
            TensorEntry x = before.tensors().get(t);
            TensorEntry y = after.tensors().get(t);
            assertEquals(x.offset(), y.offset());
            if (x.name().equals("c.weight")) {
                assertNotEquals(x.digest(), y.digest());
                for (int i = 0; i < x.chunkCount(); i++) {
                    boolean same = before.chunks().get(x.firstChunk() + i).id().equals(after.chunks().get(y.firstChunk() + i).id());
                    assertEquals(i != 1, same, "slice " + i + " of c");
                }
            } else {
                assertEquals(x.digest(), y.digest(), x.name() + " keeps its chunks");
            }
        }
        long differing = 0;
        for (int i = 0; i < before.chunks().size(); i++) {
            if (!before.chunks().get(i).id().equals(after.chunks().get(i).id())) {
                differing++;
            }
        }
        assertEquals(1, differing);
    }

    @Test
    void aTensorAtANewOffsetKeepsItsChunks() throws IOException {
        Map<String, TensorFiles.St> m = model(4);
        ChunkedFile before = new FileChunker(2).chunk(write(TensorFiles.safetensors(m)));
        // Growing b shifts every later tensor by 50 bytes: their chunks still dedup.
        m.put("b.bias", new TensorFiles.St("U8", new long[] {150}, random(9, 150)));
        ChunkedFile after = new FileChunker(2).chunk(write(TensorFiles.safetensors(m)));
        for (String name : List.of("c.weight", "d.weight", "e.norm")) {
            TensorEntry x = before.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
            TensorEntry y = after.tensors().stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
            assertNotEquals(x.offset(), y.offset());
            assertEquals(x.digest(), y.digest(), name);
        }
    }

    @Test
    void torchAndGgufFixturesCarryTheirTensorsIntoTheManifest() throws IOException {
        for (String name : List.of("state_dict.pt", "small.gguf", "small.safetensors")) {
            ChunkedFile f = new FileChunker(2).chunk(write(TensorFiles.fixture(name)));
            assertTrue(!f.tensors().isEmpty(), name);
            assertTensorAligned(f, FileChunker.TENSOR_SLICE);
            FileManifest m = f.toManifest();
            assertEquals(FileManifest.VERSION_TENSORS, m.encode()[4], name);
            assertEquals(m, FileManifest.decode(m.encode()));
            assertEquals(f.tensors(), m.tensors());
        }
    }

    @Test
    void unknownAndMalformedFilesAreChunkedExactlyAsBefore() throws IOException {
        byte[] plain = random(5, 5 * MIB + 17);
        byte[] broken = TensorFiles.safetensors(model(6));
        broken = java.util.Arrays.copyOf(broken, broken.length - 1); // data shorter than the header says
        for (byte[] data : List.of(plain, broken)) {
            for (int segment : new int[] {FileChunker.SEGMENT_SIZE, 1_000_003}) {
                ChunkedFile f = new FileChunker(2, segment).chunk(write(data));
                assertEquals(new FileChunker(1, segment).chunk(new ByteArrayInputStream(data)), f);
                assertEquals(List.of(), f.tensors());
                assertEquals(FileManifest.VERSION, f.toManifest().encode()[4]);
            }
        }
    }
}
