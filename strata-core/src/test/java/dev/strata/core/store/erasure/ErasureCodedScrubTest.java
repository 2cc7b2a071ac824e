package dev.strata.core.store.erasure;

import static dev.strata.core.store.erasure.ErasureCodedChunkStoreTest.deleteTree;
import static dev.strata.core.store.erasure.ErasureCodedChunkStoreTest.dirs;
import static dev.strata.core.store.erasure.ErasureCodedChunkStoreTest.shardsOf;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.InvalidInputException;
import dev.strata.core.NotFoundException;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.ScrubOptions;
import dev.strata.core.store.ScrubReport;
import dev.strata.core.store.TestChunks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import dev.strata.core.store.erasure.ShardPackFiles.ShardEntry;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Fault injection on real files for the scrubber of a 4+2 store over six directories: every injected
 * damage is found (exactly as many pieces as were damaged), everything parity allows is repaired
 * back to the very bytes that were written, a second pass finds nothing, and what parity cannot
 * cover is reported, never read back wrong.
 */
class ErasureCodedScrubTest {
    @TempDir Path dir;
    ErasureCodedChunkStore store;
    final Random random = new Random(0x5c4b);
    List<TestChunks> chunks;

    @BeforeEach
    void open() {
        store = ErasureCodedChunkStore.open(dirs(dir, 6), 4, 2, 64 << 10);
        chunks = new ArrayList<>();
        for (int i = 0; i < 24; i++) {
            TestChunks c = TestChunks.mixed(random, i, 6000);
            store.put(c.id(), c.encoded());
            chunks.add(c);
        }
        store.flush();
    }

    @AfterEach
    void close() {
        store.close();
    }

    /** Every intact shard entry's bytes, by directory, pack, chunk and index: what a perfect repair restores exactly. */
    static Map<String, byte[]> snapshot(Path root) {
        return ShardPackFiles.snapshot(root);
    }

    static void assertSameFiles(Map<String, byte[]> expected, Map<String, byte[]> actual) {
        assertEquals(expected.keySet(), actual.keySet(), "the same intact shards in the same directories");
        expected.forEach((p, b) -> assertArrayEquals(b, actual.get(p), "bytes of " + p));
    }

    void assertAllReadBack() {
        for (TestChunks c : chunks) {
            assertArrayEquals(c.raw(), store.get(c.id()), "chunk " + c.id());
        }
    }

    static void flipBit(ShardEntry e, long bit) {
        ShardPackFiles.flipBit(e, bit);
    }

    static ShardEntry shard(Path root, ContentHash id, int index) {
        return ShardPackFiles.shard(root, id.hex(), index);
    }

    /** The pieces a report lists as damaged: "chunk-hex.shard". */
    static Set<String> damaged(ScrubReport r) {
        return r.damage().stream().map(d -> d.chunk().hex() + "." + d.shard()).collect(Collectors.toSet());
    }

    void assertSecondPassFindsNothing() {
        ScrubReport again = store.scrub(ScrubOptions.unlimited());
        assertTrue(again.complete());
        assertEquals(0, again.damaged(), again.toString());
        assertEquals(0, again.chunksUnrecoverable());
        assertEquals(chunks.size(), again.chunksChecked());
    }

    @Test
    void flippedBitsATruncatedAndADeletedShardAreFoundAndRepairedExactly() throws IOException {
        Map<String, byte[]> before = snapshot(dir);
        TestChunks a = chunks.get(0), b = chunks.get(1), c = chunks.get(2), d = chunks.get(3), e = chunks.get(4);
        ShardEntry dataShard = shard(dir, a.id(), 1);
        flipBit(dataShard, 8 * (ShardHeader.LENGTH + 3) + 5); // in the shard bytes
        ShardEntry parityShard = shard(dir, b.id(), 5);
        flipBit(parityShard, 8 * 20 + 1); // in the header
        ShardEntry torn = shard(dir, c.id(), 0);
        ShardPackFiles.zero(torn, ShardHeader.LENGTH + 7); // a torn write: only 7 shard bytes landed
        ShardEntry erased = shard(dir, d.id(), 3);
        ShardPackFiles.erase(erased); // header and all: gone
        ShardEntry twice1 = shard(dir, e.id(), 0), twice2 = shard(dir, e.id(), 4); // two of one stripe: still within parity
        flipBit(twice1, 8L * twice1.length() - 1);
        ShardPackFiles.erase(twice2);

        assertAllReadBack(); // reads route around the damage before any repair
        ScrubReport r = store.scrub(ScrubOptions.unlimited());
        assertTrue(r.complete());
        assertEquals(chunks.size(), r.chunksChecked());
        assertEquals(6, r.damaged(), r.damage().toString());
        assertEquals(6, r.repaired());
        assertEquals(5, r.chunksDamaged());
        assertEquals(0, r.chunksUnrecoverable());
        assertTrue(r.clean());
        assertEquals(Set.of(a.id().hex() + ".1", b.id().hex() + ".5", c.id().hex() + ".0", d.id().hex() + ".3",
                e.id().hex() + ".0", e.id().hex() + ".4"), damaged(r));
        assertTrue(r.damage().stream().anyMatch(x -> x.reason().contains("CRC32C")), r.damage().toString());
        assertTrue(r.damage().stream().anyMatch(x -> x.reason().contains("magic")), r.damage().toString());
        assertSameFiles(before, snapshot(dir));
        // repairs are appended, never written over the damage
        assertTrue(ShardPackFiles.entries(dir, false).size() > before.size(), "the damaged entries are still there");
        assertSecondPassFindsNothing();
        assertAllReadBack();
        store.close();
        store = ErasureCodedChunkStore.open(dirs(dir, 6), 4, 2, 64 << 10);
        assertAllReadBack();
        assertSecondPassFindsNothing();
    }

