package dev.strata.core.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.strata.core.CorruptDataException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The encoding behind {@link dev.strata.core.Codec#FLOAT} (docs/format.md, "Float"): the chunk is
 * read as little-endian elements of a {@link FloatFormat} starting at byte {@code phase}. Each
 * element becomes one symbol of the exponent stream — its exponent field, or one of two extra
 * symbols for +0 and −0 — coded with {@link Rans}; every element that is not ±0 also contributes
 * its sign and mantissa (sign above the mantissa bits, little-endian, 1 to 3 bytes) to the
 * sign/mantissa planes, byte k to plane k, each stored raw, rANS-coded, zstd or as an all-zero run.
 *
 * <p>Why this split (measured in docs/decisions/0015-float-and-delta-codecs.md): the exponent holds
 * nearly all the redundancy of trained weights (~2.5 of 8 bits), the mantissa almost none; byte
 * planes cut the exponent's lowest bit off into the mantissa byte. The ±0 symbols take zeros (dead
 * units, Adam moments of unused parameters) out of the mantissa planes entirely.
 */
final class FloatCodec {
    static final int VERSION = 1;
    static final int MODE_RAW = 0;
    static final int MODE_ZSTD = 1;
    static final int MODE_ZERO = 2;
    static final int MODE_RANS = 3;
    /** version, format, phase, reserved. */
    static final int FIXED_HEADER = 4;
    /** mode u8, stored length u32. */
    static final int DESCRIPTOR = 5;

    /** When true, sign/mantissa planes also try zstd-1 and keep it when smaller than rANS (for measurements). */
    static volatile boolean tryZstdPlanes = false;

    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private FloatCodec() {}

    static int alphabet(FloatFormat f) {
        return (1 << f.exponentBits()) + 2;
    }

    static int headerLength(int rawLength, FloatFormat f, int phase) {
        int w = f.width();
        int p = Math.min(phase, rawLength);
        return FIXED_HEADER + p + (rawLength - p) % w + DESCRIPTOR * (1 + f.signMantissaBytes());
    }

    /**
     * Estimated length of {@code encode(raw, fmt, 0)} from one histogram pass (exponent symbols and
     * sign/mantissa bytes, order-0 entropy plus tables), within about 1% on float data; used to
     * choose among candidates without encoding each.
     */
    static long estimate(byte[] raw, FloatFormat fmt) {
        return estimates(raw, null, fmt)[0];
    }

