package dev.strata.core.store.erasure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.InvalidInputException;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.ChunkStoreConformanceTest;
import dev.strata.core.store.TestChunks;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import dev.strata.core.store.erasure.ShardPackFiles.ShardEntry;
import org.junit.jupiter.api.Test;

/** The conformance suite over six directories (4+2), plus faults: lost directories, flipped bits, truncation. */
class ErasureCodedChunkStoreTest extends ChunkStoreConformanceTest {
    static final int DIRS = 6;

    static List<Path> dirs(Path root, int n) {
        List<Path> out = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            out.add(root.resolve("disk" + i));
        }
        return out;
    }

    @Override
    protected ChunkStore open(Path dir) {
        return ErasureCodedChunkStore.open(dirs(dir, DIRS), 4, 2, 32 << 10);
    }

    /** The intact shard entries of a chunk in the shard pack files under root, by shard index. */
    static List<ShardEntry> shardsOf(Path root, ContentHash id) {
        return ShardPackFiles.shardsOf(root, id.hex());
    }

    static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }

    @Test
    void noTwoShardsOfAStripeShareADirectory() {
        List<TestChunks> chunks = putMany(30, 5000);
        for (TestChunks c : chunks) {
            List<ShardEntry> shards = shardsOf(dir, c.id());
            assertEquals(6, shards.size());
            Set<Path> disks = new HashSet<>();
            for (ShardEntry s : shards) {
                disks.add(dir.relativize(s.file()).getName(0));
            }
            assertEquals(6, disks.size(), "shards of " + c.id() + ": " + shards);
        }
    }

    @Test
    void eachDirectoryHoldsOneShardPackFilePerPackNotOneFilePerShard() {
        List<TestChunks> chunks = putMany(60, 5000);
        store.flush();
        int packs = store.packs().size();
        assertTrue(packs > 1 && packs < chunks.size(), packs + " packs");
        List<Path> files = ShardPackFiles.files(dir);
        assertTrue(files.size() <= packs * DIRS, files.size() + " files for " + packs + " packs");
        for (Path f : files) {
            assertEquals("shards", f.getParent().getFileName().toString(), f.toString());
            String pack = f.getFileName().toString().replace(".shp", "");
            assertTrue(store.packs().stream().anyMatch(p -> p.packId().equals(pack)), f.toString());
        }
        assertEquals(chunks.size() * 6L, ShardPackFiles.entries(dir, true).size());
    }

    @Test
    void aTornTailIsCutOffOnOpenAndTheChunkStaysReadable() throws IOException {
        List<TestChunks> chunks = putMany(12, 5000);
        store.close();
        // tear the last entry of every file of one directory: half of it written, then a crash
        Path disk2 = dir.resolve("disk2");
        java.util.Map<Path, Long> cleanEnds = new java.util.HashMap<>();
        for (Path f : ShardPackFiles.files(disk2)) {
            List<ShardEntry> es = ShardPackFiles.entries(f);
            ShardEntry last = es.get(es.size() - 1);
            try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f, java.nio.file.StandardOpenOption.WRITE)) {
                ch.truncate(last.offset() + last.length() / 2);
            }
            cleanEnds.put(f, last.offset());
        }
        reopen();
        chunks.forEach(this::assertStored);
        for (var en : cleanEnds.entrySet()) {
            assertEquals(en.getValue(), Files.size(en.getKey()), "the torn entry is cut off: " + en.getKey());
            Path saved = disk2.resolve("damaged").resolve(en.getKey().getFileName() + "." + en.getValue());
            assertTrue(Files.isRegularFile(saved), "the cut bytes are kept aside: " + saved);
        }
        // a chunk whose shard was torn is readable from the others, and scrub restores the shard
        dev.strata.core.store.ScrubReport r = ((ErasureCodedChunkStore) store).scrub(dev.strata.core.store.ScrubOptions.unlimited());
        assertEquals(cleanEnds.size(), r.repaired(), r.toString());
        assertEquals(chunks.size() * 6L, ShardPackFiles.entries(dir, true).size());
        putMany(3, 4000).forEach(this::assertStored);
        reopen();
        chunks.forEach(this::assertStored);
    }

    @Test
    void aDamagedHeaderInTheMiddleOfAFileLosesOnlyThatShardOnReopen() throws IOException {
        List<TestChunks> chunks = putMany(12, 5000);
        store.close();
        Path f = ShardPackFiles.files(dir.resolve("disk0")).get(0);
        List<ShardEntry> before = ShardPackFiles.entries(f);
        assertTrue(before.size() >= 3, before.toString());
        ShardPackFiles.flipBit(before.get(1), 8 * 30); // in the header: its length can no longer be trusted
        reopen();
        chunks.forEach(this::assertStored);
        dev.strata.core.store.ScrubReport r = ((ErasureCodedChunkStore) store).scrub(dev.strata.core.store.ScrubOptions.unlimited());
        assertEquals(1, r.damaged(), r.toString());
        assertEquals(1, r.repaired());
        assertTrue(r.damage().get(0).reason().contains("missing"), r.damage().toString());
        assertEquals(before.get(1).chunk(), r.damage().get(0).chunk().hex());
    }

    @Test
    void theOldOneFilePerShardLayoutIsRefusedClearly() throws IOException {
        store.close();
        Path root = dir.resolve("old");
        Files.createDirectories(root.resolve("disk3").resolve("shards").resolve("0123456789abcdef0123456789abcdef"));
        dev.strata.core.StorageException e = assertThrows(dev.strata.core.StorageException.class,
                () -> ErasureCodedChunkStore.open(dirs(root, DIRS), 4, 2, 32 << 10));
        assertTrue(e.getMessage().contains("old one-file-per-shard layout"), e.getMessage());
        store = open(dir);
    }

    @Test
    void readsSurviveTwoWholeDirectoriesLostEvenAfterReopen() throws IOException {
        List<TestChunks> chunks = putMany(40, 5000);
        store.flush();
        deleteTree(dir.resolve("disk1"));
        deleteTree(dir.resolve("disk4"));
        chunks.forEach(this::assertStored);
        reopen();
        chunks.forEach(this::assertStored);
    }

    @Test
    void threeLostDirectoriesGiveAClearErrorNeverWrongBytes() throws IOException {
        List<TestChunks> chunks = putMany(10, 5000);
        store.flush();
        for (int d : new int[] {0, 2, 5}) {
            deleteTree(dir.resolve("disk" + d));
        }
        for (TestChunks c : chunks) {
            CorruptDataException e = assertThrows(CorruptDataException.class, () -> store.get(c.id()));
            assertTrue(e.getMessage().contains("missing"), e.getMessage());
        }
    }

    @Test
    void flippedBitsAndTruncationInUpToTwoShardsAreRepaired() throws IOException {
        Random r = new Random(7);
        List<TestChunks> chunks = putMany(30, 6000);
        store.flush();
        int i = 0;
        for (TestChunks c : chunks) {
            List<ShardEntry> shards = new ArrayList<>(shardsOf(dir, c.id()));
            java.util.Collections.shuffle(shards, r);
            for (int j = 0; j < 2; j++) {
                ShardEntry victim = shards.get(j);
                switch ((i + j) % 3) {
                    case 0 -> ShardPackFiles.flipBit(victim, r.nextInt(victim.length() * 8)); // anywhere, header included
                    case 1 -> ShardPackFiles.zero(victim, r.nextInt(victim.length())); // a torn write: the rest never landed
                    default -> ShardPackFiles.erase(victim); // gone altogether
                }
            }
            i++;
        }
        chunks.forEach(this::assertStored);
        reopen();
        chunks.forEach(this::assertStored);
    }

    @Test
    void threeCorruptShardsAreAnErrorNotWrongBytes() throws IOException {
        TestChunks c = TestChunks.random(random, 20_000);
        store.put(c.id(), c.encoded());
        List<ShardEntry> shards = shardsOf(dir, c.id());
        for (int j = 0; j < 3; j++) {
            ShardPackFiles.flipBit(shards.get(j), 8L * shards.get(j).length() - 2);
        }
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> store.get(c.id()));
        assertTrue(e.getMessage().contains("CRC32C"), e.getMessage());
    }

    @Test
    void shardsSwappedBetweenChunksAreRejected() throws IOException {
        TestChunks a = TestChunks.random(random, 4000);
        TestChunks b = TestChunks.random(random, 4000);
        store.put(a.id(), a.encoded());
        store.put(b.id(), b.encoded());
        // overwrite three of a's shard entries with b's entry of the same index: valid CRCs, wrong stripe
        List<ShardEntry> as = shardsOf(dir, a.id());
        List<ShardEntry> bs = shardsOf(dir, b.id());
        for (int j = 0; j < 3; j++) {
            assertEquals(as.get(j).length(), bs.get(j).length());
            ShardPackFiles.overwrite(as.get(j).file(), as.get(j).offset(), ShardPackFiles.read(bs.get(j)));
        }
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> store.get(a.id()));
        assertTrue(e.getMessage().contains("another stripe"), e.getMessage());
        assertStored(b);
    }

    @Test
    void tooFewDirectoriesFallBackToReplication() {
        store.close();
        Path root = dir.resolve("few");
        store = ErasureCodedChunkStore.open(dirs(root, 3), 4, 2, 32 << 10);
        assertArrayEquals(new int[] {1, 2}, ((ErasureCodedChunkStore) store).geometry());
        List<TestChunks> chunks = putMany(10, 5000);
        for (TestChunks c : chunks) {
            assertEquals(3, shardsOf(root, c.id()).size());
        }
        store.flush();
        try {
            deleteTree(root.resolve("disk0"));
            deleteTree(root.resolve("disk2"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        chunks.forEach(this::assertStored);
        store.close();
        store = ErasureCodedChunkStore.open(dirs(root.resolve("single"), 1), 4, 2, 32 << 10);
        assertArrayEquals(new int[] {1, 0}, ((ErasureCodedChunkStore) store).geometry());
        putMany(3, 100).forEach(this::assertStored);
    }

    @Test
    void aStoreReopenedWithAnotherCodeStillReadsOldChunks() {
        List<TestChunks> first = putMany(10, 5000);
        store.close();
        store = ErasureCodedChunkStore.open(dirs(dir, DIRS), 3, 3, 32 << 10);
        first.forEach(this::assertStored);
        List<TestChunks> second = putMany(10, 5000);
        second.forEach(this::assertStored);
        store.close();
        store = open(dir);
        first.forEach(this::assertStored);
        second.forEach(this::assertStored);
    }

    @Test
    void anUnwritableDirectoryFailsPutsCleanlyAndReadsGoOn() throws IOException {
        List<TestChunks> before = putMany(10, 5000);
        store.flush();
        Path disk3 = dir.resolve("disk3");
        deleteTree(disk3);
        Files.write(disk3, new byte[] {1}); // a dead mount: not a directory any more
        TestChunks c = TestChunks.random(random, 3000);
        assertThrows(dev.strata.core.StorageException.class, () -> store.put(c.id(), c.encoded()));
        assertTrue(!store.exists(c.id()), "a failed put leaves nothing indexed");
        assertTrue(shardsOf(dir, c.id()).isEmpty(), "and no shard files behind");
        before.forEach(this::assertStored);
        store.flush();
        Files.delete(disk3); // the disk is replaced
        assertTrue(store.put(c.id(), c.encoded()));
        assertStored(c);
        reopen();
        before.forEach(this::assertStored);
        assertStored(c);
    }

    @Test
    void readersDuringARepackSeeRightBytesOrNotFound() throws Exception {
        List<TestChunks> chunks = putMany(60, 3000);
        store.flush();
        Set<ContentHash> keep = new HashSet<>();
        for (int i = 0; i < chunks.size(); i += 2) {
            keep.add(chunks.get(i).id());
        }
        java.util.concurrent.atomic.AtomicBoolean done = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                while (!done.get()) {
                    for (TestChunks c : chunks) {
                        if (keep.contains(c.id())) {
                            assertArrayEquals(c.raw(), store.get(c.id()));
                        } else {
                            try {
                                assertArrayEquals(c.raw(), store.get(c.id()));
                            } catch (dev.strata.core.NotFoundException gone) {
                                // dropped by the repack
                            }
                        }
                    }
                }
            } catch (Throwable t) {
                failure.set(t);
            }
        });
        reader.start();
        store.repack(store.packs().stream().map(dev.strata.core.store.PackInfo::packId).toList(), keep::contains);
        done.set(true);
        reader.join();
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        chunks.stream().filter(c -> keep.contains(c.id())).forEach(this::assertStored);
    }

    @Test
    void badConfigurationsAreRejected() {
        assertThrows(InvalidInputException.class, () -> ErasureCodedChunkStore.open(List.of()));
        assertThrows(InvalidInputException.class, () -> ErasureCodedChunkStore.open(List.of(dir.resolve("a"), dir.resolve("a"))));
        assertThrows(InvalidInputException.class, () -> ErasureCodedChunkStore.open(dirs(dir, 6), 0, 2, 1024));
        assertThrows(InvalidInputException.class, () -> ErasureCodedChunkStore.open(dirs(dir, 6), 250, 6, 1024));
    }
}
