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
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.local.LocalPackStore;
import java.nio.file.Path;
import java.time.Clock;
import dev.strata.core.codec.FloatFormat;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Raw chunks are compressed in place of their packs; ids, bytes and incompressible chunks are untouched. */
class CompactorTest {
    @TempDir Path tmp;

    /** Packs are compacted in chain order: a chunk's place is the number of hinted bases behind it. */
    @Test
    void placeInChainCountsTheBasesBehindAChunk() {
        ContentHash[] c = new ContentHash[8];
        for (int i = 0; i < c.length; i++) {
            c[i] = ContentHash.of(new byte[] {(byte) i});
        }
        Map<ContentHash, TensorHints.Hint> hints = new HashMap<>();
        hints.put(c[0], new TensorHints.Hint(FloatFormat.BF16, null)); // a first checkpoint
        hints.put(c[1], new TensorHints.Hint(FloatFormat.BF16, c[0]));
        hints.put(c[2], new TensorHints.Hint(FloatFormat.BF16, c[1]));
        hints.put(c[3], new TensorHints.Hint(FloatFormat.BF16, c[2]));
        hints.put(c[4], new TensorHints.Hint(FloatFormat.BF16, c[5])); // a tensor that went back: a cycle
        hints.put(c[5], new TensorHints.Hint(FloatFormat.BF16, c[4]));
        hints.put(c[6], new TensorHints.Hint(FloatFormat.BF16, c[7])); // a base without a hint (settled)
        Map<ContentHash, Integer> place = new HashMap<>();
        assertEquals(2, Compactor.placeInChain(c[2], hints, place));
        assertEquals(3, Compactor.placeInChain(c[3], hints, place), "continues from the memoised base");
        assertEquals(0, Compactor.placeInChain(c[0], hints, place));
        assertEquals(1, Compactor.placeInChain(c[1], hints, place));
        assertEquals(1, Compactor.placeInChain(c[4], hints, place), "the cycle ends the walk");
        assertEquals(0, Compactor.placeInChain(c[5], hints, place));
        assertEquals(1, Compactor.placeInChain(c[6], hints, place));
        assertEquals(0, Compactor.placeInChain(c[7], hints, place));
    }

    /** A pack that also holds the next commit's first chunks goes after the packs of this commit alone. */
    @Test
    void packsGoInChainOrder() {
        List<PackInfo> packs = List.of(new PackInfo("a", 1, 1, true), new PackInfo("b", 1, 1, true),
                new PackInfo("c", 1, 1, true), new PackInfo("d", 1, 1, true), new PackInfo("e", 1, 1, true));
        Map<String, Integer> first = Map.of("a", 0, "b", 0, "d", 1, "e", 0);
        Map<String, Integer> last = Map.of("a", 1, "b", 0, "d", 1, "e", 0);
        assertEquals(List.of("b", "e", "a", "d", "c"), Compactor.inChainOrder(packs, first, last).stream().map(PackInfo::packId).toList());
    }

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
            Compactor compactor = new Compactor(store, uploads, catalog, Compactor.DEFAULT_MAX_DELTA_DEPTH);
            Compactor.Report rep = compactor.run(() -> true);
            assertTrue(rep.packsRewritten() >= 1, rep.toString());
            assertEquals(30, rep.chunksCompressed(), "every compressible chunk: " + rep);
            long after = store.packs().stream().mapToLong(p -> p.bytes()).sum();
            assertTrue(after < before * 0.85, "stored " + before + " -> " + after);
            for (int i = 0; i < chunks.size(); i++) {
                byte[] b = chunks.get(i);
                assertArrayEquals(b, store.get(ContentHash.of(b)));
                boolean compressed = i % 2 == 0;
                assertEquals(compressed, store.info(ContentHash.of(b)).codec() != Codec.RAW, "chunk " + i + " (the unsealed pack included)");
            }
            Compactor.Report again = new Compactor(store, uploads, catalog, Compactor.DEFAULT_MAX_DELTA_DEPTH).run(() -> false);
            assertEquals(0, again.packsRewritten(), "nothing runs when told to stop");
            Compactor.Report none = compactor.run(() -> true);
            assertEquals(0, none.packsRewritten(), "a second pass finds nothing new (incompressible raw chunks are not retried): " + none);
        } finally {
            store.close();
        }
    }
}