    @Test
    void aDeletedDirectoryIsRecreatedByScrub() throws IOException {
        Map<String, byte[]> before = snapshot(dir);
        deleteTree(dir.resolve("disk2"));
        assertAllReadBack();
        ScrubReport r = store.scrub(ScrubOptions.unlimited());
        // with six directories and 4+2 every stripe has exactly one shard in each
        assertEquals(chunks.size(), r.damaged());
        assertEquals(chunks.size(), r.repaired());
        assertEquals(Map.of(dir.resolve("disk2").toAbsolutePath().normalize().toString(), (long) chunks.size()), r.repairedByLocation());
        assertSameFiles(before, snapshot(dir));
        assertSecondPassFindsNothing();
    }

    @Test
    void aReplacedEmptyDirectoryIsRebuiltEvenAfterReopen() throws IOException {
        Map<String, byte[]> before = snapshot(dir);
        store.close();
        deleteTree(dir.resolve("disk4"));
        Files.createDirectories(dir.resolve("disk4")); // the new, empty disk
        store = ErasureCodedChunkStore.open(dirs(dir, 6), 4, 2, 64 << 10);
        assertAllReadBack();
        ScrubReport r = store.rebuild(dir.resolve("disk4"), ScrubOptions.unlimited());
        assertEquals(chunks.size(), r.chunksChecked());
        assertEquals(chunks.size(), r.damaged());
        assertEquals(chunks.size(), r.repaired());
        assertTrue(r.damage().stream().allMatch(x -> x.reason().contains("missing")), r.damage().toString());
        assertSameFiles(before, snapshot(dir));
        assertSecondPassFindsNothing();
        // and a directory missing altogether (not even created by the open) is rebuilt too
        deleteTree(dir.resolve("disk4"));
        ScrubReport again = store.rebuild(dir.resolve("disk4"), ScrubOptions.unlimited());
        assertEquals(chunks.size(), again.repaired());
        assertSameFiles(before, snapshot(dir));
        assertThrows(InvalidInputException.class, () -> store.rebuild(dir.resolve("elsewhere"), ScrubOptions.unlimited()));
    }

    @Test
    void rebuildReadsOnlyTheStripesWithAShardInTheDirectory() {
        store.close();
        store = ErasureCodedChunkStore.open(dirs(dir.resolve("wide"), 9), 4, 2, 64 << 10);
        for (TestChunks c : chunks) {
            store.put(c.id(), c.encoded());
        }
        store.flush();
        Path disk0 = dir.resolve("wide").resolve("disk0");
        long inDisk0 = chunks.stream().filter(c -> shardsOf(dir.resolve("wide"), c.id()).stream().anyMatch(p -> p.file().startsWith(disk0))).count();
        assertTrue(inDisk0 > 0 && inDisk0 < chunks.size(), inDisk0 + " of " + chunks.size());
        ScrubReport r = store.rebuild(disk0, ScrubOptions.unlimited());
        assertEquals(inDisk0, r.chunksTotal());
        assertEquals(0, r.damaged());
    }