    /**
     * {@link #estimate} of {@code raw} and, when {@code base} is not null, of its XOR and SUB
     * residuals against {@code base} ({@link DeltaCodec#residual}), from one pass that never
     * materialises a residual: {plain, xor, sub} (or {plain}).
     */
    static long[] estimates(byte[] raw, byte[] base, FloatFormat fmt) {
        int w = fmt.width();
        int n = raw.length;
        int count = n / w;
        int sets = base == null ? 1 : 3;
        int a = alphabet(fmt);
        int[][] counts = new int[sets][a];
        // Per set, two histograms of 256 per plane byte (0..2); byte 1 of BF16 is always 0.
        int[][] h = new int[sets * 3][256];
        int mb = fmt.mantissaBits();
        int emask = (1 << fmt.exponentBits()) - 1;
        int zero = 1 << fmt.exponentBits();
        // Elements inside the base (whole) are residuals; the rest are the chunk's own bytes.
        int inBase = base == null ? 0 : Math.min(n, base.length) / w;
        // Large chunks: count one block of SAMPLE_BLOCK elements in every SAMPLE_EVERY (the order-0
        // entropy of 64K+ sampled elements is within a fraction of a percent of the whole's), and
        // scale the entropy up; small chunks count every element.
        int every = count >= 1 << 16 ? SAMPLE_EVERY : SAMPLE_BLOCK;
        // Branchless (residuals are ±0 about half the time): every element counts its bytes, and
        // the ±0 elements' bytes (all zero but the sign) are taken back out afterwards.
        if (w == 2) {
            int mmask = (1 << mb) - 1;
            int[] c0 = counts[0], h00 = h[0], h01 = h[1];
            for (int blk = 0; blk < count; blk += every)
            for (int i = blk, j = 2 * blk, e = Math.min(count, blk + SAMPLE_BLOCK); i < e; i++, j += 2) {
                int v = (short) SHORT_LE.get(raw, j) & 0xffff;
                c0[(v >>> mb & emask) + ((zero + (v >>> 15)) & -(((v & 0x7fff) - 1) >>> 31))]++;
                int sm = (v >>> 15) << mb | (v & mmask);
                h00[sm & 0xff]++;
                h01[sm >>> 8]++;
            }
            if (base != null) {
                int[] c1 = counts[1], c2 = counts[2], h10 = h[3], h11 = h[4], h20 = h[6], h21 = h[7];
                for (int blk = 0; blk < inBase; blk += every)
                for (int i = blk, j = 2 * blk, e = Math.min(inBase, blk + SAMPLE_BLOCK); i < e; i++, j += 2) {
                    int v = (short) SHORT_LE.get(raw, j);
                    int y = (short) SHORT_LE.get(base, j);
                    int x = (v ^ y) & 0xffff;
                    int d = (v - y) & 0xffff;
                    c1[(x >>> mb & emask) + ((zero + (x >>> 15)) & -(((x & 0x7fff) - 1) >>> 31))]++;
                    c2[(d >>> mb & emask) + ((zero + (d >>> 15)) & -(((d & 0x7fff) - 1) >>> 31))]++;
                    int sx = (x >>> 15) << mb | (x & mmask);
                    int sd = (d >>> 15) << mb | (d & mmask);
                    h10[sx & 0xff]++;
                    h11[sx >>> 8]++;
                    h20[sd & 0xff]++;
                    h21[sd >>> 8]++;
                }
                // Past the base: the chunk's own elements, the same in both residuals.
                addTail(raw, inBase, count, every, fmt, counts[1], h[3], h[4], h[5]);
                addTail(raw, inBase, count, every, fmt, counts[2], h[6], h[7], h[8]);
            }
        } else {
            int[] c0 = counts[0], h00 = h[0], h01 = h[1], h02 = h[2];
            for (int blk = 0; blk < count; blk += every)
            for (int i = blk, j = 4 * blk, e = Math.min(count, blk + SAMPLE_BLOCK); i < e; i++, j += 4) {
                int v = (int) INT_LE.get(raw, j);
                c0[(v >>> 23 & 0xff) + ((zero + (v >>> 31)) & -(((v & 0x7fffffff) - 1) >>> 31))]++;
                h00[v & 0xff]++;
                h01[v >>> 8 & 0xff]++;
                h02[(v >>> 24 & 0x80) | (v >>> 16 & 0x7f)]++;
            }
            if (base != null) {
                int[] c1 = counts[1], c2 = counts[2], h10 = h[3], h11 = h[4], h12 = h[5], h20 = h[6], h21 = h[7], h22 = h[8];
                for (int blk = 0; blk < inBase; blk += every)
                for (int i = blk, j = 4 * blk, e = Math.min(inBase, blk + SAMPLE_BLOCK); i < e; i++, j += 4) {
                    int v = (int) INT_LE.get(raw, j);
                    int y = (int) INT_LE.get(base, j);
                    int x = v ^ y;
                    int d = v - y;
                    c1[(x >>> 23 & 0xff) + ((zero + (x >>> 31)) & -(((x & 0x7fffffff) - 1) >>> 31))]++;
                    c2[(d >>> 23 & 0xff) + ((zero + (d >>> 31)) & -(((d & 0x7fffffff) - 1) >>> 31))]++;
                    h10[x & 0xff]++;
                    h11[x >>> 8 & 0xff]++;
                    h12[(x >>> 24 & 0x80) | (x >>> 16 & 0x7f)]++;
                    h20[d & 0xff]++;
                    h21[d >>> 8 & 0xff]++;
                    h22[(d >>> 24 & 0x80) | (d >>> 16 & 0x7f)]++;
                }
                addTail(raw, inBase, count, every, fmt, counts[1], h[3], h[4], h[5]);
                addTail(raw, inBase, count, every, fmt, counts[2], h[6], h[7], h[8]);
            }
        }
        int sampled = 0;
        for (int blk = 0; blk < count; blk += every) {
            sampled += Math.min(count, blk + SAMPLE_BLOCK) - blk;
        }
        long[] out = new long[sets];
        for (int set = 0; set < sets; set++) {
            out[set] = total(counts[set], new int[][] {h[3 * set], h[3 * set + 1], h[3 * set + 2]}, sampled, (double) count / Math.max(1, sampled), n, fmt);
        }
        return out;
    }

    /** {@link #estimates} counts blocks of this many elements... */
    private static final int SAMPLE_BLOCK = 64;
    /** ...one in every this many elements, in chunks of at least 64K elements. */
    private static final int SAMPLE_EVERY = 256;

    /** Counts elements {@code from..to-1} of {@code raw} as they are (no residual). */
    private static void addTail(byte[] raw, int from, int to, int every, FloatFormat fmt, int[] c, int[] h0, int[] h1, int[] h2) {
        int w = fmt.width();
        int mb = fmt.mantissaBits();
        int emask = (1 << fmt.exponentBits()) - 1;
        int zero = 1 << fmt.exponentBits();
        for (int i = from, j = from * w; i < to; i++, j += w) {
            if (i % every >= SAMPLE_BLOCK) {
                continue; // the same elements as the sampled loops
            }
            if (w == 2) {
                int v = (short) SHORT_LE.get(raw, j) & 0xffff;
                c[(v >>> mb & emask) + ((zero + (v >>> 15)) & -(((v & 0x7fff) - 1) >>> 31))]++;
                int sm = (v >>> 15) << mb | (v & ((1 << mb) - 1));
                h0[sm & 0xff]++;
                h1[sm >>> 8]++;
            } else {
                int v = (int) INT_LE.get(raw, j);
                c[(v >>> 23 & 0xff) + ((zero + (v >>> 31)) & -(((v & 0x7fffffff) - 1) >>> 31))]++;
                h0[v & 0xff]++;
                h1[v >>> 8 & 0xff]++;
                h2[(v >>> 24 & 0x80) | (v >>> 16 & 0x7f)]++;
            }
        }
    }

    /** The estimate from branchless counts: every element counted in every plane histogram. */
    private static long total(int[] counts, int[][] h, int count, double scale, int n, FloatFormat fmt) {
        int k = fmt.signMantissaBytes();
        int zero = 1 << fmt.exponentBits();
        int plus = counts[zero], minus = counts[zero + 1];
        int nz = count - plus - minus;
        // The ±0 elements' sign/mantissa bytes: all zero, but -0's sign bit (bit 7 of the top byte).
        int minusByte = k - 1;
        long total = headerLength(n, fmt, 0) + Rans.estimate(counts, count, scale);
        for (int b = 0; b < k; b++) {
            int[] hb = h[b];
            hb[0] -= plus;
            hb[b == minusByte ? (fmt == FloatFormat.FP16 ? 0x04 : 0x80) : 0] -= minus;
            if (hb[0] == nz) {
                continue;
            }
            total += Math.min((long) Math.ceil(nz * scale), Rans.estimate(hb, nz, scale));
        }
        return total;
    }

