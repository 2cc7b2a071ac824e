package dev.strata.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.strata.core.Codec;
import dev.strata.core.CorruptDataException;
import dev.strata.core.store.EncodedChunk;
import java.util.Arrays;
import java.util.Random;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/** FLOAT version 2 (BF16 and FP32: Huffman-coded symbols, packed low bits) and its Huffman codes. */
class HuffmanFloatTest {

    /** Version 2 of BF16 {@code raw} from byte {@code p}, whatever version 1 would make. */
    static byte[] version2(byte[] raw, int p) {
        int count = (raw.length - p) / 2;
        HuffmanFloat.Histogram counts = HuffmanFloat.counts(raw, p, count);
        return HuffmanFloat.encode(raw, FloatFormat.BF16, p, count, raw, p, null, counts, Huffman.lengths(counts.total()));
    }

    /** Version 2 of FP32 {@code raw} from byte {@code p}, whatever version 1 would make. */
    static byte[] version2Fp32(byte[] raw, int p) {
        int count = (raw.length - p) / 4;
        HuffmanFloat.Fp32Halves h = HuffmanFloat.split(raw, p, count);
        HuffmanFloat.Histogram counts = HuffmanFloat.counts(h.high(), 0, count);
        return HuffmanFloat.encode(raw, FloatFormat.FP32, p, count, h.high(), 0, h.lowZero() ? null : h.low(), counts,
                Huffman.lengths(counts.total()));
    }

    /** Version 2 with {@link HuffmanFloat#FLAG_ZEROS} of {@code raw} from byte {@code p}, whatever else would be smaller. */
    static byte[] version2Sparse(byte[] raw, FloatFormat fmt, int p) {
        int count = (raw.length - p) / fmt.width();
        HuffmanFloat.Sparse s = HuffmanFloat.sparse(raw, fmt, p, count);
        HuffmanFloat.Histogram h = HuffmanFloat.counts(s, count);
        return HuffmanFloat.encodeSparse(raw, fmt, p, count, s, h, Huffman.lengths(h.total()));
    }

    @Property(tries = 150)
    void version2WithZerosRoundTripsBitExact(@ForAll long seed, @ForAll @IntRange(min = 0, max = 70_000) int length,
                                             @ForAll @IntRange(min = 0, max = 6) int shape, @ForAll @IntRange(min = 0, max = 3) int phase,
                                             @ForAll boolean fp32) {
        FloatFormat fmt = fp32 ? FloatFormat.FP32 : FloatFormat.BF16;
        byte[] raw = FloatCodecTest.data(seed, length, shape, fmt, phase % fmt.width());
        int p = Math.min(phase % fmt.width(), raw.length);
        if ((raw.length - p) / fmt.width() == 0) {
            return;
        }
        byte[] enc = version2Sparse(raw, fmt, p);
        assertEquals(HuffmanFloat.FLAG_ZEROS, enc[3] & HuffmanFloat.FLAG_ZEROS);
        assertArrayEquals(raw, FloatCodec.decode(enc, raw.length));
        // Whatever the writer picks round-trips too, residuals included.
        assertArrayEquals(raw, Codecs.decode(Codecs.compressFloat(raw, fmt)));
        assertArrayEquals(raw, FloatCodec.decode(FloatCodec.encode(raw, fmt, p, true), raw.length));
    }

    @Property(tries = 200)
    void lengthsAreCompleteLimitedAndFollowTheCounts(@ForAll long seed, @ForAll @IntRange(min = 1, max = 1024) int alphabet,
                                                     @ForAll @IntRange(min = 0, max = 3) int shape) {
        Random r = new Random(seed);
        int[] counts = new int[alphabet];
        for (int s = 0; s < alphabet; s++) {
            counts[s] = switch (shape) {
                case 0 -> r.nextInt(4) == 0 ? 0 : 1 + r.nextInt(1000);
                // Fibonacci-like: the unlimited Huffman code would be far deeper than 12 bits.
                case 1 -> s < 40 ? (int) Math.min(Integer.MAX_VALUE / 64, Math.round(Math.pow(1.618, s))) : 0;
                case 2 -> s == alphabet / 2 ? 1_000_000 : r.nextInt(3) == 0 ? 1 : 0;
                default -> (int) Math.round(1e6 * Math.exp(-Math.pow((s - alphabet / 2.0) / 6, 2))) ;
            };
        }
        if (Arrays.stream(counts).allMatch(c -> c == 0)) {
            counts[r.nextInt(alphabet)] = 1;
        }
        byte[] len = Huffman.lengths(counts);
        long present = Arrays.stream(counts).filter(c -> c > 0).count();
        long kraft = 0;
        for (int s = 0; s < alphabet; s++) {
            assertEquals(counts[s] == 0 || present == 1, len[s] == 0, "symbol " + s + " count " + counts[s] + " length " + len[s]);
            assertTrue(len[s] <= Huffman.MAX_LEN);
            kraft += len[s] == 0 ? 0 : 1L << (Huffman.MAX_LEN - len[s]);
            for (int o = 0; o < alphabet; o++) {
                if (counts[o] > counts[s] && counts[s] > 0) {
                    assertTrue(len[o] <= len[s], "more frequent symbol " + o + " got a longer code than " + s);
                }
            }
        }
        assertEquals(present == 1 ? 0 : 1L << Huffman.MAX_LEN, kraft, "complete code");
    }