    @Test
    void threeLostDirectoriesAreReportedUnrecoverableAndNothingIsWritten() throws IOException {
        for (int d : new int[] {0, 3, 5}) {
            deleteTree(dir.resolve("disk" + d));
        }
        Map<String, byte[]> before = snapshot(dir);
        for (TestChunks c : chunks) {
            assertThrows(CorruptDataException.class, () -> store.get(c.id()));
        }
        ScrubReport r = store.scrub(ScrubOptions.unlimited());
        assertTrue(r.complete());
        assertEquals(chunks.size(), r.chunksUnrecoverable());
        assertEquals(3L * chunks.size(), r.damaged());
        assertEquals(0, r.repaired());
        assertFalse(r.clean());
        assertEquals(chunks.stream().map(TestChunks::id).collect(Collectors.toSet()),
                r.unrecoverable().stream().map(ScrubReport.Unrecoverable::chunk).collect(Collectors.toSet()));
        assertTrue(r.unrecoverable().get(0).reason().startsWith("4 intact shards needed, 3 found"), r.unrecoverable().get(0).reason());
        assertSameFiles(before, snapshot(dir));
        assertFalse(Files.exists(dir.resolve("disk0")), "nothing recreated for stripes it cannot rebuild");
    }

    @Test
    void beyondParityInOneStripeIsReportedWhileTheOthersAreRepaired() throws IOException {
        TestChunks lost = chunks.get(5), fine = chunks.get(6);
        for (int i : new int[] {0, 2, 4}) {
            flipBit(shard(dir, lost.id(), i), 8 * ShardHeader.LENGTH + i);
        }
        ShardPackFiles.erase(shard(dir, fine.id(), 2));
        assertThrows(CorruptDataException.class, () -> store.get(lost.id()));
        ScrubReport r = store.scrub(ScrubOptions.unlimited());
        assertEquals(4, r.damaged());
        assertEquals(1, r.repaired());
        assertEquals(1, r.chunksUnrecoverable());
        assertEquals(lost.id(), r.unrecoverable().get(0).chunk());
        assertArrayEquals(fine.raw(), store.get(fine.id()));
        ScrubReport again = store.scrub(ScrubOptions.unlimited());
        assertEquals(3, again.damaged(), "the unrecoverable stripe is left as it was");
        assertEquals(1, again.chunksUnrecoverable());
        assertThrows(CorruptDataException.class, () -> store.get(lost.id()));
    }

    @Test
    void aStripeRebuiltToTheWrongIdIsNeverWrittenBack() throws IOException {
        TestChunks a = TestChunks.random(random, 4000);
        TestChunks b = TestChunks.random(random, 4000);
        store.put(a.id(), b.encoded()); // a buggy caller: the contract says the id was verified
        store.flush();
        assertEquals(0, store.scrub(ScrubOptions.unlimited()).damaged(), "intact shards: checksums only (fsck checks ids)");
        ShardPackFiles.erase(shard(dir, a.id(), 2));
        ScrubReport r = store.scrub(ScrubOptions.unlimited());
        assertEquals(1, r.damaged());
        assertEquals(0, r.repaired());
        assertEquals(1, r.chunksUnrecoverable());
        assertTrue(r.unrecoverable().get(0).reason().contains("fails its id check"), r.unrecoverable().get(0).reason());
        assertTrue(shardsOf(dir, a.id()).stream().noneMatch(x -> x.index() == 2), "nothing written from a stripe that does not decode to its id");
        assertThrows(CorruptDataException.class, () -> store.get(a.id()));
    }

    @Test
    void aScrubRacingRepacksReportsNoFalseDamage() throws Exception {
        Set<ContentHash> keep = new HashSet<>();
        for (int i = 0; i < chunks.size(); i += 2) {
            keep.add(chunks.get(i).id());
        }
        java.util.concurrent.atomic.AtomicReference<ScrubReport> report = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        List<ScrubReport> reports = java.util.Collections.synchronizedList(new ArrayList<>());
        Thread scrubber = new Thread(() -> {
            while (!stop.get()) {
                reports.add(store.scrub(ScrubOptions.unlimited()));
            }
        });
        scrubber.start();
        for (int round = 0; round < 5; round++) {
            store.repack(store.packs().stream().map(PackInfo::packId).toList(), keep::contains);
        }
        stop.set(true);
        scrubber.join();
        for (ScrubReport r : reports) {
            assertEquals(0, r.damaged(), r.damage().toString());
            assertEquals(0, r.chunksUnrecoverable(), r.unrecoverable().toString());
        }
        assertTrue(!reports.isEmpty());
        for (TestChunks c : chunks) {
            if (keep.contains(c.id())) {
                assertArrayEquals(c.raw(), store.get(c.id()));
            } else {
                assertThrows(NotFoundException.class, () -> store.get(c.id()));
            }
        }
        // no stray shard pack files resurrected for deleted packs
        Set<String> packs = store.packs().stream().map(PackInfo::packId).collect(Collectors.toSet());
        for (Path f : ShardPackFiles.files(dir)) {
            assertTrue(packs.contains(f.getFileName().toString().replace(".shp", "")), "file of a deleted pack: " + f);
        }
        report.set(store.scrub(ScrubOptions.unlimited()));
        assertTrue(report.get().clean());
    }
}