    /**
     * Whether "is ±0" changes often between neighbouring elements (in more than 1 of 16 sampled
     * pairs), so that a branch on it would mispredict: then the split runs branchless (residuals,
     * ±0 about half the time at random). Otherwise (weights without zeros, Adam moments whose zeros
     * come in runs) the branch is predicted and the branchy loop is faster.
     */
    static boolean mixedZeros(byte[] raw, int p, int count, int w, int marker) {
        int step = 61;
        int sampled = 0;
        int changes = 0;
        for (int i = 0, j = p; i + 1 < count; i += step, j += step * w, sampled++) {
            int a = w == 2 ? (short) SHORT_LE.get(raw, j) : (int) INT_LE.get(raw, j);
            int b = w == 2 ? (short) SHORT_LE.get(raw, j + w) : (int) INT_LE.get(raw, j + w);
            // marker < 0: "±0" is all bits but the sign zero; else the marker bit (decoding) is clear.
            boolean za = marker < 0 ? (w == 2 ? a << 17 : a << 1) == 0 : (a & marker) == 0;
            boolean zb = marker < 0 ? (w == 2 ? b << 17 : b << 1) == 0 : (b & marker) == 0;
            changes += za != zb ? 1 : 0;
        }
        return changes > sampled / 16;
    }

    /**
     * The BF16 split without a branch on ±0 (residuals, ±0 about half the time at random): the plane
     * byte is always written and kept only when the element is not ±0. Its own method: inlined into
     * {@link #encode}, it slowed the branchy loop there by 5–10%.
     */
    private static int splitBf16Branchless(byte[] raw, int p, int count, int zero, short[] syms, int[] counts, byte[] p0) {
        int nz = 0;
        for (int i = 0, j = p; i < count; i++, j += 2) {
            int v = (short) SHORT_LE.get(raw, j) & 0xffff;
            int isZero = ((v & 0x7fff) - 1) >>> 31;
            int e = (v >>> 7 & 0xff) + ((zero + (v >>> 15)) & -isZero);
            p0[nz] = (byte) ((v >>> 8 & 0x80) | (v & 0x7f));
            nz += 1 - isZero;
            syms[i] = (short) e;
            counts[e]++;
        }
        return nz;
    }

    /** The FP32 split without a branch on ±0, as {@link #splitBf16Branchless}. */
    private static int splitFp32Branchless(byte[] raw, int p, int count, int zero, short[] syms, int[] counts, byte[] p0, byte[] p1, byte[] p2) {
        int nz = 0;
        for (int i = 0, j = p; i < count; i++, j += 4) {
            int v = (int) INT_LE.get(raw, j);
            int isZero = ((v & 0x7fffffff) - 1) >>> 31;
            int e = (v >>> 23 & 0xff) + ((zero + (v >>> 31)) & -isZero);
            p0[nz] = (byte) v;
            p1[nz] = (byte) (v >>> 8);
            p2[nz] = (byte) ((v >>> 24 & 0x80) | (v >>> 16 & 0x7f));
            nz += 1 - isZero;
            syms[i] = (short) e;
            counts[e]++;
        }
        return nz;
    }

    static byte[] encode(byte[] raw, FloatFormat fmt, int phase) {
        return encode(raw, fmt, phase, false);
    }

    /**
     * BF16 and FP32 chunks of at least this many elements try version 2 ({@link HuffmanFloat});
     * below it version 1 decodes about as fast or faster (version 2's tables cost ~15 µs a chunk).
     */
    static final int HUFFMAN_MIN_ELEMENTS = 4096;

