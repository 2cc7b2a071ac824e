package dev.strata.core.codec;

import dev.strata.core.CorruptDataException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Static order-0 rANS (range asymmetric numeral systems) with 4 interleaved states, 63-bit states,
 * 12-bit probabilities and 32-bit renormalisation (docs/format.md, "rANS streams"). Symbol i is
 * coded by state i mod 4, so the decoder has 4 independent dependency chains.
 *
 * <p>Stream: u16 S (symbols present), S × (u16 symbol, u16 frequency) with symbols strictly
 * increasing and frequencies summing to 4096, 4 × u64 final encoder states (lane 0 first), then
 * the 32-bit words (little-endian) in the order the decoder reads them. An empty input is an
 * empty stream. All integers little-endian.
 *
 * <p>Decoding trusts nothing: the table is validated (ranges, order, sum), every state must lie in
 * [2^31, 2^63), each symbol reads at most one word and every read is bounds-checked (the 4-symbol
 * loop runs only while the group's at most 4 words are surely present), and at the end all four
 * states must be back at 2^31 with every word consumed. Invalid input is a
 * {@link CorruptDataException}, in time linear in the symbol count.
 *
 * <p>Speed (decision 0015): one table lookup per decoded symbol (a {@code long} per slot holding
 * frequency, slot − cumulative, and the caller's payload for the symbol, e.g. its output bits),
 * the table allocated by the decoding method itself so that the JIT drops the bounds checks of the
 * masked lookups. Measured and kept as a branch: the renormalisation (branchless variants, which
 * always read a word, ran 15–25% slower on the development machine), 4 lanes (8 lanes spill).
 */
final class Rans {
    static final int PROB_BITS = 12;
    static final int PROB_SCALE = 1 << PROB_BITS;
    static final int LANES = 4;
    /** States live in [L, 2^63); renormalisation moves 32 bits. */
    private static final long L = 1L << 31;
    private static final int STATE_BITS = 63;
    private static final long MASK = PROB_SCALE - 1;
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private Rans() {}

    /** Bytes of the table for {@code present} symbols. */
    static int tableLength(int present) {
        return 2 + 4 * present;
    }

    /**
     * Estimated stream length (bytes) for symbols with these counts: order-0 entropy plus the table
     * and states. Used to decide whether coding pays before coding.
     */
    static long estimate(int[] counts, int n) {
        return estimate(counts, n, 1);
    }

    /** {@link #estimate(int[], int)} for a sample standing for {@code scale} times as many symbols. */
    static long estimate(int[] counts, int n, double scale) {
        if (n == 0) {
            return 0;
        }
        double bits = 0;
        int present = 0;
        for (int c : counts) {
            if (c > 0) {
                present++;
                bits -= c * Math.log((double) c / n);
            }
        }
        return (long) Math.ceil(bits * scale / Math.log(2) / 8 * 1.003) + tableLength(present) + 8 * LANES + 4;
    }

    /** Order-0 entropy of symbols with these counts, in bytes (no table, no states). */
    static double entropyBytes(int[] counts, int n) {
        double bits = 0;
        for (int c : counts) {
            if (c > 0) {
                bits -= c * Math.log((double) c / n);
            }
        }
        return bits / Math.log(2) / 8;
    }

    /** Frequencies summing to {@link #PROB_SCALE}, at least 1 for every symbol with a count. */
    static int[] normalize(int[] counts, int n) {
        int[] f = new int[counts.length];
        int sum = 0;
        int largest = -1;
        for (int s = 0; s < counts.length; s++) {
            if (counts[s] > 0) {
                f[s] = (int) Math.max(1, Math.round((double) counts[s] * PROB_SCALE / n));
                sum += f[s];
                if (largest < 0 || f[s] > f[largest]) {
                    largest = s;
                }
            }
        }
        // Fix the rounding: take from (or give to) the largest frequencies, which costs least.
        while (sum != PROB_SCALE) {
            if (sum < PROB_SCALE) {
                f[largest] += PROB_SCALE - sum;
                sum = PROB_SCALE;
            } else {
                int best = -1;
                for (int s = 0; s < f.length; s++) {
                    if (f[s] > 1 && (best < 0 || f[s] > f[best])) {
                        best = s;
                    }
                }
                int take = Math.min(sum - PROB_SCALE, Math.max(1, f[best] / 4));
                take = Math.min(take, f[best] - 1);
                f[best] -= take;
                sum -= take;
            }
        }
        return f;
    }

    /** Encodes {@code syms[0..n)} (each below {@code counts.length}, counted in {@code counts}). */
    static byte[] encode(short[] syms, int n, int[] counts) {
        return encode(syms, null, n, counts);
    }

    /** Encodes {@code bytes[0..n)} as unsigned symbols (counted in {@code counts}, length 256). */
    static byte[] encode(byte[] bytes, int n, int[] counts) {
        return encode(null, bytes, n, counts);
    }

    private static byte[] encode(short[] syms, byte[] bytes, int n, int[] counts) {
        if (n == 0) {
            return new byte[0];
        }
        int[] f = normalize(counts, n);
        int a = f.length;
        int present = 0;
        int[] fc = new int[a]; // freq << 16 | cum
        long[] rcp = new long[a];
        int[] shift = new int[a];
        int cum = 0;
        for (int s = 0; s < a; s++) {
            if (f[s] > 0) {
                present++;
                fc[s] = f[s] << 16 | cum;
                // floor(x / f) = unsignedMultiplyHigh(x, rcp) >>> shift for x < 2^63, with
                // k = floor(log2 f) and rcp = ceil(2^(64+k) / f) (a power of two uses k - 1 and
                // rcp = 2^63, exactly). f = 1 is handled apart (q = x).
                int k = 31 - Integer.numberOfLeadingZeros(f[s]);
                if (f[s] == 1) {
                    rcp[s] = 0;
                } else if (Integer.bitCount(f[s]) == 1) {
                    rcp[s] = 1L << 63;
                    shift[s] = k - 1;
                } else {
                    // ceil(2^(64+k) / f) = floor((2^(64+k) - 1) / f) + 1, computed as a 128-by-64 division.
                    rcp[s] = divide128(k, f[s]) + 1;
                    shift[s] = k;
                }
                cum += f[s];
            }
        }
        int head = tableLength(present) + 8 * LANES;
        // At most one 4-byte word per symbol.
        byte[] buf = new byte[head + 4 * n];
        int pos = buf.length;
        long x0 = L, x1 = L, x2 = L, x3 = L;
        int i = n - 1;
        // The symbols after the last multiple of 4 first (reverse order), then 4 at a time.
        for (; (i & 3) != 3; i--) {
            int s = syms != null ? syms[i] : bytes[i] & 0xff;
            long v = switch (i & 3) { case 0 -> x0; case 1 -> x1; default -> x2; };
            int e = fc[s];
            int freq = e >>> 16;
            if (v > ((long) freq << (STATE_BITS - PROB_BITS)) - 1) {
                pos -= 4;
                INT_LE.set(buf, pos, (int) v);
                v >>>= 32;
            }
            long q = freq == 1 ? v : Math.unsignedMultiplyHigh(v, rcp[s]) >>> shift[s];
            v = v + (e & 0xffff) + q * (PROB_SCALE - freq);
            switch (i & 3) { case 0 -> x0 = v; case 1 -> x1 = v; default -> x2 = v; }
        }
        for (; i >= 0; i -= 4) {
            int s3, s2, s1, s0;
            if (syms != null) {
                s3 = syms[i]; s2 = syms[i - 1]; s1 = syms[i - 2]; s0 = syms[i - 3];
            } else {
                s3 = bytes[i] & 0xff; s2 = bytes[i - 1] & 0xff; s1 = bytes[i - 2] & 0xff; s0 = bytes[i - 3] & 0xff;
            }
            int e;
            int freq;
            long q;
            // x_max = freq << 51, minus one so that freq = 4096 (one symbol: 2^63) needs no unsigned compare.
            e = fc[s3]; freq = e >>> 16;
            if (x3 > ((long) freq << (STATE_BITS - PROB_BITS)) - 1) { pos -= 4; INT_LE.set(buf, pos, (int) x3); x3 >>>= 32; }
            q = freq == 1 ? x3 : Math.unsignedMultiplyHigh(x3, rcp[s3]) >>> shift[s3];
            x3 = x3 + (e & 0xffff) + q * (PROB_SCALE - freq);
            e = fc[s2]; freq = e >>> 16;
            if (x2 > ((long) freq << (STATE_BITS - PROB_BITS)) - 1) { pos -= 4; INT_LE.set(buf, pos, (int) x2); x2 >>>= 32; }
            q = freq == 1 ? x2 : Math.unsignedMultiplyHigh(x2, rcp[s2]) >>> shift[s2];
            x2 = x2 + (e & 0xffff) + q * (PROB_SCALE - freq);
            e = fc[s1]; freq = e >>> 16;
            if (x1 > ((long) freq << (STATE_BITS - PROB_BITS)) - 1) { pos -= 4; INT_LE.set(buf, pos, (int) x1); x1 >>>= 32; }
            q = freq == 1 ? x1 : Math.unsignedMultiplyHigh(x1, rcp[s1]) >>> shift[s1];
            x1 = x1 + (e & 0xffff) + q * (PROB_SCALE - freq);
            e = fc[s0]; freq = e >>> 16;
            if (x0 > ((long) freq << (STATE_BITS - PROB_BITS)) - 1) { pos -= 4; INT_LE.set(buf, pos, (int) x0); x0 >>>= 32; }
            q = freq == 1 ? x0 : Math.unsignedMultiplyHigh(x0, rcp[s0]) >>> shift[s0];
            x0 = x0 + (e & 0xffff) + q * (PROB_SCALE - freq);
        }
        long[] x = {x0, x1, x2, x3};
        int words = buf.length - pos;
        byte[] out = new byte[head + words];
        int o = 0;
        putU16(out, o, present);
        o += 2;
        for (int s = 0; s < a; s++) {
            if (f[s] > 0) {
                putU16(out, o, s);
                putU16(out, o + 2, f[s]);
                o += 4;
            }
        }
        for (int lane = 0; lane < LANES; lane++) {
            LONG_LE.set(out, o + 8 * lane, x[lane]);
        }
        System.arraycopy(buf, pos, out, head, words);
        return out;
    }

    /** floor((2^(64+k) - 1) / d) for 0 <= k < 12 and 2^k < d < 2^(k+1): fits in 64 bits. */
    private static long divide128(int k, int d) {
        // Numerator: high = 2^k - 1, low = 2^64 - 1. Long division by a small d, 32 bits at a time.
        long hi = (1L << k) - 1;
        long r = hi % d;
        long q1 = hi / d; // 0, since hi < d
        long part = r << 32 | 0xffffffffL;
        long qa = part / d;
        r = part % d;
        part = r << 32 | 0xffffffffL;
        long qb = part / d;
        if (q1 != 0) {
            throw new AssertionError();
        }
        return qa << 32 | qb;
    }

    /**
     * Fills {@code t} (length {@link #PROB_SCALE}; kernels allocate it themselves so that the JIT
     * knows its length and drops the bounds checks of the masked lookups) with one entry per slot,
     * a single lookup per symbol: frequency << 51 | flag << 48 | payload << 16 | (slot −
     * cumulative), where payload (32 bits) and flag (0 or 1) are the caller's per-symbol values
     * ({@link #decodeElements} counts the flags).
     */
    private static void table(byte[] in, int off, int len, int alphabet, int[] payload, int[] flag, long[] t) {
        if (len < 2) {
            throw corrupt("rANS table", "at least 2 bytes", len + " bytes");
        }
        int present = u16(in, off);
        if (present < 1 || present > alphabet) {
            throw corrupt("rANS symbol count", "1.." + alphabet, Integer.toString(present));
        }
        int head = tableLength(present) + 8 * LANES;
        if (len < head) {
            throw corrupt("rANS stream header", "at least " + head + " bytes", len + " bytes");
        }
        int cum = 0;
        int prev = -1;
        for (int k = 0, p = off + 2; k < present; k++, p += 4) {
            int s = u16(in, p);
            int f = u16(in, p + 2);
            if (s <= prev || s >= alphabet) {
                throw corrupt("rANS symbol", "increasing and below " + alphabet, Integer.toString(s));
            }
            if (f < 1 || f > PROB_SCALE - cum) {
                throw corrupt("rANS frequency of symbol " + s, "1.." + (PROB_SCALE - cum), Integer.toString(f));
            }
            long v = (long) f << 51 | (payload == null ? s : payload[s] & 0xffffffffL) << 16 | (flag == null ? 0 : (long) flag[s] << 48);
            for (int slot = cum; slot < cum + f; slot++) {
                t[slot] = v | (slot - cum);
            }
            cum += f;
            prev = s;
        }
        if (cum != PROB_SCALE) {
            throw corrupt("rANS frequency sum", Integer.toString(PROB_SCALE), Integer.toString(cum));
        }
    }

    /** The four initial states of a stream whose table was read by {@link #table}, checked. */
    private static long[] states(byte[] in, int off) {
        int p = off + tableLength(u16(in, off));
        long x0 = (long) LONG_LE.get(in, p), x1 = (long) LONG_LE.get(in, p + 8), x2 = (long) LONG_LE.get(in, p + 16), x3 = (long) LONG_LE.get(in, p + 24);
        // In [2^31, 2^63): at least L and not negative as a signed long.
        if (x0 < L || x1 < L || x2 < L || x3 < L) {
            throw corrupt("rANS initial state", "in [2^31, 2^63)", x0 + ", " + x1 + ", " + x2 + ", " + x3);
        }
        return new long[] {x0, x1, x2, x3};
    }

    private static void checkEnd(long x0, long x1, long x2, long x3, int pos, int end) {
        if (x0 != L || x1 != L || x2 != L || x3 != L) {
            throw corrupt("rANS final state", "2^31 in every lane", x0 + ", " + x1 + ", " + x2 + ", " + x3);
        }
        if (pos != end) {
            throw corrupt("rANS stream length", "every word consumed", (end - pos) + " bytes left");
        }
    }

    /** Decodes exactly {@code n} byte symbols into {@code out[0..n)}. */
    static void decode(byte[] in, int off, int len, int n, byte[] out) {
        if (n == 0) {
            if (len != 0) {
                throw corrupt("rANS stream for no symbols", "0 bytes", len + " bytes");
            }
            return;
        }
        long[] t = new long[PROB_SCALE];
        table(in, off, len, 256, null, null, t);
        long[] x = states(in, off);
        long x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        int pos = off + tableLength(u16(in, off)) + 8 * LANES;
        int end = off + len;
        int i = 0;
        // Unchecked reads while the next group's (at most 4) words are surely in the stream:
        // counted batches of groups, no position check per group (A/B in one JVM: DELTA residuals
        // decode 16-25 % faster).
        while (i + 3 < n && pos <= end - 16) {
            for (int stop = i + 4 * Math.min((n - i) >> 2, (end - 16 - pos) / 16 + 1); i < stop; i += 4) {
                long e0 = t[(int) x0 & (int) MASK], e1 = t[(int) x1 & (int) MASK], e2 = t[(int) x2 & (int) MASK], e3 = t[(int) x3 & (int) MASK];
                x0 = (e0 >>> 51) * (x0 >>> PROB_BITS) + (e0 & MASK);
                x1 = (e1 >>> 51) * (x1 >>> PROB_BITS) + (e1 & MASK);
                x2 = (e2 >>> 51) * (x2 >>> PROB_BITS) + (e2 & MASK);
                x3 = (e3 >>> 51) * (x3 >>> PROB_BITS) + (e3 & MASK);
                // 32-bit renormalisation, about once in 12 symbols per lane at 2.6 bits per symbol (a
                // branch: measured faster than the branchless form, whose extra work costs more here
                // than the mispredictions).
                if (x0 < L) { x0 = x0 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x1 < L) { x1 = x1 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x2 < L) { x2 = x2 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x3 < L) { x3 = x3 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                INT_LE.set(out, i, (int) (e0 >>> 16 & 0xff) | (int) (e1 >>> 16 & 0xff) << 8 | (int) (e2 >>> 16 & 0xff) << 16 | (int) (e3 >>> 16 & 0xff) << 24);
            }
        }
        for (; i < n; i++) {
            long xi = switch (i & 3) { case 0 -> x0; case 1 -> x1; case 2 -> x2; default -> x3; };
            long e = t[(int) (xi & MASK)];
            xi = (e >>> 51) * (xi >>> PROB_BITS) + (e & MASK);
            if (xi < L) { if (pos + 4 > end) throw overrun(); xi = xi << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            out[i] = (byte) (e >>> 16);
            switch (i & 3) { case 0 -> x0 = xi; case 1 -> x1 = xi; case 2 -> x2 = xi; default -> x3 = xi; }
        }
        checkEnd(x0, x1, x2, x3, pos, end);
    }

    /**
     * Decodes exactly {@code n} symbols below {@code alphabet} as elements of {@code width} (2 or
     * 4) bytes: element i, written little-endian at {@code out[outPos + width·i]}, is
     * {@code payload[s]} of its symbol s. Returns the sum of {@code flag[s]} (each 0 or 1) over
     * the elements. Same stream checks as {@link #decode}.
     */
    static int decodeElements(byte[] in, int off, int len, int n, int alphabet, int[] payload, int[] flag, int width, byte[] out, int outPos) {
        if (n == 0) {
            if (len != 0) {
                throw corrupt("rANS stream for no symbols", "0 bytes", len + " bytes");
            }
            return 0;
        }
        long[] t = new long[PROB_SCALE];
        table(in, off, len, alphabet, payload, flag, t);
        long[] x = states(in, off);
        long x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        int pos = off + tableLength(u16(in, off)) + 8 * LANES;
        int end = off + len;
        int i = 0;
        long flags = 0;
        int j = outPos;
        while (i + 3 < n && pos <= end - 16) {
            for (int stop = i + 4 * Math.min((n - i) >> 2, (end - 16 - pos) / 16 + 1); i < stop; i += 4) {
                long e0 = t[(int) x0 & (int) MASK], e1 = t[(int) x1 & (int) MASK], e2 = t[(int) x2 & (int) MASK], e3 = t[(int) x3 & (int) MASK];
                x0 = (e0 >>> 51) * (x0 >>> PROB_BITS) + (e0 & MASK);
                x1 = (e1 >>> 51) * (x1 >>> PROB_BITS) + (e1 & MASK);
                x2 = (e2 >>> 51) * (x2 >>> PROB_BITS) + (e2 & MASK);
                x3 = (e3 >>> 51) * (x3 >>> PROB_BITS) + (e3 & MASK);
                // 32-bit renormalisation, about once in 12 symbols per lane at 2.6 bits per symbol (a
                // branch: measured faster than the branchless form, whose extra work costs more here
                // than the mispredictions).
                if (x0 < L) { x0 = x0 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x1 < L) { x1 = x1 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x2 < L) { x2 = x2 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x3 < L) { x3 = x3 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                flags += (e0 >>> 48 & 1) + (e1 >>> 48 & 1) + (e2 >>> 48 & 1) + (e3 >>> 48 & 1);
                if (width == 2) {
                    LONG_LE.set(out, j, e0 >>> 16 & 0xffff | (e1 >>> 16 & 0xffff) << 16 | (e2 >>> 16 & 0xffff) << 32 | e3 >>> 16 << 48);
                    j += 8;
                } else {
                    LONG_LE.set(out, j, e0 >>> 16 & 0xffffffffL | e1 >>> 16 << 32);
                    LONG_LE.set(out, j + 8, e2 >>> 16 & 0xffffffffL | e3 >>> 16 << 32);
                    j += 16;
                }
            }
        }
        for (; i < n; i++, j += width) {
            long xi = switch (i & 3) { case 0 -> x0; case 1 -> x1; case 2 -> x2; default -> x3; };
            long e = t[(int) (xi & MASK)];
            xi = (e >>> 51) * (xi >>> PROB_BITS) + (e & MASK);
            if (xi < L) { if (pos + 4 > end) throw overrun(); xi = xi << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            flags += e >>> 48 & 1;
            if (width == 2) {
                SHORT_LE.set(out, j, (short) (e >>> 16));
            } else {
                INT_LE.set(out, j, (int) (e >>> 16));
            }
            switch (i & 3) { case 0 -> x0 = xi; case 1 -> x1 = xi; case 2 -> x2 = xi; default -> x3 = xi; }
        }
        checkEnd(x0, x1, x2, x3, pos, end);
        return (int) flags;
    }

    /**
     * BF16 fast path: decodes the {@code n} exponent symbols (alphabet 258: 256 = +0, 257 = −0) and
     * writes each element straight into {@code out} at {@code outPos + 2i}, taking the sign/mantissa
     * byte of each element that is not ±0 from {@code plane[planeOff + m]} (m counting those
     * elements; a zero plane is passed as a 1-byte zero array with {@code planeLen} 1). Reads are
     * clamped to the plane; returns m, which the caller checks against the plane's length. Same
     * stream checks as {@link #decode}.
     */
    static int decodeBf16(byte[] in, int off, int len, int n, byte[] plane, int planeOff, int planeLen, byte[] out, int outPos) {
        if (n == 0) {
            if (len != 0) {
                throw corrupt("rANS stream for no symbols", "0 bytes", len + " bytes");
            }
            return 0;
        }
        long[] t = new long[PROB_SCALE];
        table(in, off, len, 258, BF16_PAYLOAD, BF16_FLAG, t);
        long[] x = states(in, off);
        long x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3];
        int pos = off + tableLength(u16(in, off)) + 8 * LANES;
        int end = off + len;
        int lim = planeOff + planeLen - 1; // reads are clamped here; the count tells the truth
        int m = planeOff;
        int j = outPos;
        int i = 0;
        if (planeLen == n) {
            // Dense (no ±0 expected, the weights' case): element i takes plane byte i, no clamping;
            // the flags are only counted (a ±0 makes the count fall short of the plane's length).
            long flags = 0;
            while (i + 3 < n && pos <= end - 16) {
                for (int stop = i + 4 * Math.min((n - i) >> 2, (end - 16 - pos) / 16 + 1); i < stop; i += 4, j += 8) {
                    long e0 = t[(int) x0 & (int) MASK], e1 = t[(int) x1 & (int) MASK], e2 = t[(int) x2 & (int) MASK], e3 = t[(int) x3 & (int) MASK];
                    x0 = (e0 >>> 51) * (x0 >>> PROB_BITS) + (e0 & MASK);
                    x1 = (e1 >>> 51) * (x1 >>> PROB_BITS) + (e1 & MASK);
                    x2 = (e2 >>> 51) * (x2 >>> PROB_BITS) + (e2 & MASK);
                    x3 = (e3 >>> 51) * (x3 >>> PROB_BITS) + (e3 & MASK);
                    if (x0 < L) { x0 = x0 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                    if (x1 < L) { x1 = x1 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                    if (x2 < L) { x2 = x2 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                    if (x3 < L) { x3 = x3 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                    flags += (e0 >>> 48 & 1) + (e1 >>> 48 & 1) + (e2 >>> 48 & 1) + (e3 >>> 48 & 1);
                    // Four plane bytes at once: bit 7 of each is the sign, bits 0..6 the mantissa.
                    long sm = (int) INT_LE.get(plane, planeOff + i) & 0xffffffffL;
                    long spread = (sm & 0xff) | (sm & 0xff00) << 8 | (sm & 0xff0000) << 16 | (sm & 0xff000000L) << 24;
                    long bits = (spread & 0x0080_0080_0080_0080L) << 8 | spread & 0x007f_007f_007f_007fL;
                    long pay = e0 >>> 16 & 0xffff | (e1 >>> 16 & 0xffff) << 16 | (e2 >>> 16 & 0xffff) << 32 | e3 >>> 16 << 48;
                    // A ±0 (flag 0) keeps its payload alone; its plane byte is not its own, but then the
                    // count is short and the caller rejects the stream anyway.
                    LONG_LE.set(out, j, pay | bits);
                }
            }
            // The tail goes on with clamped reads from the next unread plane byte.
            m = planeOff + (int) flags;
        }
        while (i + 3 < n && pos <= end - 16) {
            for (int stop = i + 4 * Math.min((n - i) >> 2, (end - 16 - pos) / 16 + 1); i < stop; i += 4, j += 8) {
                long e0 = t[(int) x0 & (int) MASK], e1 = t[(int) x1 & (int) MASK], e2 = t[(int) x2 & (int) MASK], e3 = t[(int) x3 & (int) MASK];
                x0 = (e0 >>> 51) * (x0 >>> PROB_BITS) + (e0 & MASK);
                x1 = (e1 >>> 51) * (x1 >>> PROB_BITS) + (e1 & MASK);
                x2 = (e2 >>> 51) * (x2 >>> PROB_BITS) + (e2 & MASK);
                x3 = (e3 >>> 51) * (x3 >>> PROB_BITS) + (e3 & MASK);
                // 32-bit renormalisation, about once in 12 symbols per lane at 2.6 bits per symbol (a
                // branch: measured faster than the branchless form, whose extra work costs more here
                // than the mispredictions).
                if (x0 < L) { x0 = x0 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x1 < L) { x1 = x1 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x2 < L) { x2 = x2 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                if (x3 < L) { x3 = x3 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
                // Branchless merge: the flag (bit 48) says "not ±0"; such an element takes the next plane byte.
                int f0 = (int) (e0 >>> 48) & 1, f1 = (int) (e1 >>> 48) & 1, f2 = (int) (e2 >>> 48) & 1, f3 = (int) (e3 >>> 48) & 1;
                int sm;
                sm = plane[Math.min(m, lim)]; m += f0; long v0 = e0 >>> 16 & 0xffff | (long) ((sm << 8 & 0x8000 | sm & 0x7f) & -f0);
                sm = plane[Math.min(m, lim)]; m += f1; long v1 = e1 >>> 16 & 0xffff | (long) ((sm << 8 & 0x8000 | sm & 0x7f) & -f1);
                sm = plane[Math.min(m, lim)]; m += f2; long v2 = e2 >>> 16 & 0xffff | (long) ((sm << 8 & 0x8000 | sm & 0x7f) & -f2);
                sm = plane[Math.min(m, lim)]; m += f3; long v3 = e3 >>> 16 & 0xffff | (long) ((sm << 8 & 0x8000 | sm & 0x7f) & -f3);
                LONG_LE.set(out, j, v0 | v1 << 16 | v2 << 32 | v3 << 48);
            }
        }
        for (; i < n; i++, j += 2) {
            long xi = switch (i & 3) { case 0 -> x0; case 1 -> x1; case 2 -> x2; default -> x3; };
            long e = t[(int) (xi & MASK)];
            xi = (e >>> 51) * (xi >>> PROB_BITS) + (e & MASK);
            if (xi < L) { if (pos + 4 > end) throw overrun(); xi = xi << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            int f = (int) (e >>> 48) & 1;
            int sm = plane[Math.min(m, lim)];
            m += f;
            SHORT_LE.set(out, j, (short) ((int) (e >>> 16) & 0xffff | (sm << 8 & 0x8000 | sm & 0x7f) & -f));
            switch (i & 3) { case 0 -> x0 = xi; case 1 -> x1 = xi; case 2 -> x2 = xi; default -> x3 = xi; }
        }
        checkEnd(x0, x1, x2, x3, pos, end);
        return m - planeOff;
    }

    /** BF16 exponent symbols as output bits: e << 7 for an exponent, the sign bit for ±0. */
    private static final int[] BF16_PAYLOAD = new int[258];
    private static final int[] BF16_FLAG = new int[258];

    static {
        for (int s = 0; s < 256; s++) {
            BF16_PAYLOAD[s] = s << 7;
            BF16_FLAG[s] = 1;
        }
        BF16_PAYLOAD[257] = 0x8000;
    }

    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private static CorruptDataException overrun() {
        return corrupt("rANS stream", "enough words for every symbol", "the end of the stream");
    }

    private static CorruptDataException corrupt(String what, String expected, String actual) {
        return new CorruptDataException(what, expected, actual);
    }

    static int u16(byte[] b, int at) {
        return (b[at] & 0xff) | (b[at + 1] & 0xff) << 8;
    }

    static long u32(byte[] b, int at) {
        return (b[at] & 0xffL) | (b[at + 1] & 0xffL) << 8 | (b[at + 2] & 0xffL) << 16 | (b[at + 3] & 0xffL) << 24;
    }

    static void putU16(byte[] b, int at, int v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
    }

    static void putU32(byte[] b, int at, long v) {
        b[at] = (byte) v;
        b[at + 1] = (byte) (v >>> 8);
        b[at + 2] = (byte) (v >>> 16);
        b[at + 3] = (byte) (v >>> 24);
    }
}