    @Property(tries = 120)
    void version2RoundTripsBitExact(@ForAll long seed, @ForAll @IntRange(min = 0, max = 70_000) int length,
                                    @ForAll @IntRange(min = 0, max = 6) int shape, @ForAll @IntRange(min = 0, max = 1) int phase) {
        // Every shape of FloatCodecTest (NaN, Inf, subnormals, -0, all equal, random bytes), both phases.
        byte[] raw = FloatCodecTest.data(seed, length, shape, FloatFormat.BF16, phase);
        int p = Math.min(phase, raw.length);
        if ((raw.length - p) / 2 == 0) {
            return;
        }
        byte[] enc = version2(raw, p);
        assertEquals(HuffmanFloat.VERSION, enc[0]);
        assertArrayEquals(raw, FloatCodec.decode(enc, raw.length));
    }

    @Property(tries = 120)
    void fp32Version2RoundTripsBitExact(@ForAll long seed, @ForAll @IntRange(min = 0, max = 70_000) int length,
                                        @ForAll @IntRange(min = 0, max = 6) int shape, @ForAll @IntRange(min = 0, max = 3) int phase,
                                        @ForAll boolean clean) {
        byte[] raw = FloatCodecTest.data(seed, length, shape, FloatFormat.FP32, phase);
        int p = Math.min(phase, raw.length);
        if (clean) { // low halves all zero: FP32 widened from BF16
            for (int i = p; i + 4 <= raw.length; i += 4) {
                raw[i] = 0;
                raw[i + 1] = 0;
            }
        }
        if ((raw.length - p) / 4 == 0) {
            return;
        }
        byte[] enc = version2Fp32(raw, p);
        assertEquals(HuffmanFloat.VERSION, enc[0]);
        assertArrayEquals(raw, FloatCodec.decode(enc, raw.length));
        assertArrayEquals(raw, Codecs.decode(Codecs.encodeFloat(raw, FloatFormat.FP32, p)));
    }

    @Example
    void everyBitPatternAndEveryTailLengthRoundTrips() {
        byte[] all = FloatCodecTest.everySixteenBitPattern();
        assertArrayEquals(all, FloatCodec.decode(version2(all, 0), all.length));
        byte[] w = CodecBench.bf16(new Random(4), 4096, 0.02);
        // Element counts around the four streams' bounds and the packed groups of four.
        for (int n = 1; n < 80; n++) {
            for (int p = 0; p < 2; p++) {
                byte[] raw = Arrays.copyOf(w, 2 * n + p + (n % 3 == 0 ? 1 : 0));
                assertArrayEquals(raw, FloatCodec.decode(version2(raw, p), raw.length), "elements " + n + " phase " + p);
            }
        }
    }

