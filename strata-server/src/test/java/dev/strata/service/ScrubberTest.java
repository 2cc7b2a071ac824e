package dev.strata.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.catalog.Catalog;
import dev.strata.catalog.Catalogs;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.erasure.ErasureCodedChunkStore;
import dev.strata.core.store.local.LocalPackStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scrubber service: passes now and in the background, preemption, the GC lock, its state across restarts. */
class ScrubberTest {
    @TempDir Path tmp;
    ChunkStore store;
    Catalog catalog;
    Uploads uploads;
    final List<ContentHash> ids = new ArrayList<>();

    @BeforeEach
    void open() {
        List<Path> dirs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            dirs.add(tmp.resolve("disk" + i));
        }
        store = ErasureCodedChunkStore.open(dirs, 4, 2, 1 << 20);
        catalog = Catalogs.open("sqlite:" + tmp.resolve("c.db"));
        uploads = new Uploads(new Repositories(catalog), store, Clock.systemUTC());
        SplittableRandom r = new SplittableRandom(5);
        for (int i = 0; i < 20; i++) {
            byte[] b = new byte[20_000];
            r.nextBytes(b);
            ContentHash id = ContentHash.of(b);
            store.put(id, new EncodedChunk(Codec.RAW, b.length, b));
            ids.add(id);
        }
        store.flush();
    }

    @AfterEach
    void close() {
        store.close();
        catalog.close();
    }

    dev.strata.core.store.erasure.ShardPackFiles.ShardEntry anyShardOf(ContentHash id) {
        return dev.strata.core.store.erasure.ShardPackFiles.shardsOf(tmp, id.hex()).get(0);
    }

    @Test
    void aPassNowRepairsAndIsRecordedAcrossRestarts() throws Exception {
        dev.strata.core.store.erasure.ShardPackFiles.erase(anyShardOf(ids.get(3)));
        Path state = tmp.resolve("scrub.json");
        Scrubber s = new Scrubber(store, uploads, state);
        assertNull(s.lastJson());
        Scrubber.Pass p = s.runNow(0);
        assertEquals(Scrubber.Trigger.MANUAL, p.trigger());
        assertEquals(1, p.report().damaged());
        assertEquals(1, p.report().repaired());
        assertTrue(p.report().clean());
        JsonNode status = s.status();
        assertFalse(status.path("running").asBoolean());
        assertEquals(1, status.path("last").path("repaired").asInt());
        assertEquals("manual", status.path("last").path("trigger").asText());
        assertEquals("erasure-coded 4+2 over 6 directories", status.path("store").asText());
        assertTrue(status.path("background").path("next_at").isNull(), "no background pass was started");
        s.close();

        Scrubber again = new Scrubber(store, uploads, state);
        assertEquals(1, again.lastJson().path("repaired").asInt(), "the last pass survives a restart");
        assertEquals(p.report().startedAt().toString(), again.status().path("last_complete_started_at").asText());
        again.startBackground(50, Duration.ofHours(24));
        Instant next = again.nextBackgroundAt();
        assertNotNull(next);
        assertTrue(!next.isBefore(p.report().startedAt().plus(Duration.ofHours(24))), "next pass a day after the last one: " + next);
        again.close();
    }

    @Test
    void theBackgroundPassRunsAndAPassNowPreemptsIt() throws Exception {
        Scrubber s = new Scrubber(store, uploads, null, Duration.ZERO);
        s.startBackground(0.05, Duration.ofHours(1)); // 50 kB/s: the pass would take tens of seconds
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (s.current() == null && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertNotNull(s.current(), "the background pass started");
        assertEquals(Scrubber.Trigger.BACKGROUND, s.current().trigger());
        assertTrue(s.status().path("running").asBoolean());
        long started = System.nanoTime();
        Scrubber.Pass now = s.runNow(0);
        assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(5), "the background pass gave way");
        assertTrue(now.report().complete());
        assertEquals(ids.size(), now.report().chunksChecked());
        assertEquals(Scrubber.Trigger.MANUAL, s.last().trigger());
        started = System.nanoTime();
        s.close();
        assertTrue(System.nanoTime() - started < TimeUnit.SECONDS.toNanos(5), "close stops the background pass");
    }

    @Test
    void aPassWaitsForGarbageCollectionAndNeverBlocksUploads() throws Exception {
        Scrubber s = new Scrubber(store, uploads, null);
        uploads.gcLock().writeLock().lock(); // a collection or compaction repacking
        CompletableFuture<Scrubber.Pass> pass;
        try {
            pass = CompletableFuture.supplyAsync(() -> s.runNow(0));
            Thread.sleep(300);
            assertFalse(pass.isDone(), "no chunk is checked while packs are being repacked");
        } finally {
            uploads.gcLock().writeLock().unlock();
        }
        assertTrue(pass.get(10, TimeUnit.SECONDS).report().complete());
        // while a slow pass runs, the read side stays available to uploads
        CompletableFuture<Scrubber.Pass> slow = CompletableFuture.supplyAsync(() -> s.runNow(0.05));
        Thread.sleep(200);
        assertTrue(uploads.gcLock().readLock().tryLock(1, TimeUnit.SECONDS), "an upload step gets the lock");
        uploads.gcLock().readLock().unlock();
        assertTrue(uploads.gcLock().writeLock().tryLock(2, TimeUnit.SECONDS), "a collection gets in between two chunks");
        uploads.gcLock().writeLock().unlock();
        s.close();
        assertFalse(slow.get(10, TimeUnit.SECONDS).report().complete(), "closing stops it");
    }

    @Test
    void repairOfADirectoryNeedsAnErasureCodedStore() {
        try (LocalPackStore local = LocalPackStore.open(tmp.resolve("local"))) {
            Scrubber s = new Scrubber(local, uploads, null);
            assertThrows(InvalidInputException.class, () -> s.repair(tmp.resolve("disk0")));
            assertTrue(s.repair(null).report().complete(), "without a directory it verifies");
            assertEquals("local packs (one copy)", Scrubber.describe(local));
        }
        assertThrows(InvalidInputException.class, () -> new Scrubber(store, uploads, null).runNow(-1));
    }
}
