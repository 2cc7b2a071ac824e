package dev.strata.core.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.InvalidInputException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.Map;
import java.util.Optional;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;

/**
 * Every parser, on mutated, truncated and random files: either a layout that tiles the file
 * exactly, or {@link InvalidInputException}; never another exception, and never an allocation
 * beyond the caps (the test JVM's heap would not survive a 2^60-byte one).
 */
class TensorFormatsFuzzTest {
    enum Source { TORCH, SAFETENSORS, GGUF, HANDMADE_ZIP }

    private static Path file;

    @BeforeContainer
    static void createFile() throws IOException {
        file = Files.createTempFile("strata-fuzz", ".bin");
    }

    @AfterContainer
    static void deleteFile() throws IOException {
        Files.deleteIfExists(file);
    }

    private static byte[] source(Source s) {
        return switch (s) {
            case TORCH -> TensorFiles.fixture("state_dict.pt");
            case SAFETENSORS -> TensorFiles.fixture("small.safetensors");
            case GGUF -> TensorFiles.fixture("small.gguf");
            case HANDMADE_ZIP -> TensorFiles.torchZip(TensorFormatsTest.Pickles.stateDict("w", "0", "HalfStorage", 8),
                    Map.of("0", new byte[16]), false);
        };
    }

    /** Byte flips, hostile 32/64-bit values, truncation, extension and splices, biased to the framing. */
    static byte[] mutate(byte[] data, long seed, int edits) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] d = data.clone();
        for (int e = 0; e < edits; e++) {
            if (d.length == 0) {
                break;
            }
            int region = rnd.nextInt(3);
            int at = switch (region) {
                case 0 -> rnd.nextInt(Math.min(d.length, 512));
                case 1 -> Math.max(0, d.length - 1 - rnd.nextInt(Math.min(d.length, 1024)));
                default -> rnd.nextInt(d.length);
            };
            switch (rnd.nextInt(7)) {
                case 0 -> d[at] ^= (byte) (1 << rnd.nextInt(8));
                case 1 -> d[at] = (byte) rnd.nextInt(256);
                case 2 -> {
                    long[] hostile = {0, -1, 1L << 60, 0xffffffffL, 0x7fffffffL, Long.MAX_VALUE, rnd.nextLong(), 1 << 20, 64};
                    long v = hostile[rnd.nextInt(hostile.length)];
                    int width = rnd.nextBoolean() ? 8 : 4;
                    for (int i = 0; i < width && at + i < d.length; i++) {
                        d[at + i] = (byte) (v >>> (8 * i));
                    }
                }
                case 3 -> d = Arrays.copyOf(d, at);
                case 4 -> {
                    byte[] extra = new byte[rnd.nextInt(1, 300)];
                    rnd.nextBytes(extra);
                    byte[] n = Arrays.copyOf(d, d.length + extra.length);
                    System.arraycopy(extra, 0, n, d.length, extra.length);
                    d = n;
                }
                case 5 -> { // copy a run of bytes from elsewhere (duplicates headers and names)
                    int from = rnd.nextInt(d.length);
                    int len = Math.min(rnd.nextInt(1, 64), Math.min(d.length - from, d.length - at));
                    System.arraycopy(d.clone(), from, d, at, len);
                }
                default -> { // delete a run (shifts everything after it)
                    int len = Math.min(rnd.nextInt(1, 32), d.length - at);
                    byte[] n = new byte[d.length - len];
                    System.arraycopy(d, 0, n, 0, at);
                    System.arraycopy(d, at + len, n, at, d.length - at - len);
                    d = n;
                }
            }
        }
        return d;
    }

    /** Runs every parser and detect; asserts the contract. Returns whether any parser accepted. */
    static boolean check(byte[] data) throws IOException {
        Files.write(file, data);
        boolean accepted = false;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            for (TensorFormats.Format f : TensorFormats.Format.values()) {
                try {
                    TensorLayout l = TensorFormats.parse(f, ch, ch.size());
                    TensorFormatsTest.assertTiles(l, data.length);
                    accepted = true;
                } catch (InvalidInputException expected) {
                    // malformed: fine
                }
            }
            Optional<TensorLayout> d = TensorFormats.detect(ch, ch.size());
            d.ifPresent(l -> TensorFormatsTest.assertTiles(l, data.length));
        }
        return accepted;
    }

    @Property(tries = 600)
    void mutatedModelFilesParseOrAreRejected(@ForAll Source source, @ForAll long seed, @ForAll @IntRange(min = 1, max = 6) int edits)
            throws IOException {
        check(mutate(source(source), seed, edits));
    }

    @Property(tries = 200)
    void truncatedModelFilesParseOrAreRejected(@ForAll Source source, @ForAll @IntRange(min = 0, max = 100_000) int cut)
            throws IOException {
        byte[] d = source(source);
        check(Arrays.copyOf(d, Math.min(cut, d.length)));
    }

    @Property(tries = 300)
    void randomBytesBehindAMagicParseOrAreRejected(@ForAll long seed, @ForAll @IntRange(min = 0, max = 4000) int length) throws IOException {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] d = new byte[length];
        rnd.nextBytes(d);
        if (length >= 24) {
            ByteBuffer b = ByteBuffer.wrap(d).order(ByteOrder.LITTLE_ENDIAN);
            switch (rnd.nextInt(4)) {
                case 0 -> b.putInt(0, Gguf.MAGIC).putInt(4, 2 + rnd.nextInt(2)).putLong(8, rnd.nextInt(4)).putLong(16, rnd.nextInt(4));
                case 1 -> b.putInt(0, TorchZip.LOCAL_HEADER_SIG);
                case 2 -> {
                    b.putLong(0, rnd.nextInt(2, length - 8));
                    d[8] = '{';
                }
                default -> { }
            }
        }
        check(d);
    }

    @Property(tries = 5)
    void unmutatedSourcesParse(@ForAll Source source) throws IOException {
        assertTrue(check(source(source)));
        assertEquals(true, TensorFormats.detect(file).isPresent());
    }
}