    /**
     * Adam moments with 10-90 % zeros (dead units): the writer keeps version 2 unless version 1 is
     * smaller by more than the margin, and then keeps version 1; either way, bit-exact.
     */
    @Example
    void writerKeepsVersion1OnlyWhenMoreThanTheMarginSmaller() {
        Random r = new Random(11);
        int kept1 = 0;
        int kept2 = 0;
        for (FloatFormat f : new FloatFormat[] {FloatFormat.BF16, FloatFormat.FP32}) {
            for (int zeroPercent = 10; zeroPercent <= 90; zeroPercent += 8) {
                byte[] raw = new byte[f.width() << 17];
                for (int i = 0; i < raw.length; i += f.width()) {
                    int bits = r.nextInt(100) < zeroPercent ? 0 : Float.floatToRawIntBits((float) Math.abs(r.nextGaussian() * 1e-3));
                    bits = f == FloatFormat.BF16 ? bits >>> 16 : bits;
                    for (int k = 0; k < f.width(); k++) {
                        raw[i + k] = (byte) (bits >>> 8 * k);
                    }
                }
                byte[] enc = FloatCodec.encode(raw, f, 0);
                int v1 = FloatCodec.encodeVersion1(raw, f, 0, false).length;
                int v2 = version2Sparse(raw, f, 0).length;
                String at = f + " with " + zeroPercent + " % zeros: v1 " + v1 + ", v2 " + v2 + " bytes";
                if (enc[0] == HuffmanFloat.VERSION) {
                    kept2++;
                    assertEquals(v2, enc.length, at);
                    assertTrue(v2 <= v1 * (1 + FloatCodec.V1_MARGIN), at);
                } else {
                    kept1++;
                    assertEquals(v1, enc.length, at);
                    assertTrue(v2 > v1 * (1 + FloatCodec.V1_MARGIN), at);
                }
                assertArrayEquals(raw, FloatCodec.decode(enc, raw.length), at);
            }
        }
        // Both outcomes occur in this range (Huffman's zero costs a whole bit once p > 1/2).
        assertTrue(kept1 > 0 && kept2 > 0, "version 1 kept " + kept1 + " times, version 2 " + kept2);
    }

    /**
     * Streams whose elements decode at different rates: a quarter of zeros (three per lookup) ends
     * long before quarters of weights, which the decoder then finishes one stream at a time.
     */
    @Example
    void streamsOfDifferentRatesRoundTrip() {
        for (FloatFormat f : new FloatFormat[] {FloatFormat.BF16, FloatFormat.FP32}) {
            Random r = new Random(21);
            byte[] w = new byte[f.width() << 18];
            for (int i = 0; i < w.length; i += f.width()) {
                int bits = Float.floatToRawIntBits((float) (r.nextGaussian() * 0.02)) >>> (f == FloatFormat.BF16 ? 16 : 0);
                for (int k = 0; k < f.width(); k++) {
                    w[i + k] = (byte) (bits >>> 8 * k);
                }
            }
            for (int zeroQuarter = 0; zeroQuarter < 4; zeroQuarter++) {
                byte[] raw = w.clone();
                Arrays.fill(raw, zeroQuarter * raw.length / 4, (zeroQuarter + 1) * raw.length / 4, (byte) 0);
                byte[] enc = FloatCodec.encode(raw, f, 0);
                assertEquals(HuffmanFloat.VERSION, enc[0], f + ", quarter " + zeroQuarter);
                assertArrayEquals(raw, FloatCodec.decode(enc, raw.length), f + ", quarter " + zeroQuarter);
            }
        }
    }

