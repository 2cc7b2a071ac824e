package dev.strata.core.codec;

import dev.strata.core.CorruptDataException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * FLOAT version 2, BF16 and FP32 (docs/format.md, "Float, version 2"; decision 0020). A BF16
 * element, or an FP32 element's upper 16 bits (sign, exponent, top 7 mantissa bits: the same
 * layout), is a <em>half</em>; each half splits into a 10-bit symbol — the exponent and the top two
 * mantissa bits, bits 14..5 — coded with {@link Huffman} in four streams (quarters of the
 * elements), and a field stored as it is: the half's bits 4..0 and, unless every sign in the chunk
 * is 0, its sign (6 or 5 bits, packed). An FP32 element's lower 16 bits are stored raw, or not at
 * all when they are all zero (FP32 widened from BF16).
 *
 * <p>Why: the symbol carries the exponent's redundancy plus the little the top mantissa bits hold
 * given the exponent (~0.05 bit per element), which pays for Huffman's loss against rANS, and a
 * table lookup decodes about two symbols at once. The fields move with one {@code pext} /
 * {@code pdep} per four halves ({@link Long#compress} / {@link Long#expand}). Fields and low
 * halves are never entropy-coded, so DELTA residuals and chunks with compressible low bits mostly
 * stay on version 1; zeros get their own symbol and no field ({@link #FLAG_ZEROS}), but Huffman
 * codes it in at least a bit, so a mostly-zero chunk keeps version 1 when that is more than
 * {@link FloatCodec#V1_MARGIN} smaller ({@link FloatCodec#encode}).
 *
 * <p>Layout: version (2), format id, phase, flags (bit 0: no sign bits, every sign is 0; the other
 * bits 0); the phase bytes and the trailing bytes (as version 1); the code table; 4 × u32 stream
 * lengths; for FP32 one byte (0: low halves raw, 2: all zero); the fields
 * ({@code ceil(f·count / 8)} bytes for f-bit fields, element i's at bit f·i, little-endian bit
 * order: the half's bits 4..0, then its sign); the four streams; for FP32 with raw low halves
 * {@code 2·count} bytes of them (little-endian, element order). Stream s holds elements
 * {@code count·s/4} (rounded down) up to the next stream's first.
 */
final class HuffmanFloat {
    static final int VERSION = 2;
    static final int SYMBOLS = Huffman.MAX_SYMBOLS;
    private static final int HALF_SYMBOLS = 1023;
    static final int SHIFT = 5;
    static final int FLAG_NO_SIGNS = 1;
    /** Bits of a field with its sign (bits 4..0 and the sign); one less without signs. */
    private static final int SIGNED_FIELD_BITS = 6;
    static final int FLAG_ZEROS = 2;
    /** With {@link #FLAG_ZEROS}: the symbol of an element whose bits are all 0 (no field, no low half). */
    static final int ZERO_SYMBOL = 1024;
    /** Each half's field bits in four little-endian halves: bits 4..0 and the sign, or bits 4..0. */
    private static final long FIELD_SIGNED = 0x801f_801f_801f_801fL;
    private static final long FIELD_UNSIGNED = 0x001f_001f_001f_001fL;
    /** The symbol bits of four halves (the decoder leaves its bookkeeping in the others). */
    private static final long SYMBOL_BITS = 0x7fe0_7fe0_7fe0_7fe0L;
    private static final long SIGNS = 0x8000_8000_8000_8000L;
    private static final long HIGH_HALVES = 0xffff_0000_ffff_0000L;
    private static final long LOW_HALVES = 0x0000_ffff_0000_ffffL;
    private static final int STREAMS = 4;
    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** Decoded symbol s is written as its half's bits 14..5; the zero symbol as bit 15 (a marker). */
    private static final int[] PAYLOAD = new int[ZERO_SYMBOL + 1];

    static {
        for (int s = 0; s < ZERO_SYMBOL; s++) {
            PAYLOAD[s] = s << SHIFT;
        }
        PAYLOAD[ZERO_SYMBOL] = 0x8000;
    }

    private HuffmanFloat() {}

    /**
     * Symbol counts per stream and in total, whether every half's sign is 0, and whether each of
     * bits 4..0 is set in some half (when one never is, the fields would compress: version 1 may win).
     */
    record Histogram(int[][] perStream, int[] total, boolean signsZero, boolean lowBitsAllUsed) {
        int fieldBits() {
            return signsZero ? SIGNED_FIELD_BITS - 1 : SIGNED_FIELD_BITS;
        }
    }

    /** The {@link Histogram} of the {@code count} halves at {@code halves[at..]}. */
    static Histogram counts(byte[] halves, int at, int count) {
        return counts(halves, at, count, SHIFT, HALF_SYMBOLS);
    }

    /**
     * The {@link Histogram} of the symbols {@code (v >>> shift) & mask} of the {@code count}
     * 16-bit values at {@code halves[at..]} (signsZero: whether bit 15 is 0 in all of them).
     */
    static Histogram counts(byte[] halves, int at, int count, int shift, int mask) {
        int[] bounds = bounds(count);
        int[][] c = new int[STREAMS][];
        int[] total = new int[SYMBOLS];
        int or = 0;
        for (int s = 0; s < STREAMS; s++) {
            int from = bounds[s];
            int fast = (bounds[s + 1] - from) & ~3;
            // Constant shifts and masks, and arrays of known length: measured 20-30 % faster.
            int[] a = shift == SHIFT ? countHalves(halves, at + 2 * from, fast) : countSymbols(halves, at + 2 * from, fast);
            or |= a[SYMBOLS];
            for (int i = from + fast, j = at + 2 * i; i < bounds[s + 1]; i++, j += 2) {
                int v = (short) SHORT_LE.get(halves, j) & 0xffff;
                or |= v;
                a[v >>> shift & mask]++;
            }
            for (int k = 0; k < SYMBOLS; k++) {
                total[k] += a[k];
            }
            c[s] = a;
        }
        return new Histogram(c, total, (or & 0x8000) == 0, (or & 0x1f) == 0x1f);
    }

    /**
     * Counts of the symbols {@code (v >>> SHIFT) & HALF_SYMBOLS} of the {@code n} (a multiple of 4)
     * halves from byte {@code j}; slot {@link #SYMBOLS} holds the OR of the halves.
     */
    private static int[] countHalves(byte[] src, int j, int n) {
        int[] a = new int[SYMBOLS + 1];
        int[] x = new int[SYMBOLS];
        long or = 0;
        // Two histograms (lanes alternate), so that runs of one symbol wait less on their own increments.
        for (int end = j + 2 * n; j < end; j += 8) {
            long four = (long) LONG_LE.get(src, j);
            or |= four;
            int lo = (int) four;
            int hi = (int) (four >>> 32);
            a[lo >>> SHIFT & HALF_SYMBOLS]++;
            x[lo >>> (16 + SHIFT) & HALF_SYMBOLS]++;
            a[hi >>> SHIFT & HALF_SYMBOLS]++;
            x[hi >>> (16 + SHIFT) & HALF_SYMBOLS]++;
        }
        return merge(a, x, or);
    }

    /** {@link #countHalves} of 16-bit symbols ({@link Sparse#symbols}): the values themselves. */
    private static int[] countSymbols(byte[] src, int j, int n) {
        int[] a = new int[SYMBOLS + 1];
        int[] x = new int[SYMBOLS];
        for (int end = j + 2 * n; j < end; j += 8) {
            long four = (long) LONG_LE.get(src, j);
            int lo = (int) four;
            int hi = (int) (four >>> 32);
            a[lo & (SYMBOLS - 1)]++;
            x[lo >>> 16 & (SYMBOLS - 1)]++;
            a[hi & (SYMBOLS - 1)]++;
            x[hi >>> 16 & (SYMBOLS - 1)]++;
        }
        return merge(a, x, 0);
    }

    private static int[] merge(int[] a, int[] x, long or) {
        for (int k = 0; k < SYMBOLS; k++) {
            a[k] += x[k];
        }
        a[SYMBOLS] = fold(or);
        return a;
    }

    /** The OR of the four 16-bit lanes of {@code lanes}. */
    private static int fold(long lanes) {
        return (int) (lanes | lanes >>> 16 | lanes >>> 32 | lanes >>> 48) & 0xffff;
    }

    /** Bytes of each stream for these counts and code lengths. */
    private static int[] streamLengths(Histogram h, byte[] len) {
        int[] out = new int[STREAMS];
        for (int s = 0; s < STREAMS; s++) {
            long bits = 0;
            for (int k = 0; k < SYMBOLS; k++) {
                bits += (long) h.perStream()[s][k] * len[k];
            }
            out[s] = (int) ((bits + 7) / 8);
        }
        return out;
    }

    private static int fieldsLength(int count, int fieldBits) {
        return (int) (((long) fieldBits * count + 7) / 8);
    }

    /** Exact length of {@link #encode} for a chunk of {@code n} bytes with this histogram and code lengths. */
    static long length(int n, FloatFormat fmt, int p, int count, Histogram h, byte[] len, boolean lowZero) {
        return length(n, fmt, p, count, h, len, count, lowZero, false);
    }

    /** Exact length of {@link #encodeSparse} for {@code s} with this histogram and code lengths. */
    static long length(int n, FloatFormat fmt, int p, int count, Sparse s, Histogram h, byte[] len) {
        return length(n, fmt, p, count, h, len, s.nonzero(), s.lowZero(), true);
    }

    private static long length(int n, FloatFormat fmt, int p, int count, Histogram h, byte[] len, int fields, boolean lowZero, boolean sparse) {
        long total = FloatCodec.FIXED_HEADER + p + (n - p) % fmt.width() + Huffman.tableLength(len) + 4L * STREAMS
                + (sparse ? 4 : 0) + fieldsLength(fields, h.fieldBits());
        if (fmt == FloatFormat.FP32) {
            total += 1 + (lowZero ? 0 : 2L * fields);
        }
        for (int l : streamLengths(h, len)) {
            total += l;
        }
        return total;
    }

    /** The histogram of a {@link Sparse} chunk's symbols (signs: those of its packed halves). */
    static Histogram counts(Sparse s, int count) {
        Histogram h = counts(s.symbols(), 0, count, 0, SYMBOLS - 1);
        return new Histogram(h.perStream(), h.total(), (s.or() & 0x8000) == 0, (s.or() & 0x1f) == 0x1f);
    }

    /** An FP32 chunk's elements split in halves: upper and lower 16 bits, 2 bytes per element each. */
    record Fp32Halves(byte[] high, byte[] low, boolean lowZero) {}

    /** Splits the {@code count} FP32 elements at {@code raw[p..]} in halves. */
    static Fp32Halves split(byte[] raw, int p, int count) {
        byte[] high = new byte[2 * count];
        byte[] low = new byte[2 * count];
        long any = 0;
        int i = 0;
        for (int j = p; i + 1 < count; i += 2, j += 8) {
            long two = (long) LONG_LE.get(raw, j);
            INT_LE.set(high, 2 * i, (int) Long.compress(two, HIGH_HALVES));
            int l = (int) Long.compress(two, LOW_HALVES);
            INT_LE.set(low, 2 * i, l);
            any |= l;
        }
        for (; i < count; i++) {
            int v = (int) INT_LE.get(raw, p + 4 * i);
            SHORT_LE.set(high, 2 * i, (short) (v >>> 16));
            SHORT_LE.set(low, 2 * i, (short) v);
            any |= v & 0xffff;
        }
        return new Fp32Halves(high, low, any == 0);
    }

    /** Whether a sample (one element in 61) finds more than 1/256 of the elements all 0. */
    static boolean manyZeros(byte[] raw, FloatFormat fmt, int p, int count) {
        int w = fmt.width();
        int zeros = 0;
        int sampled = 0;
        for (int i = 0; i < count; i += 61, sampled++) {
            int v = w == 2 ? (short) SHORT_LE.get(raw, p + 2 * i) : (int) INT_LE.get(raw, p + 4 * i);
            zeros += v == 0 ? 1 : 0;
        }
        return zeros * 256 > sampled;
    }

    /**
     * A chunk prepared for {@link #FLAG_ZEROS}: each element's symbol (u16, {@link #ZERO_SYMBOL}
     * for an element whose bits are all 0), and the halves and (FP32) low halves of the other
     * elements, packed ({@code nonzero} of them); {@code or}: the OR of those halves.
     */
    record Sparse(byte[] symbols, byte[] halves, byte[] low, int nonzero, int or, boolean lowZero) {}

    static Sparse sparse(byte[] raw, FloatFormat fmt, int p, int count) {
        byte[] symbols = new byte[2 * count];
        byte[] halves = new byte[2 * count];
        byte[] low = fmt == FloatFormat.FP32 ? new byte[2 * count] : null;
        int m = 0;
        // Four elements at a time (SWAR): a lane's top bit says "not 0", the symbols of the zero
        // lanes become ZERO_SYMBOL, and pext packs the other lanes' halves (and low halves).
        long or = 0;
        long lowOr = 0;
        int i = 0;
        if (fmt == FloatFormat.BF16) {
            for (int j = p; i + 3 < count; i += 4, j += 8) {
                long four = (long) LONG_LE.get(raw, j);
                long lanes = ((((four & ~SIGNS) + ~SIGNS | four) & SIGNS) >>> 15) * 0xffff;
                LONG_LE.set(symbols, 2 * i, four >>> SHIFT & 0x03ff_03ff_03ff_03ffL & lanes | 0x0400_0400_0400_0400L & ~lanes);
                LONG_LE.set(halves, 2 * m, Long.compress(four, lanes));
                or |= four;
                m += Long.bitCount(lanes) >>> 4;
            }
        } else {
            for (int j = p; i + 3 < count; i += 4, j += 16) {
                long a = (long) LONG_LE.get(raw, j);
                long b = (long) LONG_LE.get(raw, j + 8);
                long h4 = Long.compress(a, HIGH_HALVES) | Long.compress(b, HIGH_HALVES) << 32;
                long l4 = Long.compress(a, LOW_HALVES) | Long.compress(b, LOW_HALVES) << 32;
                long either = h4 | l4; // an element is 0 when both its halves are
                long lanes = ((((either & ~SIGNS) + ~SIGNS | either) & SIGNS) >>> 15) * 0xffff;
                LONG_LE.set(symbols, 2 * i, h4 >>> SHIFT & 0x03ff_03ff_03ff_03ffL & lanes | 0x0400_0400_0400_0400L & ~lanes);
                LONG_LE.set(halves, 2 * m, Long.compress(h4, lanes));
                LONG_LE.set(low, 2 * m, Long.compress(l4, lanes));
                or |= h4 & lanes;
                lowOr |= l4;
                m += Long.bitCount(lanes) >>> 4;
            }
        }
        int signs = fold(or);
        int lows = fold(lowOr);
        // The rest one by one; every element's half is written at m, which only moves past elements that are not 0.
        if (fmt == FloatFormat.BF16) {
            for (int j = p + 2 * i; i < count; i++, j += 2) {
                int v = (short) SHORT_LE.get(raw, j) & 0xffff;
                int nz = -v >>> 31;
                SHORT_LE.set(symbols, 2 * i, (short) (nz == 0 ? ZERO_SYMBOL : v >>> SHIFT & HALF_SYMBOLS));
                SHORT_LE.set(halves, 2 * m, (short) v);
                signs |= v;
                m += nz;
            }
        } else {
            for (int j = p + 4 * i; i < count; i++, j += 4) {
                int v = (int) INT_LE.get(raw, j);
                int nz = (v | -v) >>> 31;
                int hi = v >>> 16;
                SHORT_LE.set(symbols, 2 * i, (short) (nz == 0 ? ZERO_SYMBOL : hi >>> SHIFT & HALF_SYMBOLS));
                SHORT_LE.set(halves, 2 * m, (short) hi);
                SHORT_LE.set(low, 2 * m, (short) v);
                signs |= hi & -nz;
                lows |= v & 0xffff;
                m += nz;
            }
        }
        return new Sparse(symbols, halves, low, m, signs & 0xffff, (lows & 0xffff) == 0);
    }

    /**
     * Encodes the {@code count} elements of {@code fmt} (BF16 or FP32) at {@code raw[p..]}, given
     * their halves (the elements themselves for BF16, {@link Fp32Halves#high} for FP32, from byte
     * {@code at}), the halves' {@link Histogram} and code lengths (from {@link Huffman#lengths} of
     * the total); {@code low} is null for BF16 or FP32 low halves that are all zero.
     */
    static byte[] encode(byte[] raw, FloatFormat fmt, int p, int count, byte[] halves, int at, byte[] low, Histogram h, byte[] len) {
        return encode(raw, fmt, p, count, halves, at, SHIFT, HALF_SYMBOLS, halves, at, count, low, h, len, 0);
    }

    /** {@link #encode} with {@link #FLAG_ZEROS}: {@code s} from {@link #sparse}, {@code h} from {@link #counts(Sparse, int)}. */
    static byte[] encodeSparse(byte[] raw, FloatFormat fmt, int p, int count, Sparse s, Histogram h, byte[] len) {
        return encode(raw, fmt, p, count, s.symbols(), 0, 0, SYMBOLS - 1, s.halves(), 0, s.nonzero(), s.lowZero() ? null : s.low(), h, len, FLAG_ZEROS);
    }

    /**
     * The symbols are {@code (v >>> shift) & mask} of the 16-bit values at {@code symbols[symbolsAt..]};
     * the fields and low halves are those of the {@code fields} halves at {@code halves[at..]} and
     * {@code low} (null: all zero or BF16).
     */
    private static byte[] encode(byte[] raw, FloatFormat fmt, int p, int count, byte[] symbols, int symbolsAt, int shift, int mask,
                                 byte[] halves, int at, int fields, byte[] low, Histogram h, byte[] len, int flags) {
        int n = raw.length;
        int w = fmt.width();
        int t = n - p - w * count;
        int single = -1;
        int present = 0;
        for (int s = 0; s < SYMBOLS; s++) {
            if (h.total()[s] > 0) {
                present++;
                single = s;
            }
        }
        if (present > 1) {
            single = -1;
        }
        int[] lengths = streamLengths(h, len);
        int fieldBits = h.fieldBits();
        int fieldsLength = fieldsLength(fields, fieldBits);
        int tableAt = FloatCodec.FIXED_HEADER + p + t;
        int tableLength = Huffman.tableLength(len);
        int modeAt = tableAt + tableLength + 4 * STREAMS;
        int nonzeroAt = modeAt + (fmt == FloatFormat.FP32 ? 1 : 0);
        int fieldsAt = nonzeroAt + ((flags & FLAG_ZEROS) != 0 ? 4 : 0);
        int streamsAt = fieldsAt + fieldsLength;
        int lowAt = streamsAt + lengths[0] + lengths[1] + lengths[2] + lengths[3];
        byte[] out = new byte[lowAt + (low == null ? 0 : 2 * fields)];
        out[0] = (byte) VERSION;
        out[1] = (byte) fmt.id();
        out[2] = (byte) p;
        out[3] = (byte) (flags | (h.signsZero() ? FLAG_NO_SIGNS : 0));
        if ((flags & FLAG_ZEROS) != 0) {
            Rans.putU32(out, nonzeroAt, fields);
        }
        System.arraycopy(raw, 0, out, FloatCodec.FIXED_HEADER, p);
        System.arraycopy(raw, p + w * count, out, FloatCodec.FIXED_HEADER + p, t);
        Huffman.writeTable(len, single, out, tableAt);
        for (int s = 0; s < STREAMS; s++) {
            Rans.putU32(out, tableAt + tableLength + 4 * s, lengths[s]);
        }
        if (fmt == FloatFormat.FP32) {
            out[modeAt] = (byte) (low == null ? FloatCodec.MODE_ZERO : FloatCodec.MODE_RAW);
        }
        pack(halves, at, fields, fieldBits, out, fieldsAt, fieldsLength);
        if (single < 0) {
            // In order: each stream's last 8-byte write may spill into the next one's start.
            int[] bounds = bounds(count);
            int[] codes = Huffman.codes(len);
            for (int s = 0, k = streamsAt; s < STREAMS; k += lengths[s], s++) {
                int end = Huffman.encode16(symbols, symbolsAt + 2 * bounds[s], bounds[s + 1] - bounds[s], shift, mask, codes, out, k);
                if (end != k + lengths[s]) {
                    throw new IllegalStateException("stream " + s + " took " + (end - k) + " bytes, counted " + lengths[s]);
                }
            }
        }
        if (low != null) {
            System.arraycopy(low, 0, out, lowAt, 2 * fields); // after the streams, whose last writes spill
        }
        return out;
    }

    /** Writes the halves' fields at {@code out[k..k + length)}, eight halves to {@code fieldBits} bytes. */
    private static void pack(byte[] halves, int at, int count, int fieldBits, byte[] out, int k, int length) {
        long mask = fieldBits == SIGNED_FIELD_BITS ? FIELD_SIGNED : FIELD_UNSIGNED;
        int shift = 4 * fieldBits;
        int end = k + length;
        int i = 0;
        // Written as 8 bytes; those past the group's are rewritten by what follows.
        // A counted loop over the groups whose 8-byte write is inside out.
        int last8 = 8 * Math.min(count >> 3, k + 8 <= out.length ? (out.length - 8 - k) / fieldBits + 1 : 0);
        for (int j = at; i < last8; i += 8, j += 16, k += fieldBits) {
            long a = Long.compress((long) LONG_LE.get(halves, j), mask);
            long b = Long.compress((long) LONG_LE.get(halves, j + 8), mask);
            LONG_LE.set(out, k, a | b << shift);
        }
        // The last groups: halves read one by one, bytes written one by one.
        for (; i < count; i += 8, k += fieldBits) {
            long bits = 0;
            for (int e = 0; e < 8 && i + e < count; e++) {
                long one = Long.compress((short) SHORT_LE.get(halves, at + 2 * (i + e)) & 0xffffL, mask & 0xffff);
                bits |= one << fieldBits * e;
            }
            for (int b = 0; b < fieldBits && k + b < end; b++) {
                out[k + b] = (byte) (bits >>> 8 * b);
            }
        }
    }

    private static int[] bounds(int count) {
        int[] b = new int[STREAMS + 1];
        for (int s = 0; s <= STREAMS; s++) {
            b[s] = (int) ((long) count * s / STREAMS);
        }
        return b;
    }

    /**
     * Decodes a version-2 encoding (version, format and phase {@code p} already checked: BF16 or
     * FP32) into exactly {@code rawLength} bytes. Allocates the output, the decoding table (32 KiB),
     * for BF16 with zeros the halves (2 bytes per element), and nothing sized from a length inside
     * the encoding.
     */
    static byte[] decode(byte[] enc, int rawLength, FloatFormat fmt, int p) {
        int flags = enc[3] & 0xff;
        if ((flags & ~(FLAG_NO_SIGNS | FLAG_ZEROS)) != 0) {
            throw corrupt("float version 2 flags", "0..3", Integer.toString(flags));
        }
        int fieldBits = (flags & FLAG_NO_SIGNS) != 0 ? SIGNED_FIELD_BITS - 1 : SIGNED_FIELD_BITS;
        boolean zeros = (flags & FLAG_ZEROS) != 0;
        int w = fmt.width();
        int count = (rawLength - p) / w;
        int t = rawLength - p - w * count;
        int tableAt = FloatCodec.FIXED_HEADER + p + t;
        if (enc.length < tableAt) {
            throw corrupt("float header", "at least " + tableAt + " bytes", enc.length + " bytes");
        }
        byte[] len = new byte[SYMBOLS];
        int table = Huffman.readTable(enc, tableAt, enc.length, zeros ? ZERO_SYMBOL + 1 : ZERO_SYMBOL, len);
        int single = table < 0 ? -1 - table : -1;
        int lengthsAt = tableAt + (table < 0 ? 5 : table);
        int modeAt = lengthsAt + 4 * STREAMS;
        int nonzeroAt = modeAt + (fmt == FloatFormat.FP32 ? 1 : 0);
        int fieldsAt = nonzeroAt + (zeros ? 4 : 0);
        if (enc.length < fieldsAt) {
            throw corrupt("float header", "at least " + fieldsAt + " bytes", enc.length + " bytes");
        }
        boolean rawLow = false;
        if (fmt == FloatFormat.FP32) {
            int mode = enc[modeAt] & 0xff;
            if (mode != FloatCodec.MODE_RAW && mode != FloatCodec.MODE_ZERO) {
                throw corrupt("low halves mode", FloatCodec.MODE_RAW + " (raw) or " + FloatCodec.MODE_ZERO + " (zero)", Integer.toString(mode));
            }
            rawLow = mode == FloatCodec.MODE_RAW;
        }
        // Fields (and low halves): one per element, or with FLAG_ZEROS one per element that is not 0.
        long declared = zeros ? Rans.u32(enc, nonzeroAt) : count;
        if (declared > count) {
            throw corrupt("elements that are not 0", "at most " + count, Long.toString(declared));
        }
        int fields = (int) declared;
        int fieldsLength = fieldsLength(fields, fieldBits);
        long total = (long) fieldsAt + fieldsLength;
        int[] starts = new int[STREAMS];
        int[] lengths = new int[STREAMS];
        for (int s = 0; s < STREAMS; s++) {
            long l = Rans.u32(enc, lengthsAt + 4 * s);
            starts[s] = (int) Math.min(total, Integer.MAX_VALUE);
            lengths[s] = (int) Math.min(l, Integer.MAX_VALUE);
            total += l;
        }
        long lowAt = total;
        total += rawLow ? 2L * fields : 0;
        if (total != enc.length) {
            throw corrupt("float encoded length", Long.toString(total), Integer.toString(enc.length));
        }
        int used = fieldBits * fields % 8;
        if (used != 0 && (enc[fieldsAt + fieldsLength - 1] & 0xff) >>> used != 0) {
            throw corrupt("packed fields padding", "zero bits", "set bits");
        }
        byte[] out = new byte[rawLength];
        System.arraycopy(enc, FloatCodec.FIXED_HEADER, out, 0, p);
        System.arraycopy(enc, FloatCodec.FIXED_HEADER + p, out, p + w * count, t);
        // BF16: the halves are the elements, decoded in place. FP32: decoded into the upper half of
        // the elements' bytes, which the forward passes below overwrite only behind their reads
        // (element i's 4 bytes end at or before element i + 1's half; no 512 KiB array per MiB:
        // A/B 6-12 % faster). BF16 with zeros: decoded apart first.
        boolean apart = fmt == FloatFormat.BF16 && zeros;
        byte[] halves = apart ? new byte[2 * count] : out;
        int at = apart ? 0 : fmt == FloatFormat.FP32 ? p + 2 * count : p;
        if (single >= 0) {
            for (int s = 0; s < STREAMS; s++) {
                if (lengths[s] != 0) {
                    throw corrupt("Huffman stream " + s + " length", "0 bytes (a single symbol)", lengths[s] + " bytes");
                }
            }
            short v = (short) PAYLOAD[single];
            for (int i = 0, j = at; i < count; i++, j += 2) {
                SHORT_LE.set(halves, j, v);
            }
        } else {
            Huffman.decode16x4(enc, starts, lengths, len, PAYLOAD, bounds(count), halves, at);
        }
        if (zeros) {
            expand(enc, fieldsAt, fieldsLength, fieldBits, count, fields, halves, at, rawLow ? (int) lowAt : -1, fmt, out, p);
        } else if (fmt == FloatFormat.BF16) {
            unpack(enc, fieldsAt, fieldsLength, fieldBits, count, halves, at, null, 0, false, null, 0);
        } else {
            unpack(enc, fieldsAt, fieldsLength, fieldBits, count, halves, at, enc, (int) lowAt, rawLow, out, p);
        }
        return out;
    }

    /**
     * Puts each half's field (from {@code enc[k..k + length)}) back into its bits 4..0 and sign,
     * clearing what the decoder left there. BF16 ({@code out} null): in place. FP32: the halves
     * become the upper 16 bits of {@code out}'s elements from byte {@code p}, whose lower 16 bits are
     * {@code low[lowAt + 2i]} ({@code rawLow}) or zero; the halves may lie in {@code out} from
     * {@code p + 2·count} (each group of halves is read before its elements are written).
     */
    private static void unpack(byte[] enc, int k, int length, int fieldBits, int count, byte[] halves, int at,
                               byte[] low, int lowAt, boolean rawLow, byte[] out, int p) {
        long mask = fieldBits == SIGNED_FIELD_BITS ? FIELD_SIGNED : FIELD_UNSIGNED;
        int shift = 4 * fieldBits;
        int end = k + length;
        int i = 0;
        // Groups of eight whose 8-byte field load is inside enc: counted loops, so that the JIT
        // drops the bounds checks it can (A/B in one JVM: 6-8 % faster decoding than with the
        // field position in the loop condition).
        int groups = Math.min(count >> 3, k + 8 <= enc.length ? (enc.length - 8 - k) / fieldBits + 1 : 0);
        int last8 = 8 * groups;
        // Two loops, one per layout, so that neither carries the other's branches.
        if (out == null) {
            for (int j = at; i < last8; i += 8, j += 16, k += fieldBits) {
                long bits = (long) LONG_LE.get(enc, k);
                LONG_LE.set(halves, j, (long) LONG_LE.get(halves, j) & SYMBOL_BITS | Long.expand(bits, mask));
                LONG_LE.set(halves, j + 8, (long) LONG_LE.get(halves, j + 8) & SYMBOL_BITS | Long.expand(bits >>> shift, mask));
            }
        } else {
            for (int j = at; i < last8; i += 8, j += 16, k += fieldBits) {
                long bits = (long) LONG_LE.get(enc, k);
                long h0 = (long) LONG_LE.get(halves, j) & SYMBOL_BITS | Long.expand(bits, mask);
                long h1 = (long) LONG_LE.get(halves, j + 8) & SYMBOL_BITS | Long.expand(bits >>> shift, mask);
                long l0 = rawLow ? (long) LONG_LE.get(low, lowAt + 2 * i) : 0;
                long l1 = rawLow ? (long) LONG_LE.get(low, lowAt + 2 * i + 8) : 0;
                int o = p + 4 * i;
                LONG_LE.set(out, o, Long.expand(h0, HIGH_HALVES) | Long.expand(l0, LOW_HALVES));
                LONG_LE.set(out, o + 8, Long.expand(h0 >>> 32, HIGH_HALVES) | Long.expand(l0 >>> 32, LOW_HALVES));
                LONG_LE.set(out, o + 16, Long.expand(h1, HIGH_HALVES) | Long.expand(l1, LOW_HALVES));
                LONG_LE.set(out, o + 24, Long.expand(h1 >>> 32, HIGH_HALVES) | Long.expand(l1 >>> 32, LOW_HALVES));
            }
        }
        // The last groups: bytes read one by one, halves one by one.
        for (; i < count; i += 8, k += fieldBits) {
            long bits = 0;
            for (int b = 0; b < fieldBits && k + b < end; b++) {
                bits |= (enc[k + b] & 0xffL) << 8 * b;
            }
            for (int e = 0; e < 8 && i + e < count; e++) {
                int j = at + 2 * (i + e);
                int half = (short) SHORT_LE.get(halves, j) & 0x7fe0 | (int) Long.expand(bits >>> fieldBits * e, mask & 0xffff);
                if (out == null) {
                    SHORT_LE.set(halves, j, (short) half);
                } else {
                    int lo = rawLow ? (short) SHORT_LE.get(low, lowAt + 2 * (i + e)) & 0xffff : 0;
                    INT_LE.set(out, p + 4 * (i + e), half << 16 | lo);
                }
            }
        }
    }

    /**
     * {@link #FLAG_ZEROS}: element i of {@code out} (from byte {@code p}) is 0 where its decoded
     * half carries the zero marker (bit 15), else its half with the next field (and, FP32, the next
     * low half at {@code enc[lowAt..]}, or 0 when {@code lowAt} < 0). The markers MUST leave
     * exactly {@code fields} elements that are not 0. Every element is written, zeros too: for
     * FP32 the halves ({@code halves[at + 2i]}) may lie in {@code out}, as for {@link #unpack}.
     */
    private static void expand(byte[] enc, int k, int length, int fieldBits, int count, int fields, byte[] halves, int at,
                               int lowAt, FloatFormat fmt, byte[] out, int p) {
        long mask = (fieldBits == SIGNED_FIELD_BITS ? FIELD_SIGNED : FIELD_UNSIGNED) & 0xffff;
        int last = Math.max(0, fields - 1);
        int safeField = (enc.length - 8 - k) * 8 / fieldBits; // fields readable with one 8-byte load
        long mask4 = fieldBits == SIGNED_FIELD_BITS ? FIELD_SIGNED : FIELD_UNSIGNED;
        int m = 0;
        boolean fp32 = fmt == FloatFormat.FP32;
        int i = 0;
        // Four elements at a time: their fields (and FP32 low halves) are the next ones, deposited
        // into the elements that are not 0 with one pdep each (Long.expand with those lanes' bits).
        boolean rawLow = lowAt >= 0;
        while (i + 3 < count) {
            // Groups whose fields and low halves are surely inside (m grows by at most 4 a group).
            int groups = Math.min((count - i) >> 2, Math.min((safeField - m) >> 2, rawLow ? (fields - m) >> 2 : Integer.MAX_VALUE));
            if (groups <= 0) {
                for (int e = 0; e < 4; e++) { // near the end of the fields or low halves: bounds-checked
                    m = expandOne(enc, k, length, fieldBits, mask, last, safeField, halves, at, lowAt, fp32, out, p, i + e, m, fields);
                }
                i += 4;
                continue;
            }
            for (int end = i + 4 * groups; i < end; i += 4) {
                long four = (long) LONG_LE.get(halves, at + 2 * i);
                long lanes = ~(((four & SIGNS) >>> 15) * 0xffff);
                int bit = m * fieldBits;
                long h4 = four & SYMBOL_BITS & lanes | Long.expand((long) LONG_LE.get(enc, k + (bit >>> 3)) >>> (bit & 7), mask4 & lanes);
                if (fp32) {
                    long l4 = rawLow ? Long.expand((long) LONG_LE.get(enc, lowAt + 2 * m), lanes) : 0;
                    LONG_LE.set(out, p + 4 * i, Long.expand(h4, HIGH_HALVES) | Long.expand(l4, LOW_HALVES));
                    LONG_LE.set(out, p + 4 * i + 8, Long.expand(h4 >>> 32, HIGH_HALVES) | Long.expand(l4 >>> 32, LOW_HALVES));
                } else {
                    LONG_LE.set(out, p + 2 * i, h4);
                }
                m += Long.bitCount(lanes) >>> 4;
            }
        }
        for (; i < count; i++) {
            m = expandOne(enc, k, length, fieldBits, mask, last, safeField, halves, at, lowAt, fp32, out, p, i, m, fields);
        }
        if (m != fields) {
            throw corrupt("elements that are not 0", Integer.toString(fields), Integer.toString(m));
        }
    }

    /** {@link #expand} of element i, the next field being m: returns the next field after it. */
    private static int expandOne(byte[] enc, int k, int length, int fieldBits, long mask, int last, int safeField, byte[] halves, int at,
                             int lowAt, boolean fp32, byte[] out, int p, int i, int m, int fields) {
        int h = (short) SHORT_LE.get(halves, at + 2 * i) & 0xffff;
        int nz = (h >>> 15) ^ 1;
        int c = Math.min(m, last);
        int bit = c * fieldBits;
        long word;
        if (c < safeField) {
            word = (long) LONG_LE.get(enc, k + (bit >>> 3));
        } else {
            word = 0;
            for (int b = 0; b < 8 && (bit >>> 3) + b < length; b++) {
                word |= (enc[k + (bit >>> 3) + b] & 0xffL) << 8 * b;
            }
        }
        int half = ((h & 0x7fe0) | (int) Long.expand(word >>> (bit & 7), mask)) & -nz;
        if (fp32) {
            int lo = lowAt < 0 || fields == 0 ? 0 : (short) SHORT_LE.get(enc, lowAt + 2 * c) & 0xffff;
            INT_LE.set(out, p + 4 * i, (half << 16 | lo) & -nz);
        } else {
            SHORT_LE.set(out, p + 2 * i, (short) half);
        }
        return m + nz;
    }

    private static CorruptDataException corrupt(String what, String expected, String actual) {
        return new CorruptDataException(what, expected, actual);
    }
}
