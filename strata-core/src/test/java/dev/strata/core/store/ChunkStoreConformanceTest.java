package dev.strata.core.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.NotFoundException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The {@link ChunkStore} contract as tests. Every store implementation extends this class and
 * supplies {@link #open(Path)}; the suite ships in strata-core's test-jar. Randomness is seeded
 * ({@link #SEED}) so a failure replays.
 */
public abstract class ChunkStoreConformanceTest {
    protected static final long SEED = 0x5712a7aL;

    @TempDir
    protected Path dir;
    protected ChunkStore store;
    protected final Random random = new Random(SEED);

    /**
     * Opens the store kept under {@code dir}: a fresh one the first time, the same contents when
     * called again after {@link ChunkStore#close()}. Stores not on a local disk derive their
     * location (bucket prefix, ...) from {@code dir}. Implementations should use small packs here
     * (tens of KiB) so that the tests span several.
     */
    protected abstract ChunkStore open(Path dir);

    @BeforeEach
    void openStore() {
        store = open(dir);
    }

    @AfterEach
    void closeStore() {
        if (store != null) {
            store.close();
        }
    }

    protected void reopen() {
        store.close();
        store = open(dir);
    }

    protected List<TestChunks> putMany(int count, int maxSize) {
        List<TestChunks> chunks = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            TestChunks c = TestChunks.mixed(random, i, maxSize);
            assertTrue(store.put(c.id(), c.encoded()));
            chunks.add(c);
        }
        return chunks;
    }

    protected void assertStored(TestChunks c) {
        assertArrayEquals(c.raw(), store.get(c.id()), "chunk " + c.id());
    }

    @Test
    void rawChunkRoundTripsBitExact() {
        TestChunks c = TestChunks.random(random, 10_000);
        assertTrue(store.put(c.id(), c.encoded()));
        assertStored(c);
        EncodedChunk stored = store.getEncoded(c.id());
        assertEquals(Codec.RAW, stored.codec());
        assertArrayEquals(c.raw(), stored.data());
    }

    /** The upload path reuses one array for frames of equal length: a store must copy what it keeps before put returns. */
    @Test
    void putKeepsNoReferenceToTheCallersArray() {
        TestChunks c = TestChunks.random(random, 10_000);
        byte[] reused = c.encoded().data().clone();
        assertTrue(store.put(c.id(), new EncodedChunk(Codec.RAW, reused.length, reused)));
        java.util.Arrays.fill(reused, (byte) 0x5a);
        assertStored(c);
        reopen();
        assertStored(c);
    }

    @Test
    void zstdChunkRoundTripsBitExactAndStaysEncoded() {
        TestChunks c = TestChunks.compressible(random, 50_000);
        assertTrue(store.put(c.id(), c.encoded()));
        assertStored(c);
        EncodedChunk stored = store.getEncoded(c.id());
        assertEquals(Codec.ZSTD, stored.codec());
        assertEquals(50_000, stored.rawLength());
        assertArrayEquals(c.encoded().data(), stored.data());
        assertTrue(store.info(c.id()).encodedLength() < 50_000);
    }

    /** The direct-buffer read either declines, leaving the buffer alone, or delivers exactly the chunk, with either check. */
    @Test
    void readRawIntoDeliversTheChunkOrDeclines() {
        List<TestChunks> chunks = List.of(TestChunks.random(random, 300_000), TestChunks.random(random, 70_000),
                TestChunks.random(random, 5_000), TestChunks.compressible(random, 200_000));
        for (TestChunks c : chunks) {
            store.put(c.id(), c.encoded());
        }
        java.nio.ByteBuffer dst = java.nio.ByteBuffer.allocateDirect(400_000);
        for (ReadCheck check : ReadCheck.values()) {
            for (TestChunks c : chunks) {
                dst.clear().position(11);
                if (store.readRawInto(c.id(), dst, check)) {
                    assertEquals(11 + c.raw().length, dst.position());
                    byte[] got = new byte[c.raw().length];
                    dst.position(11).get(got);
                    assertArrayEquals(c.raw(), got, check.name());
                } else {
                    assertEquals(11, dst.position());
                }
                assertFalse(store.readRawInto(c.id(), dst.clear().limit(c.raw().length - 1), check), "no room: declined");
            }
        }
        TestChunks a = TestChunks.random(random, 150_000);
        TestChunks b = TestChunks.random(random, 150_000);
        store.put(a.id(), b.encoded()); // stored under a wrong id: never delivered when the id is checked
        try {
            assertFalse(store.readRawInto(a.id(), dst.clear(), ReadCheck.ID));
        } catch (CorruptDataException e) {
            assertEquals(a.id().hex(), e.expected());
            assertEquals(b.id().hex(), e.actual());
        }
        // Checksum only: what was stored comes back intact (the receiver's id check refuses it).
        if (store.readRawInto(a.id(), dst.clear(), ReadCheck.CHECKSUM)) {
            byte[] got = new byte[b.raw().length];
            dst.flip().get(got);
            assertArrayEquals(b.raw(), got);
        }
    }

    @Test
    void emptyChunkRoundTrips() {
        TestChunks c = TestChunks.random(random, 0);
        assertTrue(store.put(c.id(), c.encoded()));
        assertArrayEquals(new byte[0], store.get(c.id()));
    }

    @Test
    void putIsIdempotent() {
        TestChunks c = TestChunks.random(random, 1000);
        assertTrue(store.put(c.id(), c.encoded()));
        assertFalse(store.put(c.id(), c.encoded()));
        assertFalse(store.put(c.id(), TestChunks.compressible(random, 10).encoded()), "present id: bytes are not even looked at");
        assertEquals(1, store.list().size());
        assertEquals(1, store.packs().stream().mapToInt(PackInfo::entries).sum());
        assertStored(c);
    }

    @Test
    void existsInfoAndListDescribeWhatIsStored() {
        List<TestChunks> chunks = putMany(20, 4000);
        Set<String> packIds = store.packs().stream().map(PackInfo::packId).collect(Collectors.toSet());
        for (TestChunks c : chunks) {
            assertTrue(store.exists(c.id()));
            ChunkInfo info = store.info(c.id());
            assertEquals(c.id(), info.id());
            assertEquals(c.encoded().codec(), info.codec());
            assertEquals(c.raw().length, info.rawLength());
            assertEquals(c.encoded().data().length, info.encodedLength());
            assertTrue(packIds.contains(info.packId()), "info names a listed pack");
        }
        assertEquals(ids(chunks), store.list().stream().map(ChunkInfo::id).collect(Collectors.toSet()));
        assertEquals(20, store.packs().stream().mapToInt(PackInfo::entries).sum());
    }

    @Test
    void absentIdsAndPacksAreNotFound() {
        ContentHash absent = ContentHash.of(new byte[] {1, 2, 3});
        assertFalse(store.exists(absent));
        assertNull(store.info(absent));
        assertThrows(NotFoundException.class, () -> store.get(absent));
        assertThrows(NotFoundException.class, () -> store.getEncoded(absent));
        assertThrows(NotFoundException.class, () -> store.deletePack("00000000000000000000000000000000"));
        assertThrows(NotFoundException.class, () -> store.repack(List.of("00000000000000000000000000000000"), id -> true));
    }

    @Test
    void chunkStoredUnderAWrongIdIsNeverReturned() {
        TestChunks a = TestChunks.random(random, 500);
        TestChunks b = TestChunks.random(random, 500);
        store.put(a.id(), b.encoded()); // a buggy caller: the contract says the id was verified
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> store.get(a.id()));
        assertEquals(a.id().hex(), e.expected());
        assertEquals(b.id().hex(), e.actual());
    }

    @Test
    void concurrentPutsAndGetsFromSeveralThreads() throws Exception {
        List<TestChunks> pool = new ArrayList<>();
        for (int i = 0; i < 200; i++) {
            pool.add(TestChunks.mixed(random, i, 3000));
        }
        Map<ContentHash, AtomicInteger> added = new ConcurrentHashMap<>();
        int threads = 4;
        ExecutorService exec = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                Random r = new Random(SEED + t);
                futures.add(exec.submit(() -> {
                    for (int i = 0; i < 300; i++) {
                        TestChunks c = pool.get(r.nextInt(pool.size()));
                        if (store.put(c.id(), c.encoded())) {
                            added.computeIfAbsent(c.id(), k -> new AtomicInteger()).incrementAndGet();
                        }
                        assertArrayEquals(c.raw(), store.get(c.id()));
                        if (i % 50 == 0) {
                            store.flush();
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get();
            }
        } finally {
            exec.shutdownNow();
        }
        for (AtomicInteger n : added.values()) {
            assertEquals(1, n.get(), "exactly one put of an id returns true");
        }
        assertEquals(added.keySet(), store.list().stream().map(ChunkInfo::id).collect(Collectors.toSet()));
        for (TestChunks c : pool) {
            if (added.containsKey(c.id())) {
                assertStored(c);
            }
        }
    }

    @Test
    void repackKeepsExactlyWhatThePredicateKeepsAndFreesBytes() {
        List<TestChunks> chunks = putMany(60, 3000);
        store.flush();
        List<String> packIds = store.packs().stream().map(PackInfo::packId).toList();
        long bytesBefore = store.packs().stream().mapToLong(PackInfo::bytes).sum();
        Set<ContentHash> keep = new HashSet<>();
        for (int i = 0; i < chunks.size(); i += 2) {
            keep.add(chunks.get(i).id());
        }

        RepackResult result = store.repack(packIds, keep::contains);

        assertEquals(packIds.size(), result.packsDeleted());
        assertEquals(30, result.chunksKept());
        assertEquals(30, result.chunksDropped());
        assertTrue(result.bytesFreed() > 0, "bytes freed: " + result.bytesFreed());
        assertEquals(keep, store.list().stream().map(ChunkInfo::id).collect(Collectors.toSet()));
        for (String old : packIds) {
            assertFalse(store.packs().stream().anyMatch(p -> p.packId().equals(old)), "old pack gone: " + old);
        }
        long bytesAfter = store.packs().stream().mapToLong(PackInfo::bytes).sum();
        assertTrue(bytesAfter < bytesBefore, bytesAfter + " < " + bytesBefore);
        reopen();
        for (TestChunks c : chunks) {
            if (keep.contains(c.id())) {
                assertStored(c);
            } else {
                assertThrows(NotFoundException.class, () -> store.get(c.id()));
            }
        }
    }

    @Test
    void deletePackRemovesExactlyItsChunks() {
        List<TestChunks> chunks = putMany(40, 4000);
        store.flush();
        String victim = store.info(chunks.get(0).id()).packId();
        Set<ContentHash> inVictim = store.list().stream().filter(i -> i.packId().equals(victim))
                .map(ChunkInfo::id).collect(Collectors.toSet());

        store.deletePack(victim);

        assertFalse(store.packs().stream().anyMatch(p -> p.packId().equals(victim)));
        for (TestChunks c : chunks) {
            if (inVictim.contains(c.id())) {
                assertThrows(NotFoundException.class, () -> store.get(c.id()));
            } else {
                assertStored(c);
            }
        }
        reopen();
        assertEquals(chunks.size() - inVictim.size(), store.list().size());
        assertFalse(store.exists(chunks.get(0).id()));
    }

    @Test
    void reopenKeepsEverythingFlushedAndContinues() {
        List<TestChunks> first = putMany(30, 3000);
        store.flush();
        reopen();
        first.forEach(this::assertStored);

        List<TestChunks> second = putMany(30, 3000);
        reopen(); // close() makes puts durable too
        first.forEach(this::assertStored);
        second.forEach(this::assertStored);
        assertEquals(60, store.list().size());
        for (TestChunks c : first) {
            assertFalse(store.put(c.id(), c.encoded()), "still present after reopen");
        }
    }

    @Test
    void snapshotsAreDetachedFromLaterWrites() {
        putMany(5, 100);
        List<ChunkInfo> list = store.list();
        List<PackInfo> packs = store.packs();
        putMany(5, 100);
        assertEquals(5, list.size());
        assertEquals(5, packs.stream().mapToInt(PackInfo::entries).sum());
        assertNotNull(store.packs());
    }

    // ---- scrub

    @Test
    void scrubOfAHealthyStoreChecksEverythingAndFindsNothing() {
        List<TestChunks> chunks = putMany(40, 5000);
        store.flush();
        List<ScrubReport> progress = new ArrayList<>();
        ScrubReport r = store.scrub(ScrubOptions.unlimited().withProgress(progress::add));
        assertTrue(r.complete(), r.toString());
        assertTrue(r.clean(), r.toString());
        assertEquals(40, r.chunksTotal());
        assertEquals(40, r.chunksChecked());
        long encoded = chunks.stream().mapToLong(c -> c.encoded().data().length).sum();
        assertTrue(r.bytesChecked() >= encoded, r.bytesChecked() + " bytes read for " + encoded + " encoded bytes");
        assertEquals(0, r.damaged());
        assertEquals(0, r.chunksUnrecoverable());
        assertTrue(r.damage().isEmpty() && r.unrecoverable().isEmpty());
        assertEquals(r, progress.get(progress.size() - 1), "the last progress call is the final report");
        chunks.forEach(this::assertStored);
    }

    @Test
    void scrubKeepsToItsRate() {
        putMany(30, 8000);
        store.flush();
        long bytes = store.scrub(ScrubOptions.unlimited()).bytesChecked();
        long started = System.nanoTime();
        ScrubReport r = store.scrub(ScrubOptions.atRate(bytes * 4)); // a quarter of a second's budget
        long millis = (System.nanoTime() - started) / 1_000_000;
        assertTrue(r.complete() && r.clean(), r.toString());
        assertTrue(millis >= 140, "read " + bytes + " bytes at " + (bytes * 4) + " B/s in " + millis + " ms");
        assertTrue(millis < 5_000, millis + " ms");
    }

    @Test
    void scrubStopsWhenAskedAndHoldsItsGuard() {
        putMany(40, 2000);
        AtomicInteger locks = new AtomicInteger();
        java.util.concurrent.locks.ReentrantLock inner = new java.util.concurrent.locks.ReentrantLock();
        java.util.concurrent.locks.Lock guard = new java.util.concurrent.locks.Lock() {
            public void lock() { locks.incrementAndGet(); inner.lock(); }
            public void lockInterruptibly() throws InterruptedException { locks.incrementAndGet(); inner.lockInterruptibly(); }
            public boolean tryLock() { return inner.tryLock(); }
            public boolean tryLock(long t, java.util.concurrent.TimeUnit u) throws InterruptedException { return inner.tryLock(t, u); }
            public void unlock() { inner.unlock(); }
            public java.util.concurrent.locks.Condition newCondition() { return inner.newCondition(); }
        };
        ScrubReport all = store.scrub(ScrubOptions.unlimited().withGuard(guard));
        assertTrue(all.complete());
        assertTrue(locks.get() >= 40, "guard taken " + locks.get() + " times for 40 chunks");
        assertFalse(inner.isLocked());
        AtomicInteger asked = new AtomicInteger();
        ScrubReport some = store.scrub(ScrubOptions.unlimited().withKeepGoing(() -> asked.incrementAndGet() <= 6));
        assertFalse(some.complete());
        assertTrue(some.chunksChecked() < 40, some.toString());
        ScrubReport none = store.scrub(ScrubOptions.unlimited().withKeepGoing(() -> false));
        assertFalse(none.complete());
        assertEquals(0, none.chunksChecked());
    }

    private static Set<ContentHash> ids(List<TestChunks> chunks) {
        Map<ContentHash, TestChunks> m = new HashMap<>();
        chunks.forEach(c -> m.put(c.id(), c));
        return m.keySet();
    }
}