    @Example
    void weightsTakeVersion2AndBeatVersion1() {
        byte[] w = CodecBench.bf16(new Random(5), 1 << 20, 0.02);
        byte[] enc = FloatCodec.encode(w, FloatFormat.BF16, 0);
        assertEquals(HuffmanFloat.VERSION, enc[0]);
        assertTrue(enc.length < FloatCodec.encodeVersion1(w, FloatFormat.BF16, 0, false).length);
        assertTrue(enc.length < 0.665 * w.length, "ratio " + enc.length / (double) w.length);
        assertArrayEquals(w, Codecs.decode(new EncodedChunk(Codec.FLOAT, w.length, enc)));
        // A third zeros (Adam-like): version 2 without fields for the zeros, no larger than version 1
        // (the margin); the wrong phase: version 1 is smaller, so it is kept.
        for (FloatFormat f : new FloatFormat[] {FloatFormat.BF16, FloatFormat.FP32}) {
            byte[] zeros = FloatCodecTest.data(3, 1 << 18, 5, f, 0);
            byte[] z2 = FloatCodec.encode(zeros, f, 0);
            assertEquals(HuffmanFloat.VERSION, z2[0], f.name());
            assertEquals(HuffmanFloat.FLAG_ZEROS | HuffmanFloat.FLAG_NO_SIGNS, z2[3], f.name());
            assertTrue(z2.length <= FloatCodec.encodeVersion1(zeros, f, 0, false).length * (1 + FloatCodec.V1_MARGIN), f.name());
            assertArrayEquals(zeros, FloatCodec.decode(z2, zeros.length));
        }
        // Short mantissas (FP8 E4M3 widened to BF16: the low 4 mantissa bits 0): version 2's raw
        // fields would waste them, so the writer compares and keeps the smaller.
        byte[] fp8 = w.clone();
        for (int i = 0; i < fp8.length; i += 2) {
            fp8[i] &= (byte) 0xf0;
        }
        byte[] e8 = FloatCodec.encode(fp8, FloatFormat.BF16, 0);
        assertTrue(e8.length <= FloatCodec.encodeVersion1(fp8, FloatFormat.BF16, 0, false).length * (1 + FloatCodec.V1_MARGIN));
        assertArrayEquals(fp8, FloatCodec.decode(e8, fp8.length));
        byte[] odd = Arrays.copyOfRange(w, 1, 65537);
        assertEquals(FloatCodec.VERSION, FloatCodec.encode(odd, FloatFormat.BF16, 0)[0]);
        // FP32: version 2 with raw low halves for master weights, none for clean FP32.
        byte[] master = FloatCodecTest.data(8, 1 << 18, 1, FloatFormat.FP32, 0);
        byte[] m2 = FloatCodec.encode(master, FloatFormat.FP32, 0);
        assertEquals(HuffmanFloat.VERSION, m2[0]);
        assertTrue(m2.length <= FloatCodec.encodeVersion1(master, FloatFormat.FP32, 0, false).length * (1 + FloatCodec.V1_MARGIN));
        byte[] clean = BytePlanesTest.cleanFp32(w);
        byte[] c2 = FloatCodec.encode(clean, FloatFormat.FP32, 0);
        assertEquals(HuffmanFloat.VERSION, c2[0]);
        assertTrue(c2.length < 0.34 * clean.length, "clean FP32 ratio " + c2.length / (double) clean.length);
        assertArrayEquals(clean, FloatCodec.decode(c2, clean.length));
        // Non-negative values (Adam's second moment): no sign bits stored, 5-bit fields.
        byte[] positive = w.clone();
        for (int i = 1; i < positive.length; i += 2) {
            positive[i] &= 0x7f;
        }
        byte[] unsigned = version2(positive, 0);
        assertEquals(HuffmanFloat.FLAG_NO_SIGNS, unsigned[3]);
        assertTrue(unsigned.length < enc.length - positive.length / 2 / 8 + 100, "one bit per element less");
        assertArrayEquals(positive, FloatCodec.decode(unsigned, positive.length));
        // A single symbol: no stream bytes at all.
        byte[] ones = new byte[8192];
        for (int i = 0; i < ones.length; i += 2) {
            ones[i] = (byte) 0x80;
            ones[i + 1] = 0x3f;
        }
        byte[] one = version2(ones, 0);
        assertTrue(one.length < 0.4 * ones.length);
        assertArrayEquals(ones, FloatCodec.decode(one, ones.length));
    }

    @Property(tries = 400)
    void damagedVersion2IsCorruptOrDecodesToTheDeclaredLength(@ForAll long seed, @ForAll @IntRange(min = 2, max = 9000) int length,
                                                              @ForAll @IntRange(min = 0, max = 6) int shape, @ForAll @IntRange(min = 0, max = 5) int kind) {
        Random r = new Random(seed);
        boolean fp32 = (seed & 1) == 0 && length >= 4;
        FloatFormat fmt = fp32 ? FloatFormat.FP32 : FloatFormat.BF16;
        byte[] raw = FloatCodecTest.data(seed, length, shape, fmt, 0);
        byte[] enc = (seed & 2) == 0 ? version2Sparse(raw, fmt, 0) : fp32 ? version2Fp32(raw, 0) : version2(raw, 0);
        // FloatCodecTest's damage (truncation, flips, header bytes, trailing garbage, noise), the
        // noise as a version-2 header of this format followed by random bytes.
        byte[] bad = FloatCodecTest.damage(enc, r, kind);
        if (kind == 5) {
            bad = Arrays.copyOf(bad, Math.max(4, bad.length));
            bad[0] = HuffmanFloat.VERSION;
            bad[1] = enc[1];
            bad[2] = 0;
            bad[3] = 0;
        }
        FloatCodecTest.decodesOrIsCorrupt(new EncodedChunk(Codec.FLOAT, raw.length, bad), DeltaBases.NONE);
    }

