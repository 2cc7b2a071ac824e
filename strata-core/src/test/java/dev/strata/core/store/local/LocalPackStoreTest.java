package dev.strata.core.store.local;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.InvalidInputException;
import dev.strata.core.StorageException;
import dev.strata.core.codec.Codecs;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.pack.EntryHeader;
import dev.strata.core.pack.PackFormat;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.ChunkStoreConformanceTest;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.ReadCheck;
import dev.strata.core.store.TestChunks;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LocalPackStoreTest extends ChunkStoreConformanceTest {
    private static final LocalPackStore.Options SMALL_PACKS = LocalPackStore.Options.defaults().withTargetPackBytes(64 << 10);

    @TempDir
    Path scratch;

    @Override
    protected ChunkStore open(Path dir) {
        return LocalPackStore.open(dir, SMALL_PACKS);
    }

    // ---- layout and sealing --------------------------------------------------------------------

    @Test
    void packsAreSealedAtTheTargetSizeWithReadableFooters() throws IOException {
        for (int i = 0; i < 100; i++) {
            TestChunks c = TestChunks.random(random, 8000);
            store.put(c.id(), c.encoded());
        }
        List<PackInfo> packs = store.packs();
        assertTrue(packs.size() >= 10, "packs: " + packs.size());
        assertEquals(1, packs.stream().filter(p -> !p.sealed()).count(), "one active pack");
        for (PackInfo p : packs) {
            Path file = packFile(dir, p.packId());
            assertEquals(p.bytes(), p.sealed() ? Files.size(file) : p.bytes());
            if (p.sealed()) {
                assertTrue(p.bytes() >= 64 << 10);
                try (FileChannel ch = FileChannel.open(file)) {
                    assertEquals(p.entries(), PackScan.readFooter(ch, ch.size()).size());
                }
            }
        }
    }

    @Test
    void reopenResumesTheCleanActivePackInsteadOfStartingAnother() {
        putMany(3, 1000);
        reopen();
        List<PackInfo> before = store.packs();
        assertEquals(1, before.size());
        assertFalse(before.get(0).sealed());
        putMany(3, 1000);
        assertEquals(1, store.packs().size());
        assertEquals(before.get(0).packId(), store.packs().get(0).packId());
        assertEquals(6, store.packs().get(0).entries());
    }

    @Test
    void duplicatesAcrossPacksResolveToEitherCopy() throws IOException {
        TestChunks c = TestChunks.random(random, 3000);
        store.put(c.id(), c.encoded());
        store.close();
        Path other = scratch.resolve("other");
        try (LocalPackStore s = LocalPackStore.open(other)) {
            s.put(c.id(), c.encoded());
        }
        Path otherPack = onlyPack(other);
        Path target = dir.resolve("packs").resolve(otherPack.getParent().getFileName()).resolve(otherPack.getFileName());
        Files.createDirectories(target.getParent());
        Files.copy(otherPack, target);
        store = open(dir);
        assertEquals(2, store.packs().size());
        assertEquals(1, store.list().size());
        assertStored(c);
    }

    @Test
    void anInterruptedReaderDoesNotBreakThePackForOthers() {
        List<TestChunks> chunks = putMany(10, 2000);
        Thread.currentThread().interrupt(); // FileChannel closes itself when an interrupted thread uses it
        try {
            assertThrows(StorageException.class, () -> store.get(chunks.get(0).id()));
        } finally {
            assertTrue(Thread.interrupted(), "the interrupt is left for the caller to see");
        }
        chunks.forEach(this::assertStored);
        TestChunks interrupted = TestChunks.random(random, 500);
        Thread.currentThread().interrupt();
        try {
            assertThrows(StorageException.class, () -> store.put(interrupted.id(), interrupted.encoded()));
        } finally {
            Thread.interrupted();
        }
        assertFalse(store.exists(interrupted.id()));
        TestChunks more = TestChunks.random(random, 500);
        assertTrue(store.put(more.id(), more.encoded()), "writes go on after an interrupted one");
        store.flush();
        chunks.forEach(this::assertStored);
        reopen();
        assertStored(more);
    }

    // ---- crash recovery ------------------------------------------------------------------------

    /** A flushed single-pack store: its chunks in file order, entry ends, and the pack's bytes. */
    private record Image(List<TestChunks> chunks, long[] ends, Path relativePack, byte[] bytes) {}

    private Image flushedImage(int count) throws IOException {
        return flushedImage(count, i -> TestChunks.mixed(random, i, 3000));
    }

    private Image flushedImage(int count, java.util.function.IntFunction<TestChunks> chunk) throws IOException {
        Path src = scratch.resolve("src");
        List<TestChunks> chunks = new ArrayList<>();
        long[] ends = new long[count];
        long offset = PackFormat.FILE_HEADER_LENGTH;
        try (LocalPackStore s = LocalPackStore.open(src)) {
            for (int i = 0; i < count; i++) {
                TestChunks c = chunk.apply(i);
                s.put(c.id(), c.encoded());
                chunks.add(c);
                offset += EntryHeader.LENGTH + c.encoded().data().length;
                ends[i] = offset;
            }
            s.flush();
            Path pack = onlyPack(src);
            // Copied while the store is open: the state a crash right after flush() leaves.
            return new Image(chunks, ends, src.relativize(pack), Files.readAllBytes(pack));
        }
    }

    private Path writeImage(String name, Path relativePack, byte[] bytes) throws IOException {
        Path d = scratch.resolve(name);
        Path pack = d.resolve(relativePack);
        Files.createDirectories(pack.getParent());
        Files.write(pack, bytes);
        return d;
    }

    @Test
    void truncatedActivePackRecoversEveryEntryBeforeTheCut() throws IOException {
        Image img = flushedImage(30);
        assertEquals(img.ends()[29], img.bytes().length);
        Random r = new Random(SEED);
        for (int trial = 0; trial < 24; trial++) {
            int cut = switch (trial) {
                case 0 -> 0;
                case 1 -> 17; // inside the file header
                case 2 -> PackFormat.FILE_HEADER_LENGTH;
                case 3 -> (int) img.ends()[10]; // exactly at an entry boundary
                case 4 -> (int) img.ends()[10] + 20; // inside an entry header
                default -> r.nextInt(img.bytes().length + 1);
            };
            Path d = writeImage("cut" + trial, img.relativePack(), Arrays.copyOf(img.bytes(), cut));
            Set<ContentHash> expected = new java.util.HashSet<>();
            for (int i = 0; i < img.chunks().size(); i++) {
                if (img.ends()[i] <= cut) {
                    expected.add(img.chunks().get(i).id());
                }
            }
            for (int round = 0; round < 2; round++) { // recovery is idempotent
                try (LocalPackStore s = LocalPackStore.open(d)) {
                    assertEquals(expected, ids(s), "cut at " + cut + ", round " + round);
                    for (TestChunks c : img.chunks()) {
                        if (expected.contains(c.id())) {
                            assertArrayEquals(c.raw(), s.get(c.id()));
                        }
                    }
                }
            }
        }
    }

    @Test
    void garbageAfterTheLastEntryIsCutAndKeptAside() throws IOException {
        Image img = flushedImage(20);
        TestChunks extra = TestChunks.random(random, 2000);
        byte[] tornEntry = Arrays.copyOf(EntryHeader.of(extra.id(), extra.encoded().codec(), 2000, extra.raw()).encode(), 56 + 1000);
        byte[] noise = new byte[5000];
        random.nextBytes(noise);
        List<byte[]> garbages = List.of(noise, new byte[4096], tornEntry, Arrays.copyOf(tornEntry, 30));
        for (int g = 0; g < garbages.size(); g++) {
            byte[] garbage = garbages.get(g);
            byte[] damaged = Arrays.copyOf(img.bytes(), img.bytes().length + garbage.length);
            System.arraycopy(garbage, 0, damaged, img.bytes().length, garbage.length);
            Path d = writeImage("garbage" + g, img.relativePack(), damaged);
            try (LocalPackStore s = LocalPackStore.open(d)) {
                assertEquals(ids(img.chunks()), ids(s));
                img.chunks().forEach(c -> assertArrayEquals(c.raw(), s.get(c.id())));
                assertTrue(s.packs().get(0).sealed(), "a repaired pack is sealed");
                assertTrue(s.put(extra.id(), extra.encoded()));
            }
            try (Stream<Path> tails = Files.list(d.resolve("damaged"))) {
                List<Path> saved = tails.toList();
                assertEquals(1, saved.size());
                assertArrayEquals(garbage, Files.readAllBytes(saved.get(0)), "the cut bytes are kept for forensics");
            }
            try (LocalPackStore s = LocalPackStore.open(d)) {
                assertEquals(img.chunks().size() + 1, s.list().size());
            }
        }
    }

    @Test
    void damagedOrTornFooterIsRebuiltFromTheEntries() throws IOException {
        List<TestChunks> chunks = putMany(40, 6000);
        store.close();
        store = null;
        PackInfo sealed = LocalPackStore.open(dir, SMALL_PACKS).packs().stream().filter(PackInfo::sealed).findFirst().orElseThrow();
        // (the store opened just above is discarded unclosed: a crash, which the test also tolerates)
        Path pack = packFile(dir, sealed.packId());
        byte[] bytes = Files.readAllBytes(pack);
        long footerOffset = ByteBuffer.wrap(bytes, bytes.length - PackFormat.TRAILER_LENGTH, 8).getLong();
        List<byte[]> variants = new ArrayList<>();
        for (long at : new long[] {footerOffset + 2, footerOffset + 20, bytes.length - 3, bytes.length - 12}) {
            byte[] v = bytes.clone();
            v[(int) at] ^= 0x10;
            variants.add(v);
        }
        variants.add(Arrays.copyOf(bytes, bytes.length - 7)); // torn trailer
        variants.add(Arrays.copyOf(bytes, (int) footerOffset + 30)); // torn footer
        for (int i = 0; i < variants.size(); i++) {
            Path d = scratch.resolve("footer" + i);
            copyTree(dir, d);
            Files.write(packFile(d, sealed.packId()), variants.get(i));
            try (LocalPackStore s = LocalPackStore.open(d, SMALL_PACKS)) {
                assertEquals(ids(chunks), ids(s), "variant " + i);
                chunks.forEach(c -> assertArrayEquals(c.raw(), s.get(c.id())));
                PackInfo rebuilt = s.packs().stream().filter(p -> p.packId().equals(sealed.packId())).findFirst().orElseThrow();
                assertTrue(rebuilt.sealed());
                assertEquals(sealed.entries(), rebuilt.entries());
            }
            assertArrayEquals(bytes, Files.readAllBytes(packFile(d, sealed.packId())), "resealing writes the same footer");
        }
    }

    // ---- corruption on the read path -------------------------------------------------------------

    @Test
    void everyFlippedByteOfAnEntryIsReportedNeverReturned() throws IOException {
        Image img = flushedImage(12);
        Path d = writeImage("flips", img.relativePack(), img.bytes());
        Path pack = d.resolve(img.relativePack());
        Random r = new Random(SEED);
        try (LocalPackStore s = LocalPackStore.open(d); FileChannel raw = FileChannel.open(pack, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (int trial = 0; trial < 60; trial++) {
                int victim = r.nextInt(img.chunks().size());
                long start = victim == 0 ? PackFormat.FILE_HEADER_LENGTH : img.ends()[victim - 1];
                long at = start + r.nextLong(img.ends()[victim] - start);
                flip(raw, at, 1 << r.nextInt(8));
                TestChunks c = img.chunks().get(victim);
                assertThrows(CorruptDataException.class, () -> s.get(c.id()), "flip at " + at);
                assertThrows(CorruptDataException.class, () -> s.getEncoded(c.id()), "flip at " + at);
                TestChunks neighbour = img.chunks().get((victim + 1) % img.chunks().size());
                assertArrayEquals(neighbour.raw(), s.get(neighbour.id()));
                flip(raw, at, 0); // restore
                assertArrayEquals(c.raw(), s.get(c.id()));
            }
        }
    }

    /** Large raw chunks take the direct-buffer path (readRawInto, with either check): flips there too. */
    @Test
    void flippedBytesOfLargeRawEntriesAreReportedOnTheDirectPath() throws IOException {
        Image img = flushedImage(4, i -> TestChunks.random(random, 70_000 + i * 90_000));
        Path d = writeImage("rawflips", img.relativePack(), img.bytes());
        Path pack = d.resolve(img.relativePack());
        Random r = new Random(SEED + 1);
        ByteBuffer dst = ByteBuffer.allocateDirect(1 << 20);
        try (LocalPackStore s = LocalPackStore.open(d); FileChannel raw = FileChannel.open(pack, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            for (ReadCheck check : ReadCheck.values()) {
                for (TestChunks c : img.chunks()) {
                    assertTrue(s.readRawInto(c.id(), dst.clear(), check), "a raw entry over 64 KiB is read directly");
                    assertEquals(c.raw().length, dst.position());
                    byte[] got = new byte[c.raw().length];
                    dst.flip().get(got);
                    assertArrayEquals(c.raw(), got);
                }
            }
            for (int trial = 0; trial < 80; trial++) {
                ReadCheck check = ReadCheck.values()[trial % 2];
                int victim = r.nextInt(img.chunks().size());
                long start = victim == 0 ? PackFormat.FILE_HEADER_LENGTH : img.ends()[victim - 1];
                TestChunks c = img.chunks().get(victim);
                if (trial % 4 < 2) {
                    // in the data: always caught, by the id or by the CRC-32C
                    long at = start + EntryHeader.LENGTH + r.nextLong(img.ends()[victim] - start - EntryHeader.LENGTH);
                    flip(raw, at, 1 << r.nextInt(8));
                    assertThrows(CorruptDataException.class, () -> s.readRawInto(c.id(), dst.clear(), check), check + " flip at " + at);
                    flip(raw, at, 0);
                } else {
                    // in the entry header: refused, or (a flip in its CRC when the id is checked,
                    // which does not need it) the right bytes, never wrong ones
                    long at = start + r.nextInt(EntryHeader.LENGTH);
                    flip(raw, at, 1 << r.nextInt(8));
                    try {
                        assertTrue(s.readRawInto(c.id(), dst.clear(), check));
                        byte[] got = new byte[c.raw().length];
                        dst.flip().get(got);
                        assertArrayEquals(c.raw(), got, check + " flip at " + at);
                    } catch (CorruptDataException expected) {
                        // refused
                    }
                    flip(raw, at, 0);
                }
                assertTrue(s.readRawInto(c.id(), dst.clear(), check));
            }
        }
    }

    @Test
    void readRawIntoDeclinesSmallEncodedOrOversizedChunksAndLeavesTheBufferAlone() {
        try (LocalPackStore s = LocalPackStore.open(scratch.resolve("decline"))) {
            TestChunks small = TestChunks.random(random, 64 * 1024);
            TestChunks zstd = TestChunks.compressible(random, 500_000);
            TestChunks big = TestChunks.random(random, 200_000);
            for (TestChunks c : List.of(small, zstd, big)) {
                s.put(c.id(), c.encoded());
            }
            ByteBuffer dst = ByteBuffer.allocateDirect(199_999);
            for (TestChunks c : List.of(small, zstd, big)) {
                assertFalse(s.readRawInto(c.id(), dst.clear().position(3), ReadCheck.ID), c.encoded().codec() + " " + c.raw().length);
                assertEquals(3, dst.position());
                assertEquals(0, dst.get(3));
            }
            assertThrows(dev.strata.core.NotFoundException.class, () -> s.readRawInto(ContentHash.of(new byte[] {9}), dst.clear(), ReadCheck.CHECKSUM));
        }
    }

    private static byte flipped;

    private static void flip(FileChannel ch, long at, int mask) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(1);
        if (mask == 0) {
            ch.write(ByteBuffer.wrap(new byte[] {flipped}), at);
            return;
        }
        ch.read(b, at);
        flipped = b.get(0);
        ch.write(ByteBuffer.wrap(new byte[] {(byte) (flipped ^ mask)}), at);
    }

    @Test
    void oversizedChunksAreRejectedAsInvalidInput() {
        TestChunks c = TestChunks.random(random, 10);
        EncodedChunk huge = new EncodedChunk(dev.strata.core.Codec.ZSTD, Codecs.MAX_RAW_LENGTH + 1, new byte[10]);
        assertThrows(InvalidInputException.class, () -> store.put(c.id(), huge));
        assertFalse(store.exists(c.id()));
    }

    // ---- disk faults -----------------------------------------------------------------------------

    private static LocalPackStore.Options withBudget(LocalPackStore.Options base, AtomicLong budget) {
        return base.withOpener((p, o) -> new FaultyFileChannel(FileChannel.open(p, o), budget));
    }

    @Test
    void fullDiskFailsThePutCutsThePackBackAndKeepsServingReads() throws IOException {
        AtomicLong budget = new AtomicLong(Long.MAX_VALUE / 2);
        Path d = scratch.resolve("full");
        List<TestChunks> good = new ArrayList<>();
        TestChunks big = TestChunks.random(random, 5000);
        try (LocalPackStore s = LocalPackStore.open(d, withBudget(LocalPackStore.Options.defaults(), budget))) {
            for (int i = 0; i < 20; i++) {
                TestChunks c = TestChunks.mixed(random, i, 2000);
                s.put(c.id(), c.encoded());
                good.add(c);
            }
            s.flush();
            Path pack = onlyPack(d);
            long goodSize = Files.size(pack);

            budget.set(1000); // the header fits, half the data does not
            StorageException e = assertThrows(StorageException.class, () -> s.put(big.id(), big.encoded()));
            assertTrue(e.getMessage().contains("No space left on device"), e.getMessage());
            assertEquals(goodSize, Files.size(pack), "cut back to the last good entry");
            assertFalse(s.exists(big.id()));
            good.forEach(c -> assertArrayEquals(c.raw(), s.get(c.id())));

            budget.set(Long.MAX_VALUE / 2); // space freed
            assertTrue(s.put(big.id(), big.encoded()));
            assertArrayEquals(big.raw(), s.get(big.id()));
        }
        try (LocalPackStore s = LocalPackStore.open(d)) {
            assertEquals(good.size() + 1, s.list().size());
            good.forEach(c -> assertArrayEquals(c.raw(), s.get(c.id())));
        }
    }

    @Test
    void fullDiskWhileSealingLeavesThePackActiveAndReadable() {
        AtomicLong budget = new AtomicLong(Long.MAX_VALUE / 2);
        Path d = scratch.resolve("seal");
        TestChunks first = TestChunks.random(random, 5000); // over the 4 KiB target: the next put seals
        TestChunks second = TestChunks.random(random, 100);
        try (LocalPackStore s = LocalPackStore.open(d, withBudget(LocalPackStore.Options.defaults().withTargetPackBytes(4096), budget))) {
            s.put(first.id(), first.encoded());
            budget.set(10);
            assertThrows(StorageException.class, () -> s.put(second.id(), second.encoded()));
            assertEquals(1, s.packs().size());
            assertFalse(s.packs().get(0).sealed());
            assertArrayEquals(first.raw(), s.get(first.id()));
            budget.set(Long.MAX_VALUE / 2);
            assertTrue(s.put(second.id(), second.encoded()));
            assertEquals(2, s.packs().size());
            assertEquals(1, s.packs().stream().filter(PackInfo::sealed).count());
        }
        try (LocalPackStore s = LocalPackStore.open(d)) {
            assertArrayEquals(first.raw(), s.get(first.id()));
            assertArrayEquals(second.raw(), s.get(second.id()));
        }
    }

    @Test
    void unwritableDirectoryFailsPutsWithAClearMessageAndServesReads() {
        List<TestChunks> chunks = putMany(10, 2000);
        store.close();
        store = null;
        // Root ignores permission bits, so "read-only" is simulated where files are opened.
        LocalPackStore.ChannelOpener readOnly = (p, o) -> {
            if (o.contains(StandardOpenOption.WRITE)) {
                throw new AccessDeniedException(p.toString(), null, "Permission denied");
            }
            return FileChannel.open(p, o);
        };
        try (LocalPackStore s = LocalPackStore.open(dir, SMALL_PACKS.withOpener(readOnly))) {
            chunks.forEach(c -> assertArrayEquals(c.raw(), s.get(c.id())));
            TestChunks c = TestChunks.random(random, 100);
            StorageException e = assertThrows(StorageException.class, () -> s.put(c.id(), c.encoded()));
            assertTrue(e.getMessage().contains("cannot create a pack file"), e.getMessage());
            assertTrue(e.getMessage().contains("Permission denied"), e.getMessage());
            chunks.forEach(x -> assertArrayEquals(x.raw(), s.get(x.id())));
        }
        store = open(dir);
        assertEquals(10, store.list().size());
    }

    // ---- helpers ---------------------------------------------------------------------------------

    private static Path packFile(Path storeDir, String packId) {
        return storeDir.resolve("packs").resolve(packId.substring(0, 2)).resolve(packId + ".pack");
    }

    private static Path onlyPack(Path storeDir) throws IOException {
        try (Stream<Path> s = Files.walk(storeDir.resolve("packs"))) {
            List<Path> packs = s.filter(p -> p.toString().endsWith(".pack")).toList();
            assertEquals(1, packs.size(), "packs: " + packs);
            return packs.get(0);
        }
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p));
                if (Files.isDirectory(p)) {
                    Files.createDirectories(t);
                } else {
                    Files.copy(p, t);
                }
            }
        }
    }

    private static Set<ContentHash> ids(ChunkStore s) {
        return s.list().stream().map(ChunkInfo::id).collect(Collectors.toSet());
    }

    private static Set<ContentHash> ids(List<TestChunks> chunks) {
        return chunks.stream().map(TestChunks::id).collect(Collectors.toSet());
    }
}