    /**
     * {@link #encode(byte[], FloatFormat, int)}; {@code residual} (a DELTA residual, ±0 often and
     * at random) lets version 1's split check whether to run without a branch on ±0.
     *
     * <p>BF16 and FP32 take version 2 (decision 0020: decodes 2–3 times faster): with one field
     * per element, or, when a sample finds more than 1/256 of the elements all 0, without fields
     * for those ({@link HuffmanFloat#FLAG_ZEROS}). Version 1 is kept when it is more than 1 %
     * smaller ({@link #V1_MARGIN}), which is checked (by encoding it) for every residual (their sign/mantissa bits often
     * compress, and deltas are made in the background, where size matters most), and otherwise only
     * when it may be: when Huffman's integer code lengths cost more than 1 % over the symbols'
     * entropy (a symbol more likely than 1/2, such as the zeros of a mostly-zero chunk), when version 2 saves little (above 0.70 of N for BF16,
     * 0.86 for FP32: data not of this format or phase; version 1 entropy-codes sign/mantissa planes
     * that compress, version 2 never codes its fields), when one of the fields' mantissa bits is
     * never set (values with short mantissas, FP8 widened), and for FP32 whose low 16 bits are
     * neither all zero nor random-looking.
     */
    static byte[] encode(byte[] raw, FloatFormat fmt, int phase, boolean residual) {
        int count = (raw.length - Math.min(phase, raw.length)) / fmt.width();
        if (fmt == FloatFormat.FP16 || count < HUFFMAN_MIN_ELEMENTS || phase < 0 || phase >= fmt.width()) {
            return encodeVersion1(raw, fmt, phase, residual);
        }
        int p = Math.min(phase, raw.length);
        if (HuffmanFloat.manyZeros(raw, fmt, p, count)) {
            HuffmanFloat.Sparse sparse = HuffmanFloat.sparse(raw, fmt, p, count);
            HuffmanFloat.Histogram h = HuffmanFloat.counts(sparse, count);
            byte[] lengths = Huffman.lengths(h.total());
            long v2 = HuffmanFloat.length(raw.length, fmt, p, count, sparse, h, lengths);
            byte[] low = sparse.lowZero() ? null : sparse.low();
            byte[] v1 = version1IfSmaller(raw, fmt, phase, residual, v2, h, lengths, low, 2 * sparse.nonzero());
            return v1 != null ? v1 : HuffmanFloat.encodeSparse(raw, fmt, p, count, sparse, h, lengths);
        }
        HuffmanFloat.Fp32Halves halves = fmt == FloatFormat.FP32 ? HuffmanFloat.split(raw, p, count) : null;
        byte[] high = halves == null ? raw : halves.high();
        int at = halves == null ? p : 0;
        byte[] low = halves == null || halves.lowZero() ? null : halves.low();
        HuffmanFloat.Histogram h = HuffmanFloat.counts(high, at, count);
        byte[] lengths = Huffman.lengths(h.total());
        long v2 = HuffmanFloat.length(raw.length, fmt, p, count, h, lengths, low == null);
        byte[] v1 = version1IfSmaller(raw, fmt, phase, residual, v2, h, lengths, low, low == null ? 0 : low.length);
        return v1 != null ? v1 : HuffmanFloat.encode(raw, fmt, p, count, high, at, low, h, lengths);
    }

    /**
     * Version 1 of the chunk when it may be smaller than version 2's {@code v2} bytes (the cases in
     * {@link #encode(byte[], FloatFormat, int, boolean)}) and is, by more than {@link #V1_MARGIN}; else null.
     * {@code low}: the FP32 low halves version 2 stores raw ({@code lowLength} bytes), or null.
     */
    private static byte[] version1IfSmaller(byte[] raw, FloatFormat fmt, int phase, boolean residual, long v2,
                                            HuffmanFloat.Histogram h, byte[] lengths, byte[] low, int lowLength) {
        double threshold = raw.length * (fmt == FloatFormat.BF16 ? V1_TRIAL_ABOVE_BF16 : V1_TRIAL_ABOVE_FP32);
        boolean may = residual || v2 > threshold || !h.lowBitsAllUsed() || Huffman.excessBits(h.total(), lengths) > v2 * 8 * V1_MARGIN
                || low != null && !looksRandom(low, lowLength);
        if (!may) {
            return null;
        }
        byte[] v1 = encodeVersion1(raw, fmt, phase, residual);
        return v2 > v1.length * (1 + V1_MARGIN) ? v1 : null;
    }

    /**
     * Version 1 must be smaller by more than this fraction to be kept: version 2 decodes about twice
     * as fast. At 0.5 % the Adam moments' chunks with more than half zeros (Huffman's 1-bit zero
     * against rANS's 0.64 bit: v2 0.6 % larger) stayed on version 1 and cost both encodings; at 1 %
     * they take version 2: moments 0.08 % larger, decoded ~30 % and encoded 19-33 % faster
     * (A/B in one JVM, docs/decisions/0020).
     */
    static final double V1_MARGIN = 0.01;

    /** Version 2 above these ratios: try version 1 too (trained weights: BF16 ~0.66, FP32 ~0.83). */
    private static final double V1_TRIAL_ABOVE_BF16 = 0.70;
    private static final double V1_TRIAL_ABOVE_FP32 = 0.86;

    /** Whether a sample of {@code b[0..length)} has nearly 8 bits of order-0 entropy per byte (then rANS would not pay). */
    private static boolean looksRandom(byte[] b, int length) {
        int[] h = new int[256];
        int step = length >= 1 << 16 ? 7 : 1;
        int n = 0;
        for (int i = 0; i < length; i += step, n++) {
            h[b[i] & 0xff]++;
        }
        return Rans.entropyBytes(h, n) > n * 0.985;
    }