    @Example
    void hostileTablesAndLengthsAreCorrupt() {
        byte[] raw = CodecBench.bf16(new Random(9), 8192, 0.02);
        byte[] enc = version2(raw, 0);
        int table = FloatCodec.FIXED_HEADER;
        int span = Rans.u16(enc, table + 2);
        int lengths = table + 4 + (span + 1) / 2;
        assertCorrupt(raw, with(enc, 1, (byte) FloatFormat.FP16.id()));            // version 2 is BF16 and FP32 only
        byte[] fp32 = version2Fp32(BytePlanesTest.cleanFp32(raw), 0);
        int mode = FloatCodec.FIXED_HEADER + 4 + (Rans.u16(fp32, FloatCodec.FIXED_HEADER + 2) + 1) / 2 + 16; // after table and lengths
        assertEquals(FloatCodec.MODE_ZERO, fp32[mode]);
        assertCorrupt(BytePlanesTest.cleanFp32(raw), with(fp32, mode, (byte) 1));      // low halves: raw or zero only
        assertCorrupt(BytePlanesTest.cleanFp32(raw), with(fp32, mode, (byte) FloatCodec.MODE_RAW)); // raw, but no bytes
        assertCorrupt(raw, with(enc, 3, (byte) 2));                                // unknown flag
        assertCorrupt(raw, with(enc, 3, (byte) HuffmanFloat.FLAG_NO_SIGNS));       // fields 5 bits: lengths no longer add up
        assertCorrupt(raw, with(enc, table + 2, (byte) 0));                        // span 0
        assertCorrupt(raw, with(enc, table + 3, (byte) 0x04));                     // span past the alphabet
        assertCorrupt(raw, with(enc, table + 4, (byte) 0x0d));                     // a 13-bit code
        assertCorrupt(raw, with(enc, table + 4, (byte) (enc[table + 4] ^ 0x01)));  // Kraft sum off
        assertCorrupt(raw, with(enc, lengths, (byte) (enc[lengths] + 1)));          // stream lengths no longer add up
        byte[] moved = with(enc, lengths, (byte) (enc[lengths] + 1));
        moved[lengths + 4] = (byte) (enc[lengths + 4] - 1);                          // they add up, but a stream is cut
        assertCorrupt(raw, moved);
        // A padding bit set: find data whose last stream does not end on a byte boundary.
        for (int seed = 0; ; seed++) {
            byte[] w = CodecBench.bf16(new Random(seed), 8192, 0.02);
            HuffmanFloat.Histogram counts = HuffmanFloat.counts(w, 0, w.length / 2);
            byte[] len = Huffman.lengths(counts.total());
            long bits = 0;
            for (int k = 0; k < len.length; k++) {
                bits += (long) counts.perStream()[3][k] * len[k];
            }
            if (bits % 8 != 0) {
                byte[] padded = version2(w, 0);
                padded[padded.length - 1] ^= 0x01;
                assertCorrupt(w, padded);
                break;
            }
        }
        assertCorrupt(raw, Arrays.copyOf(enc, enc.length - 1));
        assertArrayEquals(raw, FloatCodec.decode(enc, raw.length));
    }

    @Example
    void hostileZeroCountsAreCorrupt() {
        byte[] raw = FloatCodecTest.data(5, 20_000, 5, FloatFormat.BF16, 0);
        byte[] enc = version2Sparse(raw, FloatFormat.BF16, 0);
        int nonzero = FloatCodec.FIXED_HEADER + 4 + (Rans.u16(enc, FloatCodec.FIXED_HEADER + 2) + 1) / 2 + 16;
        long declared = Rans.u32(enc, nonzero);
        assertTrue(declared > 0 && declared < raw.length / 2);
        byte[] more = enc.clone();
        Rans.putU32(more, nonzero, raw.length / 2 + 1);                              // more than the elements
        assertCorrupt(raw, more);
        byte[] fewer = enc.clone();
        Rans.putU32(fewer, nonzero, declared - 8);                                   // lengths no longer add up
        assertCorrupt(raw, fewer);
        assertCorrupt(raw, with(enc, 3, (byte) (enc[3] & ~HuffmanFloat.FLAG_ZEROS)));  // read as one field per element
        assertArrayEquals(raw, FloatCodec.decode(enc, raw.length));
    }

    private static byte[] with(byte[] enc, int at, byte value) {
        byte[] b = enc.clone();
        b[at] = value;
        return b;
    }

    private static void assertCorrupt(byte[] raw, byte[] enc) {
        assertThrows(CorruptDataException.class, () -> {
            byte[] out = FloatCodec.decode(enc, raw.length);
            if (Arrays.equals(out, raw)) {
                fail("damaged encoding decoded to the original");
            }
        });
    }
}
