package dev.strata.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.store.EncodedChunk;
import java.lang.management.ManagementFactory;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class FloatCodecTest {
    /** Bit patterns (as FP32) worth covering: NaNs with payloads, infinities, zeros, subnormals, extremes. */
    private static final int[] SPECIAL_BITS = {
        0x7fc00000, 0x7fc00001, 0xffbfffff, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, // NaNs
        0x7f800000, 0xff800000, 0x00000000, 0x80000000, 0x00000001, 0x80000001, 0x007fffff, 0x807fffff,
        0x00800000, 0x7f7fffff, 0xff7fffff, 0x3f800000, 0xbf800000, 0x00010000, 0x80010000
    };

    /**
     * Elements of {@code fmt} from byte {@code start} in one of several shapes: 0 random bytes,
     * 1 N(0, 0.02) with 1/8 special values, 2 all equal, 3 mostly zero (±0), 4 special values only,
     * 5 Adam-like (small positive, many zeros), 6 all zero.
     */
    static byte[] data(long seed, int length, int shape, FloatFormat fmt, int start) {
        Random r = new Random(seed);
        byte[] b = new byte[length];
        if (shape == 0) {
            r.nextBytes(b);
            return b;
        }
        int w = fmt.width();
        int same = r.nextInt();
        for (int i = start; i + w <= length; i += w) {
            int bits32 = switch (shape) {
                case 1 -> r.nextInt(8) == 0 ? SPECIAL_BITS[r.nextInt(SPECIAL_BITS.length)] : Float.floatToRawIntBits((float) (r.nextGaussian() * 0.02));
                case 2 -> same;
                case 3 -> r.nextInt(10) == 0 ? Float.floatToRawIntBits((float) r.nextGaussian()) : (r.nextInt(50) == 0 ? 0x80000000 : 0);
                case 4 -> SPECIAL_BITS[r.nextInt(SPECIAL_BITS.length)] ^ (r.nextInt(4) == 0 ? r.nextInt() & 0x807fffff : 0);
                case 5 -> r.nextInt(3) == 0 ? 0 : Float.floatToRawIntBits((float) Math.abs(r.nextGaussian() * 1e-6));
                default -> 0;
            };
            int bits = switch (fmt) {
                case BF16 -> bits32 >>> 16;
                case FP16 -> shape == 4 ? bits32 >>> 16 : shape == 2 ? same & 0xffff : Float.floatToFloat16(Float.intBitsToFloat(bits32)) & 0xffff;
                case FP32 -> bits32;
            };
            for (int k = 0; k < w; k++) {
                b[i + k] = (byte) (bits >>> 8 * k);
            }
        }
        for (int i = 0; i < start && i < length; i++) {
            b[i] = (byte) r.nextInt();
        }
        return b;
    }

    private static FloatFormat fmt(int f) {
        return FloatFormat.values()[f];
    }

    @Property(tries = 60)
    void floatRoundTripsBitExactInEveryFormatAndPhase(@ForAll long seed, @ForAll @IntRange(min = 0, max = 200 << 10) int length,
                                                      @ForAll @IntRange(min = 0, max = 6) int shape, @ForAll @IntRange(min = 0, max = 2) int f,
                                                      @ForAll @IntRange(min = 0, max = 3) int phase) {
        FloatFormat fmt = fmt(f);
        int ph = phase % fmt.width();
        byte[] raw = data(seed, length, shape, fmt, ph);
        EncodedChunk e = Codecs.encodeFloat(raw, fmt, ph);
        assertEquals(Codec.FLOAT, e.codec());
        assertArrayEquals(raw, Codecs.decode(e));
        assertTrue(e.data().length <= Codecs.maxEncodedLength(raw.length));
        EncodedChunk c = Codecs.compressFloat(raw, fmt);
        assertArrayEquals(raw, Codecs.decode(c));
        assertTrue(c.data().length <= raw.length, "compressFloat is never larger than RAW");
        // Elements read in another format still round-trip (bit patterns, not values).
        FloatFormat other = fmt((f + 1) % 3);
        assertArrayEquals(raw, Codecs.decode(Codecs.encodeFloat(raw, other, 0)));
    }

    @Property(tries = 300)
    void smallInputsRoundTrip(@ForAll long seed, @ForAll @IntRange(min = 0, max = 40) int length, @ForAll @IntRange(min = 0, max = 6) int shape,
                              @ForAll @IntRange(min = 0, max = 2) int f, @ForAll @IntRange(min = 0, max = 3) int phase) {
        FloatFormat fmt = fmt(f);
        int ph = phase % fmt.width();
        byte[] raw = data(seed, length, shape, fmt, ph);
        assertArrayEquals(raw, Codecs.decode(Codecs.encodeFloat(raw, fmt, ph)));
        assertArrayEquals(raw, Codecs.decode(Codecs.compressFloat(raw, fmt)));
        assertArrayEquals(raw, Codecs.decode(Codecs.compressBest(raw)));
    }

    /** Every 16-bit pattern once, little-endian, in increasing order. */
    static byte[] everySixteenBitPattern() {
        byte[] raw = new byte[1 << 17];
        for (int v = 0; v < 1 << 16; v++) {
            raw[2 * v] = (byte) v;
            raw[2 * v + 1] = (byte) (v >>> 8);
        }
        return raw;
    }

    @Example
    void everyBf16AndFp16BitPatternRoundTrips() {
        byte[] raw = everySixteenBitPattern();
        for (FloatFormat fmt : new FloatFormat[] {FloatFormat.BF16, FloatFormat.FP16}) {
            assertArrayEquals(raw, Codecs.decode(Codecs.encodeFloat(raw, fmt, 0)));
            assertArrayEquals(raw, Codecs.decode(Codecs.encodeFloat(raw, fmt, 1)));
        }
    }

    @Example
    void bf16WeightsBeatBytePlanesAndZeroAreNearlyFree() {
        byte[] w = CodecBench.bf16(new Random(5), 1 << 20, 0.02);
        EncodedChunk f = Codecs.compressFloat(w, FloatFormat.BF16);
        assertEquals(Codec.FLOAT, f.codec());
        double ratio = f.data().length / (double) w.length;
        assertTrue(ratio < 0.665, "BF16 N(0,0.02) ratio " + ratio);
        assertTrue(f.data().length < Codecs.encode(Codec.BYTE_PLANES_2, w).data().length);
        assertTrue(Codecs.encodeFloat(new byte[1 << 20], FloatFormat.FP32, 0).data().length < 100);
        assertEquals(Codec.RAW, Codecs.compressFloat(data(3, 1 << 16, 0, FloatFormat.BF16, 0), FloatFormat.BF16).codec());
    }

    @Example
    void bf16PowersOfTwoStoreNoMantissaPlane() {
        // Positive powers of two and ±0: every sign/mantissa byte is 0, so the plane is a zero run.
        Random r = new Random(2);
        byte[] raw = new byte[1 << 16];
        for (int i = 0; i < raw.length; i += 2) {
            int bits = r.nextInt(5) == 0 ? (r.nextBoolean() ? 0x8000 : 0) : (100 + r.nextInt(40)) << 7;
            raw[i] = (byte) bits;
            raw[i + 1] = (byte) (bits >>> 8);
        }
        byte[] enc = Codecs.encodeFloat(raw, FloatFormat.BF16, 0).data();
        int plane = FloatCodec.FIXED_HEADER + FloatCodec.DESCRIPTOR; // plane 0's descriptor
        assertEquals(FloatCodec.MODE_ZERO, enc[plane]);
        assertArrayEquals(raw, Codecs.decode(new EncodedChunk(Codec.FLOAT, raw.length, enc)));
        // The same stream claiming a raw plane of 0 bytes: elements that are not ±0 have no entry.
        byte[] bad = enc.clone();
        bad[plane] = FloatCodec.MODE_RAW;
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.FLOAT, raw.length, bad)));
    }

    // ---- DELTA ----

    /** A base and a related chunk: the chunk is the base with small relative changes to some elements, or unrelated. */
    static byte[][] related(long seed, int length, int baseLength, FloatFormat fmt, int shape, boolean unrelated) {
        Random r = new Random(seed);
        byte[] base = data(seed, baseLength, shape, fmt, 0);
        byte[] chunk = unrelated ? data(seed + 1, length, shape, fmt, 0) : Arrays.copyOf(base, length);
        if (!unrelated) {
            if (length > baseLength) {
                byte[] extra = data(seed + 2, length - baseLength, shape, fmt, 0);
                System.arraycopy(extra, 0, chunk, baseLength, extra.length);
            }
            int w = fmt.width();
            for (int i = 0; i + w <= length; i += w) {
                if (r.nextInt(3) == 0) {
                    int delta = r.nextInt(33) - 16;
                    if (w == 2) {
                        int v = (chunk[i] & 0xff | (chunk[i + 1] & 0xff) << 8) + delta;
                        chunk[i] = (byte) v;
                        chunk[i + 1] = (byte) (v >>> 8);
                    } else {
                        int v = (chunk[i] & 0xff | (chunk[i + 1] & 0xff) << 8 | (chunk[i + 2] & 0xff) << 16 | (chunk[i + 3] & 0xff) << 24) + delta * 1000;
                        for (int k = 0; k < 4; k++) {
                            chunk[i + k] = (byte) (v >>> 8 * k);
                        }
                    }
                }
            }
        }
        return new byte[][] {chunk, base};
    }

    @Property(tries = 60)
    void deltaRoundTripsForBothTransformsAndAnyLengths(@ForAll long seed, @ForAll @IntRange(min = 0, max = 100 << 10) int length,
                                                       @ForAll @IntRange(min = -3, max = 3) int lengthShape, @ForAll @IntRange(min = 0, max = 2) int f,
                                                       @ForAll @IntRange(min = 0, max = 6) int shape, @ForAll boolean unrelated,
                                                       @ForAll @IntRange(min = 0, max = 10) int baseDepth) {
        FloatFormat fmt = fmt(f);
        int baseLength = switch (lengthShape) {
            case -3 -> length / 3;
            case -2 -> Math.max(0, length - 1);
            case 2 -> length + 1;
            case 3 -> length * 2 + 5;
            default -> length;
        };
        byte[][] cb = related(seed, length, baseLength, fmt, shape, unrelated);
        byte[] chunk = cb[0], base = cb[1];
        ContentHash baseId = ContentHash.of(base);
        Map<ContentHash, byte[]> store = Map.of(baseId, base);
        DeltaBases bases = id -> store.get(id);
        for (DeltaTransform tr : DeltaTransform.values()) {
            EncodedChunk d = Codecs.encodeDelta(chunk, fmt, tr, baseId, base, baseDepth);
            assertEquals(Codec.DELTA, d.codec());
            assertArrayEquals(chunk, Codecs.decode(d, bases), tr.name());
            assertArrayEquals(chunk, Codecs.verify(ContentHash.of(chunk), d, bases));
            DeltaInfo info = Codecs.deltaBase(d).orElseThrow();
            assertEquals(new DeltaInfo(baseId, baseDepth + 1, tr, fmt, base.length), info);
            assertTrue(d.data().length <= Codecs.maxEncodedLength(chunk.length));
            assertThrows(IllegalStateException.class, () -> Codecs.decode(d));
        }
        Optional<EncodedChunk> best = Codecs.encodeDelta(chunk, fmt, baseId, base, baseDepth);
        long plain = Codecs.compressFloat(chunk, fmt).data().length;
        best.ifPresent(d -> {
            assertArrayEquals(chunk, Codecs.decode(d, bases));
            assertTrue(d.data().length <= plain * 0.97, "a delta is kept only when it saves 3%");
        });
        assertEquals(Optional.empty(), Codecs.deltaBase(Codecs.compressFloat(chunk, fmt)));
    }

    @Example
    void relatedCheckpointsDeltaWellAndChainsDecodeRecursively() {
        Random r = new Random(9);
        int n = 1 << 18;
        byte[] v0 = CodecBench.bf16(r, n, 0.02);
        byte[] v1 = v0.clone();
        byte[] v2;
        for (int i = 0; i < n; i += 2 * (1 + r.nextInt(3))) {
            v1[i] += (byte) (r.nextInt(3) - 1); // mantissa LSB steps, as an optimizer step does
        }
        v2 = v1.clone();
        for (int i = 0; i < n; i += 2 * (1 + r.nextInt(3))) {
            v2[i] += (byte) (r.nextInt(3) - 1);
        }
        ContentHash id0 = ContentHash.of(v0), id1 = ContentHash.of(v1);
        EncodedChunk d1 = Codecs.encodeDelta(v1, FloatFormat.BF16, id0, v0, 0).orElseThrow();
        EncodedChunk d2 = Codecs.encodeDelta(v2, FloatFormat.BF16, id1, v1, 1).orElseThrow();
        assertTrue(d1.data().length < n * 0.4, "delta ratio " + d1.data().length / (double) n);
        assertEquals(2, Codecs.deltaBase(d2).orElseThrow().depth());
        Map<ContentHash, EncodedChunk> stored = new HashMap<>();
        stored.put(id0, Codecs.compressFloat(v0, FloatFormat.BF16));
        stored.put(id1, d1);
        DeltaBases[] bases = new DeltaBases[1];
        bases[0] = id -> Codecs.verify(id, stored.get(id), bases[0]);
        assertArrayEquals(v2, Codecs.verify(ContentHash.of(v2), d2, bases[0]));
        // A base of the wrong length (a different chunk under the id) is corruption.
        assertThrows(CorruptDataException.class, () -> Codecs.decode(d2, id -> Arrays.copyOf(v1, n - 2)));
        assertThrows(IllegalArgumentException.class, () -> Codecs.encodeDelta(v1, FloatFormat.BF16, id0, v0, 255));
    }

    // ---- Hardening ----

    static byte[] damage(byte[] enc, Random r, int kind) {
        return switch (kind) {
            case 0 -> Arrays.copyOf(enc, enc.length == 0 ? 0 : r.nextInt(enc.length)); // truncated
            case 1 -> { byte[] b = enc.clone(); if (b.length > 0) b[r.nextInt(b.length)] ^= (byte) (1 + r.nextInt(255)); yield b; } // flip
            case 2 -> { byte[] b = enc.clone(); if (b.length > 0) b[r.nextInt(Math.min(b.length, 120))] = (byte) r.nextInt(); yield b; } // header/table
            case 3 -> Arrays.copyOf(enc, enc.length + 1 + r.nextInt(9)); // trailing garbage
            case 4 -> { byte[] b = enc.clone(); for (int i = 0; i < 1 + r.nextInt(8) && b.length > 0; i++) b[r.nextInt(b.length)] = (byte) r.nextInt(); yield b; }
            default -> { byte[] b = new byte[r.nextInt(200)]; r.nextBytes(b); yield b; } // noise
        };
    }

    static void decodesOrIsCorrupt(EncodedChunk c, DeltaBases bases) {
        try {
            byte[] out = Codecs.decode(c, bases);
            assertEquals(c.rawLength(), out.length);
        } catch (CorruptDataException expected) {
            // the only acceptable failure
        } catch (RuntimeException | Error other) {
            fail("not a CorruptDataException: " + other, other);
        }
    }

    @Property(tries = 400)
    void damagedFloatEncodingsAreRejectedOrDecodeToTheDeclaredLength(
            @ForAll long seed, @ForAll @IntRange(min = 0, max = 6000) int length, @ForAll @IntRange(min = 0, max = 6) int shape,
            @ForAll @IntRange(min = 0, max = 2) int f, @ForAll @IntRange(min = 0, max = 5) int kind, @ForAll @IntRange(min = -3, max = 3) int lengthDelta) {
        FloatFormat fmt = fmt(f);
        byte[] raw = data(seed, length, shape, fmt, 0);
        byte[] enc = Codecs.encodeFloat(raw, fmt, (int) (seed & 1) % fmt.width()).data();
        byte[] bad = damage(enc, new Random(seed ^ 0x5eed), kind);
        decodesOrIsCorrupt(new EncodedChunk(Codec.FLOAT, Math.max(0, length + lengthDelta), bad), DeltaBases.NONE);
    }

    @Property(tries = 300)
    void damagedDeltaEncodingsAreRejectedOrDecodeToTheDeclaredLength(
            @ForAll long seed, @ForAll @IntRange(min = 0, max = 6000) int length, @ForAll @IntRange(min = 0, max = 2) int f,
            @ForAll @IntRange(min = 0, max = 5) int kind, @ForAll @IntRange(min = -2, max = 2) int lengthDelta, @ForAll boolean sub) {
        FloatFormat fmt = fmt(f);
        byte[][] cb = related(seed, length, length, fmt, 1, false);
        ContentHash baseId = ContentHash.of(cb[1]);
        byte[] enc = Codecs.encodeDelta(cb[0], fmt, sub ? DeltaTransform.SUB : DeltaTransform.XOR, baseId, cb[1], 0).data();
        byte[] bad = damage(enc, new Random(seed ^ 0xde17a), kind);
        // A base store that has only the real base: any other id is missing (a NotFound-like failure
        // that a real store reports); here it is answered with null, which the codec treats as corrupt.
        DeltaBases bases = id -> id.equals(baseId) ? cb[1] : null;
        decodesOrIsCorrupt(new EncodedChunk(Codec.DELTA, Math.max(0, length + lengthDelta), bad), bases);
    }

    @Property(tries = 300)
    void damagedRansStreamsAreCorrupt(@ForAll long seed, @ForAll @IntRange(min = 1, max = 3000) int n, @ForAll @IntRange(min = 0, max = 5) int kind) {
        Random r = new Random(seed);
        byte[] syms = new byte[n];
        int[] counts = new int[256];
        for (int i = 0; i < n; i++) {
            syms[i] = (byte) Math.min(255, Math.abs(r.nextGaussian() * 6));
            counts[syms[i] & 0xff]++;
        }
        byte[] enc = Rans.encode(syms, n, counts);
        byte[] out = new byte[n];
        Rans.decode(enc, 0, enc.length, n, out);
        assertArrayEquals(syms, out);
        byte[] bad = damage(enc, r, kind);
        try {
            Rans.decode(bad, 0, bad.length, n, out);
        } catch (CorruptDataException expected) {
            // fine
        } catch (RuntimeException | Error other) {
            fail("not a CorruptDataException: " + other, other);
        }
    }

    @Example
    void hostileHeadersAreCorruptAndAllocateNothingLarge() {
        byte[] raw = CodecBench.bf16(new Random(1), 4096, 0.02);
        byte[] enc = FloatCodec.encodeVersion1(raw, FloatFormat.BF16, 0, false);
        int max = Codecs.MAX_RAW_LENGTH;
        long before = allocated();
        // Over the 64 MiB cap: rejected before anything is allocated.
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.FLOAT, Integer.MAX_VALUE, enc)));
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.FLOAT, max + 1, enc)));
        long used = allocated() - before;
        assertTrue(used < 1 << 20, "allocated " + used + " bytes for hostile declarations");
        // Declared 64 MiB for a 4 KiB encoding: a tiny FLOAT stream can legitimately hold 64 MiB (one
        // symbol costs no bits), so the decoder may allocate for the declared length, but never more
        // than the output and the exponent symbols (2 bytes per element), and then finds the stream short.
        before = allocated();
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.FLOAT, max, enc)));
        used = allocated() - before;
        assertTrue(used <= (long) max + (1 << 20), "allocated " + used + " bytes for a hostile 64 MiB declaration");
        byte[] v = enc.clone();
        v[0] = 3; // version
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.FLOAT, raw.length, v)));
        byte[] fm = enc.clone();
        fm[1] = 7; // format
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.FLOAT, raw.length, fm)));
        byte[] mode = enc.clone();
        mode[4] = 0; // exponent stream must be rANS
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.FLOAT, raw.length, mode)));
        byte[] sum = enc.clone();
        int table = FloatCodec.headerLength(raw.length, FloatFormat.BF16, 0);
        sum[table + 4] ^= 1; // first frequency: the sum is no longer 4096
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.FLOAT, raw.length, sum)));
        assertThrows(CorruptDataException.class, () -> Codecs.deltaBase(new EncodedChunk(Codec.DELTA, 10, new byte[5])));
        assertArrayEquals(raw, Codecs.decode(new EncodedChunk(Codec.FLOAT, raw.length, enc)));
    }

    @Example
    void floatDecodeAllocatesAtMostAboutTwiceTheRawLength() {
        byte[] raw = data(7, 1 << 20, 5, FloatFormat.FP32, 0);
        EncodedChunk e = Codecs.encodeFloat(raw, FloatFormat.FP32, 0);
        Codecs.decode(e);
        long before = allocated();
        Codecs.decode(e);
        long used = allocated() - before;
        assertTrue(used <= 2L * raw.length + raw.length / 4 + (64 << 10), "allocated " + used);
    }

    private static long allocated() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean()).getCurrentThreadAllocatedBytes();
    }
}
