package dev.strata.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.Catalogs;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.local.LocalPackStore;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Raw chunks are compressed in place of their packs; ids, bytes and incompressible chunks are untouched. */
class CompactorTest {
    @TempDir Path tmp;

    @Test
    void compressesCompressibleRawChunksAndKeepsEveryByte() {
        ChunkStore store = LocalPackStore.open(tmp.resolve("chunks"), LocalPackStore.Options.defaults().withTargetPackBytes(1 << 20));
        try (Catalog catalog = Catalogs.open("sqlite:" + tmp.resolve("c.db"))) {
            Uploads uploads = new Uploads(new Repositories(catalog), store, Clock.systemUTC());
            SplittableRandom r = new SplittableRandom(3);
            List<byte[]> chunks = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                byte[] b = new byte[50_000];
                if (i % 2 == 0) {
                    for (int k = 0; k < b.length; k++) {
                        b[k] = (byte) (r.nextInt(4)); // compressible
                    }
                } else {
                    r.nextBytes(b); // incompressible
                }
                chunks.add(b);
                store.put(ContentHash.of(b), new EncodedChunk(Codec.RAW, b.length, b));
            }
            store.flush();
            long before = store.packs().stream().mapToLong(p -> p.bytes()).sum();
            java.util.Set<String> sealed = new java.util.HashSet<>();
            store.packs().stream().filter(p -> p.sealed()).forEach(p -> sealed.add(p.packId()));
            java.util.Set<ContentHash> inSealed = new java.util.HashSet<>();
            store.list().stream().filter(c -> sealed.contains(c.packId())).forEach(c -> inSealed.add(c.id()));
            assertTrue(inSealed.size() >= 40, "most chunks are in sealed packs: " + inSealed.size());
            Compactor.Report rep = new Compactor(store, uploads, catalog, Compactor.DEFAULT_MAX_DELTA_DEPTH).run(() -> true);
            assertTrue(rep.packsRewritten() >= 1, rep.toString());
            assertTrue(rep.chunksCompressed() > 0 && rep.chunksCompressed() <= 30, rep.toString());
            long after = store.packs().stream().mapToLong(p -> p.bytes()).sum();
            assertTrue(after < before * 0.85, "stored " + before + " -> " + after);
            for (int i = 0; i < chunks.size(); i++) {
                byte[] b = chunks.get(i);
                assertArrayEquals(b, store.get(ContentHash.of(b)));
                boolean compressed = i % 2 == 0 && inSealed.contains(ContentHash.of(b));
                assertEquals(compressed, store.info(ContentHash.of(b)).codec() != Codec.RAW, "chunk " + i + " (the active pack is left alone)");
            }
            Compactor.Report again = new Compactor(store, uploads, catalog, Compactor.DEFAULT_MAX_DELTA_DEPTH).run(() -> false);
            assertEquals(0, again.packsRewritten(), "nothing runs when told to stop");
        } finally {
            store.close();
        }
    }
}
