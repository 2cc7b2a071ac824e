package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.chunk.ChunkedFile;
import dev.strata.core.chunk.FileChunker;
import dev.strata.core.tensor.TensorFiles;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The cache of chunked files answers only for files whose attributes did not change, and never wrongly. */
class FileIndexCacheTest {
    @TempDir Path tmp;

    @Test
    void reusesTheChunkingOfAnUnchangedFileAndRecomputesAChangedOne() throws Exception {
        Path f = tmp.resolve("model.bin");
        TestData.randomFile(f, 3 << 20, 1);
        settle(f);
        FileIndexCache cache = FileIndexCache.open(true);
        ChunkedFile first = cache.chunk(new FileChunker(1), f, n -> {});
        Path entries = Path.of(System.getenv("STRATA_CACHE_DIR"), "files");
        assertTrue(Files.list(entries).findAny().isPresent(), "an entry was written for a settled file");

        // Same attributes: the cached answer.
        assertEquals(0, cache.hits());
        ChunkedFile again = cache.chunk(new FileChunker(1), f, n -> {});
        assertEquals(1, cache.hits());
        assertEquals(first, again);

        // Same size, new content, new mtime: recomputed, and equal to a fresh chunking.
        TestData.randomFile(f, 3 << 20, 2);
        settle(f);
        ChunkedFile changed = cache.chunk(new FileChunker(1), f, n -> {});
        assertEquals(1, cache.hits(), "a changed file is a miss");
        assertNotEquals(first.sha256(), changed.sha256());
        assertEquals(new FileChunker(1).chunk(f), changed);
    }

    @Test
    void aFileModifiedJustNowIsNotCachedAndADamagedEntryIsAMiss() throws Exception {
        Path f = tmp.resolve("fresh.bin");
        TestData.randomFile(f, 1 << 20, 3);
        FileIndexCache cache = FileIndexCache.open(true);
        Path entries = Path.of(System.getenv("STRATA_CACHE_DIR"), "files");
        long before = Files.exists(entries) ? Files.list(entries).count() : 0;
        cache.chunk(new FileChunker(1), f, n -> {});
        long after = Files.exists(entries) ? Files.list(entries).count() : 0;
        assertEquals(before, after, "a file written within the last seconds may still change unseen: not cached");

        settle(f);
        ChunkedFile good = cache.chunk(new FileChunker(1), f, n -> {});
        for (Path e : (Iterable<Path>) Files.list(entries)::iterator) {
            try (OutputStream out = Files.newOutputStream(e)) {
                out.write(new byte[] {1, 2, 3});
            }
        }
        int hits = cache.hits();
        assertEquals(good, cache.chunk(new FileChunker(1), f, n -> {}), "a damaged entry is recomputed, not trusted");
        assertEquals(hits, cache.hits());
    }

    @Test
    void modelFilesKeepTheirTensorTableThroughTheCache() throws Exception {
        Path f = tmp.resolve("model.safetensors");
        java.util.Map<String, TensorFiles.St> tensors = new java.util.LinkedHashMap<>();
        tensors.put("w", new TensorFiles.St("F32", new long[] {3, 1 << 18}, new byte[3 << 20]));
        tensors.put("b", new TensorFiles.St("I64", new long[] {4}, TensorFiles.int64s(1, 2, 3, 4)));
        Files.write(f, TensorFiles.safetensors(tensors));
        settle(f);
        FileIndexCache cache = FileIndexCache.open(true);
        ChunkedFile first = cache.chunk(new FileChunker(1), f, n -> {});
        assertEquals(2, first.tensors().size());
        int hits = cache.hits();
        ChunkedFile again = cache.chunk(new FileChunker(1), f, n -> {});
        assertEquals(hits + 1, cache.hits());
        assertEquals(first, again);
        assertEquals(first.toManifest().id(), again.toManifest().id());
    }

    @Test
    void disabledCacheAlwaysChunks() throws Exception {
        Path f = tmp.resolve("x.bin");
        TestData.randomFile(f, 100_000, 4);
        settle(f);
        assertEquals(new FileChunker(1).chunk(f), FileIndexCache.open(false).chunk(new FileChunker(1), f, n -> {}));
    }

    private static void settle(Path f) throws IOException {
        Files.setLastModifiedTime(f, FileTime.from(Instant.now().minusSeconds(60)));
    }
}
