package dev.strata.core.codec;

import dev.strata.core.CorruptDataException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * Static order-0 rANS (range asymmetric numeral systems) with 4 interleaved states, 32-bit states,
 * 12-bit probabilities and 16-bit renormalisation (docs/format.md, "rANS streams"). Symbol i is
 * coded by state i mod 4, so the decoder has 4 independent dependency chains.
 *
 * <p>Stream: u16 S (symbols present), S × (u16 symbol, u16 frequency) with symbols strictly
 * increasing and frequencies summing to 4096, 4 × u32 final encoder states (lane 0 first), then
 * the 16-bit words (little-endian) in the order the decoder reads them. An empty input is an
 * empty stream. All integers little-endian.
 *
 * <p>Decoding trusts nothing: the table is validated (ranges, order, sum), every state must lie in
 * [2^16, 2^32), each symbol reads at most one word and every read is bounds-checked, and at the end
 * all four states must be back at 2^16 with every word consumed. Invalid input is a
 * {@link CorruptDataException}, in time linear in the symbol count.
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
        return (long) Math.ceil(bits / Math.log(2) / 8 * 1.003) + tableLength(present) + 8 * LANES + 4;
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

    /** Decoding tables: per slot, frequency << 12 | (slot - cumulative), and the symbol. */
    private record Tables(int[] dec, short[] sym, int headLength) {}

    private static Tables tables(byte[] in, int off, int len, int alphabet) {
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
        int[] dec = new int[PROB_SCALE];
        short[] sym = new short[PROB_SCALE];
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
            for (int slot = cum; slot < cum + f; slot++) {
                dec[slot] = f << PROB_BITS | (slot - cum);
                sym[slot] = (short) s;
            }
            cum += f;
            prev = s;
        }
        if (cum != PROB_SCALE) {
            throw corrupt("rANS frequency sum", Integer.toString(PROB_SCALE), Integer.toString(cum));
        }
        return new Tables(dec, sym, head);
    }

    /** Decodes exactly {@code n} symbols below {@code alphabet} into {@code out[0..n)}. */
    static void decode(byte[] in, int off, int len, int n, int alphabet, short[] out) {
        decode(in, off, len, n, alphabet, out, null);
    }

    /** Decodes exactly {@code n} byte symbols into {@code out[0..n)}. */
    static void decode(byte[] in, int off, int len, int n, byte[] out) {
        decode(in, off, len, n, 256, null, out);
    }

    private static void decode(byte[] in, int off, int len, int n, int alphabet, short[] outS, byte[] outB) {
        if (n == 0) {
            if (len != 0) {
                throw corrupt("rANS stream for no symbols", "0 bytes", len + " bytes");
            }
            return;
        }
        Tables t = tables(in, off, len, alphabet);
        int[] dec = t.dec;
        short[] sym = t.sym;
        int p = off + t.headLength - 8 * LANES;
        long x0 = (long) LONG_LE.get(in, p), x1 = (long) LONG_LE.get(in, p + 8), x2 = (long) LONG_LE.get(in, p + 16), x3 = (long) LONG_LE.get(in, p + 24);
        // In [2^31, 2^63): at least L and not negative as a signed long.
        if (x0 < L || x1 < L || x2 < L || x3 < L) {
            throw corrupt("rANS initial state", "in [2^31, 2^63)", x0 + ", " + x1 + ", " + x2 + ", " + x3);
        }
        int pos = off + t.headLength;
        int end = off + len;
        int i = 0;
        int e;
        int slot;
        for (; i + 3 < n; i += 4) {
            slot = (int) (x0 & MASK); e = dec[slot];
            x0 = (e >>> PROB_BITS) * (x0 >>> PROB_BITS) + (e & MASK);
            int s0 = sym[slot];
            slot = (int) (x1 & MASK); e = dec[slot];
            x1 = (e >>> PROB_BITS) * (x1 >>> PROB_BITS) + (e & MASK);
            int s1 = sym[slot];
            slot = (int) (x2 & MASK); e = dec[slot];
            x2 = (e >>> PROB_BITS) * (x2 >>> PROB_BITS) + (e & MASK);
            int s2 = sym[slot];
            slot = (int) (x3 & MASK); e = dec[slot];
            x3 = (e >>> PROB_BITS) * (x3 >>> PROB_BITS) + (e & MASK);
            int s3 = sym[slot];
            // 32-bit renormalisation: taken about once in 12 symbols per lane at 2.6 bits per symbol.
            if (x0 < L) { if (pos + 4 > end) throw overrun(); x0 = x0 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            if (x1 < L) { if (pos + 4 > end) throw overrun(); x1 = x1 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            if (x2 < L) { if (pos + 4 > end) throw overrun(); x2 = x2 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            if (x3 < L) { if (pos + 4 > end) throw overrun(); x3 = x3 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            if (outS != null) {
                outS[i] = (short) s0; outS[i + 1] = (short) s1; outS[i + 2] = (short) s2; outS[i + 3] = (short) s3;
            } else {
                outB[i] = (byte) s0; outB[i + 1] = (byte) s1; outB[i + 2] = (byte) s2; outB[i + 3] = (byte) s3;
            }
        }
        for (; i < n; i++) {
            long x = switch (i & 3) { case 0 -> x0; case 1 -> x1; case 2 -> x2; default -> x3; };
            slot = (int) (x & MASK); e = dec[slot];
            x = (e >>> PROB_BITS) * (x >>> PROB_BITS) + (e & MASK);
            if (x < L) { if (pos + 4 > end) throw overrun(); x = x << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            if (outS != null) {
                outS[i] = sym[slot];
            } else {
                outB[i] = (byte) sym[slot];
            }
            switch (i & 3) { case 0 -> x0 = x; case 1 -> x1 = x; case 2 -> x2 = x; default -> x3 = x; }
        }
        if (x0 != L || x1 != L || x2 != L || x3 != L) {
            throw corrupt("rANS final state", "2^31 in every lane", x0 + ", " + x1 + ", " + x2 + ", " + x3);
        }
        if (pos != end) {
            throw corrupt("rANS stream length", "every word consumed", (end - pos) + " bytes left");
        }
    }

    /**
     * BF16 fast path: decodes the {@code n} exponent symbols (alphabet 258: 256 = +0, 257 = −0) and
     * writes each element straight into {@code out} at {@code outPos + 2i}, taking the sign/mantissa
     * byte of each element that is not ±0 from {@code plane[planeOff + m]} (m counting those
     * elements; a zero plane is passed as a 1-byte zero array with {@code planeLen} 1 and
     * {@code counted} false). Reads are clamped to the plane; returns m, which the caller checks
     * against the plane's length. Same stream checks as {@link #decode}.
     */
    static int decodeBf16(byte[] in, int off, int len, int n, byte[] plane, int planeOff, int planeLen, byte[] out, int outPos) {
        if (n == 0) {
            if (len != 0) {
                throw corrupt("rANS stream for no symbols", "0 bytes", len + " bytes");
            }
            return 0;
        }
        Tables t = tables(in, off, len, 258);
        int[] dec = t.dec;
        short[] sym = t.sym;
        int p = off + t.headLength - 8 * LANES;
        long x0 = (long) LONG_LE.get(in, p), x1 = (long) LONG_LE.get(in, p + 8), x2 = (long) LONG_LE.get(in, p + 16), x3 = (long) LONG_LE.get(in, p + 24);
        if (x0 < L || x1 < L || x2 < L || x3 < L) {
            throw corrupt("rANS initial state", "in [2^31, 2^63)", x0 + ", " + x1 + ", " + x2 + ", " + x3);
        }
        int pos = off + t.headLength;
        int end = off + len;
        int lim = planeOff + planeLen - 1; // reads are clamped here; the count tells the truth
        int m = planeOff;
        int j = outPos;
        int i = 0;
        int e;
        int slot;
        for (; i + 3 < n; i += 4, j += 8) {
            slot = (int) (x0 & MASK); e = dec[slot];
            x0 = (e >>> PROB_BITS) * (x0 >>> PROB_BITS) + (e & MASK);
            int s0 = sym[slot];
            slot = (int) (x1 & MASK); e = dec[slot];
            x1 = (e >>> PROB_BITS) * (x1 >>> PROB_BITS) + (e & MASK);
            int s1 = sym[slot];
            slot = (int) (x2 & MASK); e = dec[slot];
            x2 = (e >>> PROB_BITS) * (x2 >>> PROB_BITS) + (e & MASK);
            int s2 = sym[slot];
            slot = (int) (x3 & MASK); e = dec[slot];
            x3 = (e >>> PROB_BITS) * (x3 >>> PROB_BITS) + (e & MASK);
            int s3 = sym[slot];
            if (x0 < L) { if (pos + 4 > end) throw overrun(); x0 = x0 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            if (x1 < L) { if (pos + 4 > end) throw overrun(); x1 = x1 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            if (x2 < L) { if (pos + 4 > end) throw overrun(); x2 = x2 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            if (x3 < L) { if (pos + 4 > end) throw overrun(); x3 = x3 << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            int sm;
            if (s0 < 256) { sm = plane[Math.min(m, lim)]; m++; SHORT_LE.set(out, j, (short) ((sm & 0x80) << 8 | s0 << 7 | (sm & 0x7f))); } else { SHORT_LE.set(out, j, (short) ((s0 - 256) << 15)); }
            if (s1 < 256) { sm = plane[Math.min(m, lim)]; m++; SHORT_LE.set(out, j + 2, (short) ((sm & 0x80) << 8 | s1 << 7 | (sm & 0x7f))); } else { SHORT_LE.set(out, j + 2, (short) ((s1 - 256) << 15)); }
            if (s2 < 256) { sm = plane[Math.min(m, lim)]; m++; SHORT_LE.set(out, j + 4, (short) ((sm & 0x80) << 8 | s2 << 7 | (sm & 0x7f))); } else { SHORT_LE.set(out, j + 4, (short) ((s2 - 256) << 15)); }
            if (s3 < 256) { sm = plane[Math.min(m, lim)]; m++; SHORT_LE.set(out, j + 6, (short) ((sm & 0x80) << 8 | s3 << 7 | (sm & 0x7f))); } else { SHORT_LE.set(out, j + 6, (short) ((s3 - 256) << 15)); }
        }
        for (; i < n; i++, j += 2) {
            long x = switch (i & 3) { case 0 -> x0; case 1 -> x1; case 2 -> x2; default -> x3; };
            slot = (int) (x & MASK); e = dec[slot];
            x = (e >>> PROB_BITS) * (x >>> PROB_BITS) + (e & MASK);
            if (x < L) { if (pos + 4 > end) throw overrun(); x = x << 32 | (int) INT_LE.get(in, pos) & 0xffffffffL; pos += 4; }
            int s = sym[slot];
            if (s < 256) { int sm = plane[Math.min(m, lim)]; m++; SHORT_LE.set(out, j, (short) ((sm & 0x80) << 8 | s << 7 | (sm & 0x7f))); } else { SHORT_LE.set(out, j, (short) ((s - 256) << 15)); }
            switch (i & 3) { case 0 -> x0 = x; case 1 -> x1 = x; case 2 -> x2 = x; default -> x3 = x; }
        }
        if (x0 != L || x1 != L || x2 != L || x3 != L) {
            throw corrupt("rANS final state", "2^31 in every lane", x0 + ", " + x1 + ", " + x2 + ", " + x3);
        }
        if (pos != end) {
            throw corrupt("rANS stream length", "every word consumed", (end - pos) + " bytes left");
        }
        return m - planeOff;
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
