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
import dev.strata.core.store.erasure.ShardPackFiles.ShardEntry;
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
                Map<String, byte[]> before = snapshot(root);
                List<ShardEntry> all = ShardPackFiles.entries(root, true);
                int injected = 0;
                for (TestChunks c : chunks) {
                    List<ShardEntry> shards = new ArrayList<>(shardsOf(root, c.id()));
                    Collections.shuffle(shards, r);
                    int victims = r.nextInt(m + 1);
                    for (int j = 0; j < victims; j++) {
                        damage(shards.get(j), r, all, c);
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

    /** One detectable change to one shard entry, in place in its shard pack file. */
    private static void damage(ShardEntry e, Random r, List<ShardEntry> all, TestChunks owner) {
        switch (r.nextInt(5)) {
            case 0 -> ShardPackFiles.flipBit(e, r.nextInt(e.length() * 8));
            case 1 -> { // torn: the rest never landed (from a byte that is not already 0, so that it is a change)
                byte[] bytes = ShardPackFiles.read(e);
                int from = r.nextInt(e.length());
                while (from > 0 && java.util.stream.IntStream.range(from, bytes.length).allMatch(i -> bytes[i] == 0)) {
                    from--;
                }
                ShardPackFiles.zero(e, from);
            }
            case 2 -> ShardPackFiles.erase(e);
            case 3 -> ShardPackFiles.zero(e, ShardHeader.LENGTH); // header intact, shard bytes zeroed
            default -> {
                // the start of another stripe's longer entry of the same index in its place (or, failing that, random bytes)
                ShardEntry other = all.stream()
                        .filter(x -> x.index() == e.index() && !x.chunk().equals(owner.id().hex()) && x.length() > e.length())
                        .findFirst().orElse(null);
                byte[] junk;
                if (other != null) {
                    junk = java.util.Arrays.copyOf(ShardPackFiles.read(other), e.length());
                } else {
                    junk = new byte[e.length()];
                    r.nextBytes(junk);
                }
                ShardPackFiles.overwrite(e.file(), e.offset(), junk);
            }
        }
    }
}