    /** Version 1 (rANS exponents, byte planes); see {@link #encode(byte[], FloatFormat, int, boolean)}. */
    static byte[] encodeVersion1(byte[] raw, FloatFormat fmt, int phase, boolean residual) {
        int w = fmt.width();
        if (phase < 0 || phase >= w) {
            throw new IllegalArgumentException("phase " + phase + " for width " + w);
        }
        int n = raw.length;
        int p = Math.min(phase, n);
        int count = (n - p) / w;
        int t = (n - p) - count * w;
        int mb = fmt.mantissaBits();
        int eb = fmt.exponentBits();
        int emask = (1 << eb) - 1;
        int mmask = (1 << mb) - 1;
        int zero = 1 << eb; // symbol of +0; zero + 1 is -0
        int k = fmt.signMantissaBytes();
        short[] syms = new short[count];
        int[] counts = new int[alphabet(fmt)];
        byte[][] planes = new byte[k][count];
        int nz = 0;
        switch (fmt) {
            case BF16 -> {
                byte[] p0 = planes[0];
                if (residual && mixedZeros(raw, p, count, w, -1)) {
                    nz = splitBf16Branchless(raw, p, count, zero, syms, counts, p0);
                } else {
                    for (int i = 0, j = p; i < count; i++, j += 2) {
                        int v = (short) SHORT_LE.get(raw, j) & 0xffff;
                        int e = v >>> 7 & 0xff;
                        if ((v & 0x7fff) == 0) {
                            e = zero + (v >>> 15);
                        } else {
                            p0[nz++] = (byte) ((v >>> 8 & 0x80) | (v & 0x7f));
                        }
                        syms[i] = (short) e;
                        counts[e]++;
                    }
                }
            }
            case FP32 -> {
                byte[] p0 = planes[0], p1 = planes[1], p2 = planes[2];
                if (residual && mixedZeros(raw, p, count, w, -1)) {
                    nz = splitFp32Branchless(raw, p, count, zero, syms, counts, p0, p1, p2);
                } else {
                    for (int i = 0, j = p; i < count; i++, j += 4) {
                        int v = (int) INT_LE.get(raw, j);
                        int e = v >>> 23 & 0xff;
                        if ((v & 0x7fffffff) == 0) {
                            e = zero + (v >>> 31);
                        } else {
                            p0[nz] = (byte) v;
                            p1[nz] = (byte) (v >>> 8);
                            p2[nz++] = (byte) ((v >>> 24 & 0x80) | (v >>> 16 & 0x7f));
                        }
                        syms[i] = (short) e;
                        counts[e]++;
                    }
                }
            }
            default -> {
                for (int i = 0, j = p; i < count; i++, j += w) {
                    int v = (short) SHORT_LE.get(raw, j) & 0xffff;
                    int sign = v >>> 15;
                    int e = v >>> mb & emask;
                    if ((v & 0x7fff) == 0) {
                        e = zero + sign;
                    } else {
                        int sm = sign << mb | (v & mmask);
                        for (int b = 0; b < k; b++) {
                            planes[b][nz] = (byte) (sm >>> 8 * b);
                        }
                        nz++;
                    }
                    syms[i] = (short) e;
                    counts[e]++;
                }
            }
        }
        byte[] exp = Rans.encode(syms, count, counts);
        int[] modes = new int[k];
        byte[][] stored = new byte[k][];
        int[] hist = new int[256];
        for (int b = 0; b < k; b++) {
            byte[] pl = planes[b];
            if (nz >= 1 << 14) {
                // A 1-in-16 sample first: a plane of random mantissa bits (most of them) is stored
                // raw without a full histogram.
                java.util.Arrays.fill(hist, 0);
                int sampled = 0;
                for (int i = 0; i < nz; i += 16, sampled++) {
                    hist[pl[i] & 0xff]++;
                }
                if (hist[0] != sampled && Rans.entropyBytes(hist, sampled) > sampled * 0.985) {
                    modes[b] = MODE_RAW;
                    stored[b] = pl.length == nz ? pl : java.util.Arrays.copyOf(pl, nz);
                    continue;
                }
            }
            java.util.Arrays.fill(hist, 0);
            for (int i = 0; i < nz; i++) {
                hist[pl[i] & 0xff]++;
            }
            if (hist[0] == nz) {
                modes[b] = MODE_ZERO;
                stored[b] = new byte[0];
                continue;
            }
            long limit = (long) Math.floor(nz * (1.0 - Codecs.MIN_SAVING));
            byte[] best = null;
            int mode = MODE_RAW;
            if (Rans.estimate(hist, nz) <= limit) {
                best = Rans.encode(pl, nz, hist);
                mode = MODE_RANS;
            }
            if (tryZstdPlanes) {
                byte[] z = zstd(pl, nz);
                if (z.length <= limit && (best == null || z.length < best.length)) {
                    best = z;
                    mode = MODE_ZSTD;
                }
            }
            if (best == null || best.length > limit) {
                best = pl.length == nz ? pl : java.util.Arrays.copyOf(pl, nz);
                mode = MODE_RAW;
            }
            modes[b] = mode;
            stored[b] = best;
        }
        int header = headerLength(n, fmt, phase);
        long total = header + (long) exp.length;
        for (byte[] s : stored) {
            total += s.length;
        }
        byte[] out = new byte[Math.toIntExact(total)];
        out[0] = (byte) VERSION;
        out[1] = (byte) fmt.id();
        out[2] = (byte) p;
        out[3] = 0;
        System.arraycopy(raw, 0, out, FIXED_HEADER, p);
        System.arraycopy(raw, p + count * w, out, FIXED_HEADER + p, t);
        int d = FIXED_HEADER + p + t;
        out[d] = (byte) MODE_RANS;
        Rans.putU32(out, d + 1, exp.length);
        d += DESCRIPTOR;
        for (int b = 0; b < k; b++, d += DESCRIPTOR) {
            out[d] = (byte) modes[b];
            Rans.putU32(out, d + 1, stored[b].length);
        }
        int pos = header;
        System.arraycopy(exp, 0, out, pos, exp.length);
        pos += exp.length;
        for (int b = 0; b < k; b++) {
            System.arraycopy(stored[b], 0, out, pos, stored[b].length);
            pos += stored[b].length;
        }
        return out;
    }

