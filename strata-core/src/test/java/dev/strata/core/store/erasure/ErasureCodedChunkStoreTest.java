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

    static List<Path> shardFiles(Path root) {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<Path> shardsOf(Path root, ContentHash id) {
        return shardFiles(root).stream().filter(p -> p.getFileName().toString().startsWith(id.hex() + ".")).toList();
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
            List<Path> shards = shardsOf(dir, c.id());
            assertEquals(6, shards.size());
            Set<Path> disks = new HashSet<>();
            for (Path s : shards) {
                disks.add(dir.relativize(s).getName(0));
            }
            assertEquals(6, disks.size(), "shards of " + c.id() + ": " + shards);
        }
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
            List<Path> shards = new ArrayList<>(shardsOf(dir, c.id()));
            java.util.Collections.shuffle(shards, r);
            for (int j = 0; j < 2; j++) {
                Path victim = shards.get(j);
                byte[] b = Files.readAllBytes(victim);
                switch ((i + j) % 3) {
                    case 0 -> { // flip a bit anywhere, header included
                        int bit = r.nextInt(b.length * 8);
                        b[bit / 8] ^= (byte) (1 << (bit % 8));
                        Files.write(victim, b);
                    }
                    case 1 -> Files.write(victim, java.util.Arrays.copyOf(b, r.nextInt(b.length))); // truncate
                    default -> Files.write(victim, new byte[0]); // emptied
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
        List<Path> shards = shardsOf(dir, c.id());
        for (int j = 0; j < 3; j++) {
            byte[] b = Files.readAllBytes(shards.get(j));
            b[b.length - 1] ^= 0x40;
            Files.write(shards.get(j), b);
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
        // overwrite three of a's shard files with b's shard of the same index: valid CRCs, wrong stripe
        for (int j = 0; j < 3; j++) {
            Path pa = shardsOf(dir, a.id()).get(j);
            String idx = pa.getFileName().toString().substring(65);
            Path pb = shardsOf(dir, b.id()).stream().filter(p -> p.getFileName().toString().substring(65).equals(idx)).findFirst().orElseThrow();
            Files.copy(pb, pa, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
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
            List<Path> shards = shardsOf(root, c.id());
            assertEquals(3, shards.size());
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
