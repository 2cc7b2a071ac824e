package dev.strata.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import com.github.luben.zstd.Zstd;
import dev.strata.core.Codec;
import dev.strata.core.CorruptDataException;
import dev.strata.core.store.EncodedChunk;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class BytePlanesTest {
    /** Codecs that {@code Codecs.encode(codec, raw)} accepts (FLOAT needs a format, DELTA a base). */
    private static final Codec[] ALL = {Codec.RAW, Codec.ZSTD, Codec.BYTE_PLANES_2, Codec.BYTE_PLANES_4};
    private static final float[] SPECIALS = {
        Float.NaN, Float.intBitsToFloat(0x7fc00001), Float.intBitsToFloat(0xffbfffff), Float.POSITIVE_INFINITY,
        Float.NEGATIVE_INFINITY, 0f, -0f, Float.MIN_VALUE, -Float.MIN_VALUE, Float.MIN_NORMAL, 1e-40f, -3e-39f,
        Float.MAX_VALUE, -Float.MAX_VALUE, 1f, -1f
    };

    /** Bytes of one of several shapes: random, mostly zero, runs, BF16/FP16/FP32 floats with special values. */
    static byte[] data(long seed, int length, int shape) {
        Random r = new Random(seed);
        byte[] b = new byte[length];
        switch (shape) {
            case 0 -> r.nextBytes(b);
            case 1 -> { for (int i = 0; i < length; i += 1 + r.nextInt(200)) b[i] = (byte) r.nextInt(); }
            case 2 -> { for (int i = 0; i < length; i++) b[i] = (byte) ((i / 97) % 5); }
            default -> {
                int width = shape == 3 ? 2 : shape == 4 ? 2 : 4;
                int start = r.nextInt(width); // odd phases: elements start anywhere
                for (int i = start; i + width <= length; i += width) {
                    float f = r.nextInt(8) == 0 ? SPECIALS[r.nextInt(SPECIALS.length)] : (float) (r.nextGaussian() * 0.02);
                    int bits = switch (shape) {
                        case 3 -> Float.floatToRawIntBits(f) >>> 16; // BF16 (truncated; keeps NaN payload tops)
                        case 4 -> Float.floatToFloat16(f) & 0xffff; // FP16, subnormals included
                        default -> Float.floatToRawIntBits(f);
                    };
                    for (int k = 0; k < width; k++) {
                        b[i + k] = (byte) (bits >>> (8 * k));
                    }
                }
            }
        }
        return b;
    }

    @Property(tries = 40)
    void everyCodecRoundTripsBitExact(@ForAll long seed, @ForAll @IntRange(min = 0, max = 300 << 10) int length,
                                      @ForAll @IntRange(min = 0, max = 5) int shape) {
        byte[] raw = data(seed, length, shape);
        for (Codec c : ALL) {
            EncodedChunk e = Codecs.encode(c, raw);
            assertArrayEquals(raw, Codecs.decode(new EncodedChunk(c, raw.length, e.data())), c.name());
        }
        EncodedChunk best = Codecs.compressBest(raw);
        assertArrayEquals(raw, Codecs.decode(best));
        assertTrue(best.codec() == Codec.RAW || best.data().length <= Math.floor(raw.length * 0.97), "saves 3% or is RAW");
        assertTrue(best.data().length <= Codecs.compressOrRaw(raw).data().length + 32, "never much worse than zstd-1");
    }

    @Property(tries = 200)
    void smallInputsEveryPhaseRoundTrip(@ForAll long seed, @ForAll @IntRange(min = 0, max = 40) int length,
                                        @ForAll @IntRange(min = 0, max = 5) int shape, @ForAll @IntRange(min = 0, max = 3) int phase) {
        byte[] raw = data(seed, length, shape);
        for (Codec c : new Codec[] {Codec.BYTE_PLANES_2, Codec.BYTE_PLANES_4}) {
            int ph = c == Codec.BYTE_PLANES_2 ? phase % 2 : phase;
            EncodedChunk e = Codecs.encodeBytePlanes(c, raw, ph);
            assertArrayEquals(raw, Codecs.decode(e));
        }
        assertArrayEquals(raw, Codecs.decode(Codecs.compressBest(raw)));
    }

    @Property(tries = 30)
    void oddPhasesRoundTripOnLargeInputs(@ForAll long seed, @ForAll @IntRange(min = 1, max = 200 << 10) int length,
                                         @ForAll @IntRange(min = 3, max = 5) int shape, @ForAll @IntRange(min = 1, max = 3) int phase) {
        byte[] raw = data(seed, length, shape);
        assertArrayEquals(raw, Codecs.decode(Codecs.encodeBytePlanes(Codec.BYTE_PLANES_2, raw, phase % 2)));
        assertArrayEquals(raw, Codecs.decode(Codecs.encodeBytePlanes(Codec.BYTE_PLANES_4, raw, phase)));
    }

    /** Any corruption of a valid encoding is either still decodable to rawLength bytes or a CorruptDataException. */
    @Property(tries = 300)
    void corruptedEncodingsAreRejectedOrDecodeToTheDeclaredLength(
            @ForAll long seed, @ForAll @IntRange(min = 0, max = 5000) int length, @ForAll @IntRange(min = 0, max = 5) int shape,
            @ForAll boolean four, @ForAll @IntRange(min = 0, max = 4) int damage, @ForAll @IntRange(min = -3, max = 3) int lengthDelta) {
        byte[] raw = data(seed, length, shape);
        Codec c = four ? Codec.BYTE_PLANES_4 : Codec.BYTE_PLANES_2;
        byte[] enc = Codecs.encode(c, raw).data();
        Random r = new Random(seed ^ 0x5eed);
        byte[] bad = switch (damage) {
            case 0 -> Arrays.copyOf(enc, r.nextInt(enc.length)); // truncated
            case 1 -> { byte[] b = enc.clone(); b[r.nextInt(b.length)] ^= (byte) (1 + r.nextInt(255)); yield b; } // bit flips
            case 2 -> { byte[] b = enc.clone(); b[r.nextInt(Math.min(b.length, 40))] = (byte) r.nextInt(); yield b; } // header byte
            case 3 -> Arrays.copyOf(enc, enc.length + 1 + r.nextInt(9)); // trailing garbage
            default -> { byte[] b = new byte[r.nextInt(64)]; r.nextBytes(b); yield b; } // noise
        };
        int declared = Math.max(0, length + lengthDelta);
        try {
            byte[] out = Codecs.decode(new EncodedChunk(c, declared, bad));
            assertEquals(declared, out.length);
        } catch (CorruptDataException expected) {
            // the only acceptable failure
        } catch (RuntimeException | Error other) {
            fail("not a CorruptDataException: " + other, other);
        }
    }

    @Example
    void hostileHeadersAreCorrupt() {
        int n = 1000;
        // version, width, phase, reserved; then descriptors (mode, u32 length) for 2 planes of 500.
        assertCorrupt(n, header(2, 0, 0, 1, 0, 500, 0, 500), 2); // wrong version
        assertCorrupt(n, header(1, 4, 0, 0, 0, 500, 0, 500), 2); // wrong width for the codec
        assertCorrupt(n, header(1, 2, 2, 0, 0, 500, 0, 500), 2); // phase >= width
        assertCorrupt(n, header(1, 2, 0, 9, 0, 500, 0, 500), 2); // reserved byte set
        assertCorrupt(n, header(1, 2, 0, 0, 7, 500, 0, 500), 2); // unknown plane mode
        assertCorrupt(n, header(1, 2, 0, 0, 0, 499, 0, 501), 2); // raw plane of the wrong length
        assertCorrupt(n, header(1, 2, 0, 0, 2, 5, 0, 500), 2); // zero plane with data
        assertCorrupt(n, header(1, 2, 0, 0, 1, 0, 0, 500), 2); // empty zstd frame
        assertCorrupt(n, header(1, 2, 0, 0, 1, -1, 0, 500), 2); // 4 GiB zstd frame
        assertCorrupt(n, header(1, 2, 0, 0, 2, 0, 2, 0), 2, 3); // trailing bytes after the planes
        assertCorrupt(n, new byte[0], 2);
        assertCorrupt(n, new byte[3], 2);
        // A frame whose content size is not the plane length, or a frame that is not zstd at all.
        byte[] frame = Zstd.compress(new byte[501], 1);
        assertCorrupt(n, concat(header(1, 2, 0, 0, 1, frame.length, 2, 0), frame), 2);
        assertCorrupt(n, concat(header(1, 2, 0, 0, 1, 8, 2, 0), new byte[8]), 2);
        // The same valid structure decodes.
        byte[] ok = concat(header(1, 2, 0, 0, 1, Zstd.compress(new byte[500], 1).length, 2, 0), Zstd.compress(new byte[500], 1));
        assertArrayEquals(new byte[n], Codecs.decode(new EncodedChunk(Codec.BYTE_PLANES_2, n, ok)));
    }

    @Example
    void hugeDeclaredSizesAreRejectedWithoutAllocating() {
        // Declared 64 MiB, a zstd frame for a 3-byte plane: rejected before the output is allocated.
        int n = Codecs.MAX_RAW_LENGTH;
        byte[] frame = Zstd.compress(new byte[3], 1);
        byte[] enc = concat(header(1, 2, 0, 0, 1, frame.length, 2, 0), frame);
        long before = allocated();
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.BYTE_PLANES_2, n, enc)));
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.BYTE_PLANES_4, n, enc)));
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.BYTE_PLANES_2, Integer.MAX_VALUE, enc)));
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.BYTE_PLANES_2, n, header(1, 2, 0, 0, 0, n / 2, 0, n / 2))));
        long used = allocated() - before;
        assertTrue(used < 1 << 20, "allocated " + used + " bytes for hostile 64 MiB declarations");
    }

    @Example
    void decodeAllocatesAtMostTheRawLengthPlusOnePlane() {
        byte[] raw = data(7, 1 << 20, 3);
        for (Codec c : new Codec[] {Codec.BYTE_PLANES_2, Codec.BYTE_PLANES_4}) {
            EncodedChunk e = Codecs.encode(c, raw);
            Codecs.decode(e); // warm up
            long before = allocated();
            Codecs.decode(e);
            long used = allocated() - before;
            assertTrue(used <= raw.length + raw.length / 2 + (16 << 10), c + " allocated " + used);
        }
    }

    @Example
    void zeroPlanesCostOnlyTheirDescriptor() {
        byte[] raw = new byte[65536];
        assertEquals(4 + 4 * 5, Codecs.encode(Codec.BYTE_PLANES_4, raw).data().length);
        assertEquals(4 + 2 * 5, Codecs.encode(Codec.BYTE_PLANES_2, raw).data().length);
        byte[] clean = BytePlanesTest.cleanFp32(CodecBench.bf16(new Random(3), 32768, 0.02));
        EncodedChunk best = Codecs.compressBest(clean);
        assertEquals(Codec.FLOAT, best.codec()); // FLOAT beats byte planes on float data (decision 0015)
        assertArrayEquals(clean, Codecs.decode(best));
    }

    @Example
    void bf16WeightsCompressToAtMost72PercentWithCompressBest() {
        byte[] weights = CodecBench.bf16(new Random(11), 4 << 20, 0.02);
        long best = 0, zstd = 0, chunks = 0;
        for (int off = 0; off + 65536 <= weights.length; off += 65536 + 1) { // odd offsets too, like CDC chunks
            byte[] chunk = Arrays.copyOfRange(weights, off, off + 65536);
            EncodedChunk e = Codecs.compressBest(chunk);
            assertEquals(Codec.FLOAT, e.codec());
            assertArrayEquals(chunk, Codecs.decode(e));
            best += e.data().length;
            zstd += Zstd.compress(chunk, 1).length;
            chunks++;
        }
        double raw = chunks * 65536.0;
        System.out.printf("bf16 N(0,0.02): compressBest ratio %.4f, zstd-1 ratio %.4f%n", best / raw, zstd / raw);
        assertTrue(best / raw <= 0.72, "compressBest ratio " + best / raw);
        assertTrue(best < zstd);
    }

    @Example
    void incompressibleDataStaysRaw() {
        assertEquals(Codec.RAW, Codecs.compressBest(data(5, 65536, 0)).codec());
        assertEquals(Codec.RAW, Codecs.compressBest(new byte[0]).codec());
        assertEquals(Codec.ZSTD, Codecs.compressBest(data(5, 65536, 2)).codec());
    }

    @Example
    void codecIdsArePersistedValues() {
        assertEquals(2, Codec.BYTE_PLANES_2.id());
        assertEquals(3, Codec.BYTE_PLANES_4.id());
        assertEquals(Codec.BYTE_PLANES_4, Codec.fromId(3));
        assertEquals(4, Codec.FLOAT.id());
        assertEquals(5, Codec.DELTA.id());
        assertEquals(Codec.DELTA, Codec.fromId(5));
        assertThrows(CorruptDataException.class, () -> Codec.fromId(6));
    }

    static byte[] cleanFp32(byte[] bf16) {
        return CodecBench.cleanFp32(bf16);
    }

    private static void assertCorrupt(int rawLength, byte[] enc, int width) {
        assertCorrupt(rawLength, enc, width, 0);
    }

    private static void assertCorrupt(int rawLength, byte[] enc, int width, int extra) {
        byte[] e = Arrays.copyOf(enc, enc.length + extra);
        Codec c = width == 2 ? Codec.BYTE_PLANES_2 : Codec.BYTE_PLANES_4;
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(c, rawLength, e)));
    }

    /** Fixed header (no head/tail bytes: even lengths, phase 0) and two plane descriptors, then raw plane data of the given lengths. */
    private static byte[] header(int version, int width, int phase, int reserved, int mode0, int len0, int mode1, int len1) {
        ByteBuffer b = ByteBuffer.allocate(4 + 10);
        b.put((byte) version).put((byte) width).put((byte) phase).put((byte) reserved);
        b.put((byte) mode0).putInt(len0).put((byte) mode1).putInt(len1);
        byte[] h = b.array();
        int data = (mode0 == 0 ? Math.max(len0, 0) : 0) + (mode1 == 0 ? Math.max(len1, 0) : 0);
        return data > 1 << 20 ? h : Arrays.copyOf(h, h.length + data);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
