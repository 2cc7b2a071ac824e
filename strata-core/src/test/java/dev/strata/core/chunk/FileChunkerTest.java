package dev.strata.core.chunk;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FileChunkerTest {
    /** Small and not a multiple of anything, so many segments and odd tails stay fast. */
    private static final int SEGMENT = 300_001;

    @TempDir
    Path dir;

    /** What the format says, computed the slow obvious way: chunk each segment alone, hash each chunk alone. */
    private static ChunkedFile reference(byte[] data, int segmentSize) throws Exception {
        List<ChunkSpan> spans = new ArrayList<>();
        for (int seg = 0; seg < data.length; seg += segmentSize) {
            int len = Math.min(segmentSize, data.length - seg);
            int pos = seg;
            for (int n : GearChunker.chunkLengths(data, seg, len)) {
                spans.add(new ChunkSpan(pos, n, ContentHash.of(data, pos, n)));
                pos += n;
            }
        }
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        return new ChunkedFile(data.length, ContentHash.fromBytes(md.digest(data)), spans);
    }

    private Path write(byte[] data) throws IOException {
        return Files.write(Files.createTempFile(dir, "f", ".bin"), data);
    }

    private static byte[] mixed(long seed, int length) {
        // Random with zero runs, so segments contain both content cuts and MAX_SIZE cuts.
        byte[] data = GearChunkerTest.seeded(seed, length);
        SplittableRandom rnd = new SplittableRandom(seed);
        for (int i = 0; i < 6; i++) {
            int at = rnd.nextInt(length);
            Arrays.fill(data, at, Math.min(length, at + rnd.nextInt(700_000)), (byte) 0);
        }
        return data;
    }

    @Test
    void parallelFileChunkingEqualsTheReferenceAndTheStream() throws Exception {
        byte[] data = mixed(7, 12 * SEGMENT + 4321);
        Path file = write(data);
        ChunkedFile expected = reference(data, SEGMENT);
        for (int threads : new int[] {1, 2, 3, 8}) {
            assertEquals(expected, new FileChunker(threads, SEGMENT).chunk(file), threads + " threads");
        }
        assertEquals(expected, new FileChunker(2, SEGMENT).chunk(new ByteArrayInputStream(data)));
        assertEquals(expected, new FileChunker(2, SEGMENT).chunk(new Trickle(data, 7)));
        long cuts = expected.chunks().stream().filter(c -> (c.offset() + c.length()) % SEGMENT == 0).count();
        assertEquals(12, cuts, "a forced cut at every segment boundary");
    }

    @Test
    void aRealSizeFileSpansTwoSegments() throws Exception {
        byte[] data = mixed(3, FileChunker.SEGMENT_SIZE + (1 << 20) + 123);
        Path file = write(data);
        ChunkedFile expected = reference(data, FileChunker.SEGMENT_SIZE);
        AtomicLong progress = new AtomicLong();
        AtomicInteger calls = new AtomicInteger();
        ChunkedFile parallel = new FileChunker(2).chunk(file, n -> {
            progress.addAndGet(n);
            calls.incrementAndGet();
        });
        assertEquals(expected, parallel);
        assertEquals(data.length, progress.get());
        assertEquals(2, calls.get());
        assertEquals(expected, new FileChunker(1).chunk(new Trickle(data, 1 << 20)));
        assertEquals(expected.sha256(), ContentHash.fromBytes(MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(file))));
        assertEquals(expected.size(), parallel.toManifest().size());
    }

    @Test
    void singleSegmentFilesAndStreamsAgree() throws Exception {
        for (int length : new int[] {1, GearChunker.MIN_SIZE, SEGMENT - 1, SEGMENT}) {
            byte[] data = mixed(length, length);
            ChunkedFile expected = reference(data, SEGMENT);
            assertEquals(expected, new FileChunker(4, SEGMENT).chunk(write(data)));
            assertEquals(expected, new FileChunker(4, SEGMENT).chunk(new Trickle(data, 5000)));
        }
    }

    @Test
    void emptyInputHasNoChunks() throws Exception {
        ContentHash empty = ContentHash.fromHex("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        ChunkedFile fromFile = new FileChunker().chunk(write(new byte[0]));
        assertEquals(new ChunkedFile(0, empty, List.of()), fromFile);
        assertEquals(fromFile, new FileChunker().chunk(InputStream.nullInputStream()));
        assertEquals(0, fromFile.toManifest().chunks().size());
    }

    @Test
    void aFileThatShrinksWhileReadFailsInsteadOfHanging() throws Exception {
        Path file = write(mixed(9, 10 * SEGMENT));
        FileChunker chunker = new FileChunker(1, SEGMENT);
        assertThrows(EOFException.class, () -> chunker.chunk(file, n -> {
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE)) {
                ch.truncate(SEGMENT + 10);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }));
    }

    @Test
    void chunkedFileRejectsGapsAndWrongSizes() {
        ContentHash h = ContentHash.of(new byte[0]);
        assertThrows(InvalidInputException.class, () -> new ChunkedFile(10, h, List.of(new ChunkSpan(1, 9, h))));
        assertThrows(InvalidInputException.class, () -> new ChunkedFile(10, h, List.of(new ChunkSpan(0, 9, h))));
        assertThrows(InvalidInputException.class, () -> new ChunkSpan(0, 0, h));
        assertTrue(new ChunkedFile(10, h, List.of(new ChunkSpan(0, 4, h), new ChunkSpan(4, 6, h))).chunks().size() == 2);
    }

    @Test
    void rejectsBadThreadCounts() {
        assertThrows(IllegalArgumentException.class, () -> new FileChunker(0));
    }

    /** A stream that returns at most {@code step} bytes per read, like a pipe. */
    private static final class Trickle extends InputStream {
        private final byte[] data;
        private final int step;
        private int pos;

        Trickle(byte[] data, int step) {
            this.data = data;
            this.step = step;
        }

        @Override
        public int read() {
            return pos < data.length ? data[pos++] & 0xff : -1;
        }

        @Override
        public int read(byte[] b, int off, int len) {
            if (pos == data.length) {
                return -1;
            }
            int n = Math.min(Math.min(len, step), data.length - pos);
            System.arraycopy(data, pos, b, off, n);
            pos += n;
            return n;
        }
    }
}