    private static byte[] zstd(byte[] plane, int n) {
        try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
            ctx.setLevel(1);
            return ctx.compress(plane.length == n ? plane : java.util.Arrays.copyOf(plane, n));
        }
    }

    /** The float format named in a FLOAT encoding's header (after checking the version). */
    static FloatFormat format(byte[] enc) {
        if (enc.length < FIXED_HEADER) {
            throw corrupt("float header", "at least " + FIXED_HEADER + " bytes", enc.length + " bytes");
        }
        int version = enc[0] & 0xff;
        if (version != VERSION && version != HuffmanFloat.VERSION) {
            throw corrupt("float format version", VERSION + " or " + HuffmanFloat.VERSION, Integer.toString(version));
        }
        FloatFormat fmt = FloatFormat.fromId(enc[1] & 0xff);
        if (version == HuffmanFloat.VERSION && fmt == FloatFormat.FP16) {
            throw corrupt("float format of version " + version, "BF16 or FP32", fmt.name());
        }
        return fmt;
    }

    /**
     * Decodes a FLOAT encoding into exactly {@code rawLength} bytes. Allocates the output, a 32 KiB
     * rANS table per coded stream and, only for planes that are not stored raw, one buffer per plane
     * of at most one byte per element; nothing is sized from a length inside the encoding.
     *
     * <p>The exponent stream is decoded straight into the output (no symbol array): BF16 with a raw
     * or zero plane in one pass ({@link Rans#decodeBf16}); otherwise each element first gets its
     * exponent bits plus a marker in its lowest bit (±0 gets its final bits), and a branchless
     * merge pass replaces each marker with the element's sign and mantissa from the planes.
     */
    static byte[] decode(byte[] enc, int rawLength) {
        FloatFormat fmt = format(enc);
        int w = fmt.width();
        int p = enc[2] & 0xff;
        if (p >= w || p > rawLength) {
            throw corrupt("float phase", "below " + w + " and at most the raw length " + rawLength, Integer.toString(p));
        }
        if ((enc[0] & 0xff) == HuffmanFloat.VERSION) {
            return HuffmanFloat.decode(enc, rawLength, fmt, p);
        }
        if (enc[3] != 0) {
            throw corrupt("float reserved byte", "0", Integer.toString(enc[3] & 0xff));
        }
        int count = (rawLength - p) / w;
        int t = (rawLength - p) - count * w;
        int k = fmt.signMantissaBytes();
        int header = headerLength(rawLength, fmt, p);
        if (enc.length < header) {
            throw corrupt("float header", "at least " + header + " bytes", enc.length + " bytes");
        }
        int[] modes = new int[k + 1];
        int[] lengths = new int[k + 1];
        long total = header;
        for (int s = 0, d = FIXED_HEADER + p + t; s <= k; s++, d += DESCRIPTOR) {
            int mode = enc[d] & 0xff;
            long len = Rans.u32(enc, d + 1);
            if (s == 0 ? mode != MODE_RANS : mode > MODE_RANS) {
                throw corrupt("float stream " + s + " mode", s == 0 ? "3 (rANS)" : "0..3", Integer.toString(mode));
            }
            if (mode == MODE_ZERO && len != 0) {
                throw corrupt("zero plane " + s + " length", "0", Long.toString(len));
            }
            if (len > enc.length) {
                throw corrupt("float stream " + s + " length", "at most " + enc.length, Long.toString(len));
            }
            modes[s] = mode;
            lengths[s] = (int) len;
            total += len;
        }
        if (total != enc.length) {
            throw corrupt("float encoded length", Long.toString(total), Integer.toString(enc.length));
        }
        int alphabet = alphabet(fmt);
        if (fmt == FloatFormat.BF16 && modes[1] != MODE_RANS && modes[1] != MODE_ZSTD) {
            // Weights: the sign/mantissa plane is raw (or zero); decode exponents straight into the output.
            if (modes[1] == MODE_RAW && lengths[1] > count) {
                throw corrupt("raw plane 0 length", "at most " + count, Integer.toString(lengths[1]));
            }
            byte[] out = new byte[rawLength];
            System.arraycopy(enc, FIXED_HEADER, out, 0, p);
            System.arraycopy(enc, FIXED_HEADER + p, out, p + count * w, t);
            boolean raw = modes[1] == MODE_RAW;
            int planeOff = header + lengths[0];
            // A raw plane of length 0 still gets a valid (clamped) read index: the header byte before it.
            int m = raw ? Rans.decodeBf16(enc, header, lengths[0], count, enc, planeOff - (lengths[1] == 0 ? 1 : 0), Math.max(1, lengths[1]), out, p)
                    : Rans.decodeBf16(enc, header, lengths[0], count, new byte[1], 0, 1, out, p);
            if (raw && m != lengths[1]) {
                throw corrupt("sign/mantissa plane length", m + " elements that are not ±0", Integer.toString(lengths[1]));
            }
            return out;
        }
        // Exponents first, straight into the output: an element that is not ±0 gets its exponent
        // bits and a marker in its lowest bit (replaced by its mantissa below), ±0 its final bits.
        byte[] out = new byte[rawLength];
        System.arraycopy(enc, FIXED_HEADER, out, 0, p);
        System.arraycopy(enc, FIXED_HEADER + p, out, p + count * w, t);
        int pos = header;
        int nz = Rans.decodeElements(enc, pos, lengths[0], count, alphabet, markPayload(fmt), markFlag(fmt), w, out, p);
        pos += lengths[0];
        // Each plane: the bytes, their offset and a mask (raw planes are read in place; a zero plane
        // reads one zero byte over and over).
        byte[][] pl = new byte[k][];
        int[] po = new int[k];
        int[] ps = new int[k];
        for (int s = 1; s <= k; s++) {
            int b = s - 1;
            int len = lengths[s];
            ps[b] = -1;
            switch (modes[s]) {
                case MODE_RAW -> {
                    if (len != nz) {
                        throw corrupt("raw plane " + b + " length", Integer.toString(nz), Integer.toString(len));
                    }
                    pl[b] = enc;
                    po[b] = pos;
                }
                case MODE_RANS -> {
                    pl[b] = new byte[nz];
                    Rans.decode(enc, pos, len, nz, pl[b]);
                }
                case MODE_ZSTD -> {
                    long declared;
                    try {
                        declared = len == 0 ? -2 : Zstd.getFrameContentSize(enc, pos, len);
                    } catch (ZstdException e) {
                        declared = -2;
                    }
                    if (declared != nz || nz == 0) {
                        throw corrupt("zstd plane " + b + " frame content size", Integer.toString(nz), Long.toString(declared));
                    }
                    pl[b] = new byte[nz];
                    long got;
                    try {
                        got = Zstd.decompressByteArray(pl[b], 0, nz, enc, pos, len);
                    } catch (ZstdException e) {
                        throw corrupt("zstd plane " + b, "a valid frame", e.getMessage());
                    }
                    if (got != nz) {
                        throw corrupt("zstd plane " + b + " decoded length", Integer.toString(nz), Long.toString(got));
                    }
                }
                default -> { // zero plane
                    pl[b] = ZERO_BYTE;
                    ps[b] = 0;
                }
            }
            pos += len;
        }
        if (nz > 0) {
            merge(fmt, count, pl, po, ps, out, p, nz);
        }
        return out;
    }

    private static final byte[] ZERO_BYTE = new byte[1];
    private static final int[][] MARK_PAYLOAD = new int[3][];
    private static final int[][] MARK_FLAG = new int[3][];

    static {
        for (FloatFormat f : FloatFormat.values()) {
            int zero = 1 << f.exponentBits();
            int[] pay = new int[zero + 2];
            int[] flag = new int[zero + 2];
            for (int s = 0; s < zero; s++) {
                pay[s] = s << f.mantissaBits() | 1;
                flag[s] = 1;
            }
            pay[zero + 1] = 1 << (8 * f.width() - 1);
            MARK_PAYLOAD[f.ordinal()] = pay;
            MARK_FLAG[f.ordinal()] = flag;
        }
    }

    private static int[] markPayload(FloatFormat f) {
        return MARK_PAYLOAD[f.ordinal()];
    }

    private static int[] markFlag(FloatFormat f) {
        return MARK_FLAG[f.ordinal()];
    }

    /**
     * Replaces each marked element's marker (lowest bit 1: not ±0) with its sign and mantissa from
     * the next entry of the planes; the planes hold exactly {@code nz ≥ 1} entries, one per marked
     * element (the marks were counted). Branchless: every element reads the planes (clamped).
     */
    private static void merge(FloatFormat fmt, int count, byte[][] pl, int[] po, int[] ps, byte[] out, int p, int nz) {
        int last = nz - 1;
        if (nz == count) {
            mergeDense(fmt, count, pl, po, ps, out, p);
            return;
        }
        if (!mixedZeros(out, p, count, fmt.width(), 1)) {
            mergeRuns(fmt, count, pl, po, ps, out, p);
            return;
        }
        switch (fmt) {
            case BF16 -> {
                byte[] a = pl[0];
                int ao = po[0], as = ps[0];
                int i = 0, j = p, m = 0;
                if (as == -1) {
                    // Four elements at a time: the marked ones take the next plane bytes, deposited
                    // into their lanes with one pdep, while the 8-byte plane read is surely inside
                    // (m grows by at most 4 a group; counted batches, no check per group).
                    int room = a.length - 8 - ao;
                    while (i + 3 < count && m <= room) {
                        for (int end = i + 4 * Math.min((count - i) >> 2, (room - m) / 4 + 1); i < end; i += 4, j += 8) {
                            long four = (long) LONG_LE.get(out, j);
                            long marks = four & 0x0001_0001_0001_0001L;
                            long sm = Long.expand((long) LONG_LE.get(a, ao + m), marks * 0xff);
                            LONG_LE.set(out, j, four ^ marks | (sm & 0x0080_0080_0080_0080L) << 8 | sm & 0x007f_007f_007f_007fL);
                            m += Long.bitCount(marks);
                        }
                    }
                }
                for (; i < count; i++, j += 2) {
                    int v = (short) SHORT_LE.get(out, j);
                    int f = v & 1;
                    int sm = a[ao + (Math.min(m, last) & as)];
                    m += f;
                    SHORT_LE.set(out, j, (short) (v ^ f | (sm << 8 & 0x8000 | sm & 0x7f) & -f));
                }
            }
            case FP32 -> {
                byte[] a0 = pl[0], a1 = pl[1], a2 = pl[2];
                int o0 = po[0], o1 = po[1], o2 = po[2], s0 = ps[0], s1 = ps[1], s2 = ps[2];
                for (int i = 0, j = p, m = 0; i < count; i++, j += 4) {
                    int v = (int) INT_LE.get(out, j);
                    int f = v & 1;
                    int c = Math.min(m, last);
                    int top = a2[o2 + (c & s2)];
                    int sm = (top & 0x80) << 24 | (top & 0x7f) << 16 | (a1[o1 + (c & s1)] & 0xff) << 8 | (a0[o0 + (c & s0)] & 0xff);
                    m += f;
                    INT_LE.set(out, j, v ^ f | sm & -f);
                }
            }
            default -> { // FP16
                byte[] a0 = pl[0], a1 = pl[1];
                int o0 = po[0], o1 = po[1], s0 = ps[0], s1 = ps[1];
                int mb = fmt.mantissaBits();
                int mmask = (1 << mb) - 1;
                for (int i = 0, j = p, m = 0; i < count; i++, j += 2) {
                    int v = (short) SHORT_LE.get(out, j);
                    int f = v & 1;
                    int c = Math.min(m, last);
                    int sm = (a1[o1 + (c & s1)] & 0xff) << 8 | (a0[o0 + (c & s0)] & 0xff);
                    m += f;
                    SHORT_LE.set(out, j, (short) (v ^ f | ((sm >>> mb & 1) << 15 | sm & mmask) & -f));
                }
            }
        }
    }

    /**
     * {@link #merge} when ±0 comes in runs (Adam moments' dead units): a predicted branch per
     * element. The marks were counted, so the planes' {@code nz} entries are never overrun.
     */
    private static void mergeRuns(FloatFormat fmt, int count, byte[][] pl, int[] po, int[] ps, byte[] out, int p) {
        switch (fmt) {
            case BF16 -> {
                byte[] a = pl[0];
                int ao = po[0], as = ps[0];
                for (int i = 0, j = p, m = 0; i < count; i++, j += 2) {
                    int v = (short) SHORT_LE.get(out, j);
                    if ((v & 1) != 0) {
                        int sm = a[ao + (m++ & as)];
                        SHORT_LE.set(out, j, (short) (v ^ 1 | sm << 8 & 0x8000 | sm & 0x7f));
                    }
                }
            }
            case FP32 -> {
                byte[] a0 = pl[0], a1 = pl[1], a2 = pl[2];
                int o0 = po[0], o1 = po[1], o2 = po[2], s0 = ps[0], s1 = ps[1], s2 = ps[2];
                for (int i = 0, j = p, m = 0; i < count; i++, j += 4) {
                    int v = (int) INT_LE.get(out, j);
                    if ((v & 1) != 0) {
                        int top = a2[o2 + (m & s2)];
                        int sm = (top & 0x80) << 24 | (top & 0x7f) << 16 | (a1[o1 + (m & s1)] & 0xff) << 8 | (a0[o0 + (m & s0)] & 0xff);
                        m++;
                        INT_LE.set(out, j, v ^ 1 | sm);
                    }
                }
            }
            default -> { // FP16
                byte[] a0 = pl[0], a1 = pl[1];
                int o0 = po[0], o1 = po[1], s0 = ps[0], s1 = ps[1];
                int mb = fmt.mantissaBits();
                int mmask = (1 << mb) - 1;
                for (int i = 0, j = p, m = 0; i < count; i++, j += 2) {
                    int v = (short) SHORT_LE.get(out, j);
                    if ((v & 1) != 0) {
                        int sm = (a1[o1 + (m & s1)] & 0xff) << 8 | (a0[o0 + (m & s0)] & 0xff);
                        m++;
                        SHORT_LE.set(out, j, (short) (v ^ 1 | (sm >>> mb & 1) << 15 | sm & mmask));
                    }
                }
            }
        }
    }

    /** {@link #merge} when no element is ±0 (every element marked): plane entry i goes to element i. */
    private static void mergeDense(FloatFormat fmt, int count, byte[][] pl, int[] po, int[] ps, byte[] out, int p) {
        switch (fmt) {
            case BF16 -> {
                byte[] a = pl[0];
                int ao = po[0], as = ps[0];
                for (int i = 0, j = p; i < count; i++, j += 2) {
                    int sm = a[ao + (i & as)];
                    SHORT_LE.set(out, j, (short) ((short) SHORT_LE.get(out, j) ^ 1 | sm << 8 & 0x8000 | sm & 0x7f));
                }
            }
            case FP32 -> {
                byte[] a0 = pl[0], a1 = pl[1], a2 = pl[2];
                int o0 = po[0], o1 = po[1], o2 = po[2], s0 = ps[0], s1 = ps[1], s2 = ps[2];
                for (int i = 0, j = p; i < count; i++, j += 4) {
                    int top = a2[o2 + (i & s2)];
                    int sm = (top & 0x80) << 24 | (top & 0x7f) << 16 | (a1[o1 + (i & s1)] & 0xff) << 8 | (a0[o0 + (i & s0)] & 0xff);
                    INT_LE.set(out, j, (int) INT_LE.get(out, j) ^ 1 | sm);
                }
            }
            default -> { // FP16
                byte[] a0 = pl[0], a1 = pl[1];
                int o0 = po[0], o1 = po[1], s0 = ps[0], s1 = ps[1];
                int mb = fmt.mantissaBits();
                int mmask = (1 << mb) - 1;
                for (int i = 0, j = p; i < count; i++, j += 2) {
                    int sm = (a1[o1 + (i & s1)] & 0xff) << 8 | (a0[o0 + (i & s0)] & 0xff);
                    SHORT_LE.set(out, j, (short) ((short) SHORT_LE.get(out, j) ^ 1 | (sm >>> mb & 1) << 15 | sm & mmask));
                }
            }
        }
    }

    private static CorruptDataException corrupt(String what, String expected, String actual) {
        return new CorruptDataException(what, expected, actual);
    }
}
