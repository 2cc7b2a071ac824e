package dev.strata.core.store.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.ScrubOptions;
import dev.strata.core.store.ScrubReport;
import dev.strata.core.store.TestBytes;
import dev.strata.core.store.TestChunks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The scrubber of a local pack store on real files: flipped bits in entries and in footers are
 * found and reported exactly; with one copy nothing is "repaired", and the files are left as they
 * were (a scrub never writes).
 */
class LocalPackScrubTest {
    @TempDir Path dir;
    LocalPackStore store;
    final Random random = new Random(0x10caL);
    final List<TestChunks> chunks = new ArrayList<>();

    @BeforeEach
    void open() {
        store = LocalPackStore.open(dir, LocalPackStore.Options.defaults().withTargetPackBytes(32 << 10));
        for (int i = 0; i < 30; i++) {
            TestChunks c = TestChunks.mixed(random, i, 5000);
            store.put(c.id(), c.encoded());
            chunks.add(c);
        }
        store.flush();
    }

    @AfterEach
    void close() {
        store.close();
    }

    Path packFile(String packId) {
        return dir.resolve("packs").resolve(packId.substring(0, 2)).resolve(packId + ".pack");
    }

    /** Flips one bit of a chunk's encoded bytes in its pack file (found by its id in the entry header). */
    void flipDataBit(TestChunks c, int bit) throws IOException {
        ChunkInfo info = store.info(c.id());
        Path f = packFile(info.packId());
        byte[] b = Files.readAllBytes(f);
        int at = TestBytes.indexOf(b, c.id().toBytes()) - 8 + dev.strata.core.pack.EntryHeader.LENGTH;
        b[at + bit / 8] ^= (byte) (1 << (bit % 8));
        Files.write(f, b);
    }


    @Test
    void flippedBitsAreReportedExactlyAndNotRepaired() throws IOException {
        TestChunks a = chunks.get(3), b = chunks.get(17);
        flipDataBit(a, 0);
        flipDataBit(b, 8 * (b.encoded().data().length - 1) + 7);
        byte[] before = Files.readAllBytes(packFile(store.info(a.id()).packId()));
        ScrubReport r = store.scrub(ScrubOptions.unlimited());
        assertTrue(r.complete());
        assertEquals(chunks.size(), r.chunksChecked());
        assertEquals(2, r.damaged(), r.damage().toString());
        assertEquals(0, r.repaired());
        assertEquals(2, r.chunksDamaged());
        assertEquals(2, r.chunksUnrecoverable());
        assertFalse(r.clean());
        assertEquals(Set.of(a.id(), b.id()), r.unrecoverable().stream().map(ScrubReport.Unrecoverable::chunk).collect(Collectors.toSet()));
        assertTrue(r.unrecoverable().get(0).reason().contains("CRC32C"), r.unrecoverable().get(0).reason());
        assertTrue(r.unrecoverable().get(0).reason().contains("one copy"), r.unrecoverable().get(0).reason());
        assertArrayEquals(before, Files.readAllBytes(packFile(store.info(a.id()).packId())), "a scrub writes nothing");
        assertThrows(CorruptDataException.class, () -> store.get(a.id()));
        assertThrows(CorruptDataException.class, () -> store.get(b.id()));
        for (TestChunks c : chunks) {
            if (c != a && c != b) {
                assertArrayEquals(c.raw(), store.get(c.id()));
            }
        }
        ScrubReport again = store.scrub(ScrubOptions.unlimited());
        assertEquals(2, again.damaged(), "still there: nothing to repair from");
    }

    @Test
    void aChunkStoredUnderAWrongIdIsUnrecoverable() {
        TestChunks a = TestChunks.random(random, 500);
        TestChunks b = TestChunks.random(random, 500);
        store.put(a.id(), b.encoded()); // a buggy caller: the contract says the id was verified
        ScrubReport r = store.scrub(ScrubOptions.unlimited());
        assertEquals(chunks.size() + 1, r.chunksChecked());
        assertEquals(1, r.chunksUnrecoverable(), r.toString());
        assertEquals(a.id(), r.unrecoverable().get(0).chunk());
        assertTrue(r.unrecoverable().get(0).reason().contains(b.id().hex()), r.unrecoverable().get(0).reason());
        assertThrows(CorruptDataException.class, () -> store.get(a.id()));
    }

    @Test
    void aDamagedFooterIsPackDamageNotChunkDamage() throws IOException {
        PackInfo sealed = store.packs().stream().filter(PackInfo::sealed).findFirst().orElseThrow();
        Path f = packFile(sealed.packId());
        byte[] b = Files.readAllBytes(f);
        long footerOffset = ByteBuffer.wrap(b, b.length - dev.strata.core.pack.PackFormat.TRAILER_LENGTH, 8).getLong();
        b[(int) footerOffset + 40] ^= 0x04;
        Files.write(f, b);
        ScrubReport r = store.scrub(ScrubOptions.unlimited());
        assertEquals(1, r.damaged(), r.damage().toString());
        assertEquals(0, r.chunksUnrecoverable());
        assertNull(r.damage().get(0).chunk());
        assertEquals(sealed.packId(), r.damage().get(0).pack());
        assertTrue(r.damage().get(0).reason().contains("footer"), r.damage().get(0).reason());
        chunks.forEach(c -> assertArrayEquals(c.raw(), store.get(c.id())));
    }

    @Test
    void aScrubRacingRepacksReportsNoFalseDamage() throws Exception {
        Set<ContentHash> keep = new HashSet<>();
        for (int i = 0; i < chunks.size(); i += 3) {
            keep.add(chunks.get(i).id());
        }
        List<ScrubReport> reports = java.util.Collections.synchronizedList(new ArrayList<>());
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        Thread t = new Thread(() -> {
            while (!stop.get()) {
                reports.add(store.scrub(ScrubOptions.unlimited()));
            }
        });
        t.start();
        for (int round = 0; round < 5; round++) {
            store.repack(store.packs().stream().map(PackInfo::packId).toList(), keep::contains);
        }
        stop.set(true);
        t.join();
        assertFalse(reports.isEmpty());
        for (ScrubReport r : reports) {
            assertEquals(0, r.damaged(), r.damage().toString());
        }
    }
}
