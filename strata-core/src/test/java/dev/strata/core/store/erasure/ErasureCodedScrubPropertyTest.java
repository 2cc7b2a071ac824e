package dev.strata.core.store.erasure;

import static dev.strata.core.store.erasure.ErasureCodedChunkStoreTest.deleteTree;
import static dev.strata.core.store.erasure.ErasureCodedChunkStoreTest.dirs;
import static dev.strata.core.store.erasure.ErasureCodedChunkStoreTest.shardsOf;
import static dev.strata.core.store.erasure.ErasureCodedScrubTest.assertSameFiles;
import static dev.strata.core.store.erasure.ErasureCodedScrubTest.snapshot;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.strata.core.store.ScrubOptions;
import dev.strata.core.store.ScrubReport;
import dev.strata.core.store.TestChunks;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Random;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Any damage to at most m shards of each stripe (flipped bits anywhere, truncation, emptied or
 * deleted files, another stripe's shard in its place) is found piece for piece by one scrub and
 * repaired to the bytes first written; a second scrub finds nothing.
 */
class ErasureCodedScrubPropertyTest {

    @Property(tries = 25)
    void anyDamageWithinParityIsRepairedExactly(@ForAll long seed, @ForAll @IntRange(min = 1, max = 6) int chunkCount,
                                                @ForAll @IntRange(min = 2, max = 4) int k, @ForAll @IntRange(min = 1, max = 3) int m)
            throws IOException {
        Random r = new Random(seed);
        Path root = Files.createTempDirectory("ec-scrub-prop");
        try {
            int n = k + m + r.nextInt(3); // sometimes more directories than shards
            ErasureCodedChunkStore store = ErasureCodedChunkStore.open(dirs(root, n), k, m, 64 << 10);
            List<TestChunks> chunks = new ArrayList<>();
            try {
                for (int i = 0; i < chunkCount; i++) {
                    TestChunks c = TestChunks.mixed(r, i, 3000);
                    if (store.put(c.id(), c.encoded())) {
                        chunks.add(c);
                    }
                }
                store.flush();
                Map<Path, byte[]> before = snapshot(root);
                int injected = 0;
                for (TestChunks c : chunks) {
                    List<Path> shards = new ArrayList<>(shardsOf(root, c.id()));
                    Collections.shuffle(shards, r);
                    int victims = r.nextInt(m + 1);
                    for (int j = 0; j < victims; j++) {
                        damage(shards.get(j), r, before, c);
                        injected++;
                    }
                }
                ScrubReport rep = store.scrub(ScrubOptions.unlimited());
                assertEquals(injected, rep.damaged(), rep.damage().toString());
                assertEquals(injected, rep.repaired(), rep.damage().toString());
                assertEquals(0, rep.chunksUnrecoverable(), rep.unrecoverable().toString());
                assertSameFiles(before, snapshot(root));
                ScrubReport again = store.scrub(ScrubOptions.unlimited());
                assertEquals(0, again.damaged(), again.damage().toString());
                for (TestChunks c : chunks) {
                    assertArrayEquals(c.raw(), store.get(c.id()));
                }
            } finally {
                store.close();
            }
        } finally {
            deleteTree(root);
        }
    }

    /** One detectable change to one shard file. */
    private static void damage(Path f, Random r, Map<Path, byte[]> files, TestChunks owner) throws IOException {
        byte[] b = Files.readAllBytes(f);
        switch (r.nextInt(5)) {
            case 0 -> {
                int bit = r.nextInt(b.length * 8);
                b[bit / 8] ^= (byte) (1 << (bit % 8));
                Files.write(f, b);
            }
            case 1 -> Files.write(f, java.util.Arrays.copyOf(b, r.nextInt(b.length)));
            case 2 -> Files.write(f, new byte[0]);
            case 3 -> Files.delete(f);
            default -> {
                // a valid shard of another stripe (or, failing that, random bytes) in its place
                String name = f.getFileName().toString();
                String index = name.substring(name.indexOf('.'));
                Path other = files.keySet().stream()
                        .filter(p -> p.getFileName().toString().endsWith(index) && !p.getFileName().toString().startsWith(owner.id().hex()))
                        .findFirst().orElse(null);
                if (other != null) {
                    Files.write(f, files.get(other));
                } else {
                    byte[] junk = new byte[b.length];
                    r.nextBytes(junk);
                    Files.write(f, junk);
                }
            }
        }
    }
}
