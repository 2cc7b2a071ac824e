package dev.strata.core.codec;

import dev.strata.core.CorruptDataException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * FLOAT version 2, BF16 only (docs/format.md, "Float, version 2"; decision 0020): each element
 * splits into a 10-bit symbol — its exponent and the top two mantissa bits, bits 14..5 — coded
 * with {@link Huffman} in four streams (element quarters), and 6 bits stored as they are — the
 * sign and the low five mantissa bits — packed four elements to three bytes.
 *
 * <p>Why: the symbol carries the exponent's redundancy plus the little the top mantissa bits hold
 * given the exponent (~0.05 bit per element), which pays for Huffman's loss against rANS, and a
 * table lookup decodes about two symbols at once. The 6-bit fields move with one {@code pext} /
 * {@code pdep} per four elements ({@link Long#compress} / {@link Long#expand}). Every element
 * has its 6 bits, zeros included, so chunks with many zeros (residuals, moments) stay on version 1.
 *
 * <p>Layout after the common 4-byte header, the phase bytes and the trailing bytes: the code
 * table, 4 × u32 stream lengths, the packed low bits ({@code ceil(6·count / 8)} bytes, element i's
 * field at bit 6i, little-endian bit order: bits 0..4 the mantissa's low bits, bit 5 the sign),
 * then the four streams. Stream s holds elements {@code count·s/4} (rounded down) up to the next
 * stream's first.
 */
final class Bf16Huffman {
    static final int VERSION = 2;
    static final int SYMBOLS = Huffman.MAX_SYMBOLS;
    static final int SHIFT = 5;
    /** The bits of four little-endian elements that are not in their symbols: sign, mantissa 4..0. */
    private static final long LOW_BITS = 0x801f_801f_801f_801fL;
    private static final int STREAMS = 4;
    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    /** Decoded symbol s is written as its element's bits 14..5. */
    private static final int[] PAYLOAD = new int[SYMBOLS];

    static {
        for (int s = 0; s < SYMBOLS; s++) {
            PAYLOAD[s] = s << SHIFT;
        }
    }

    private Bf16Huffman() {}

    /**
     * Symbol counts of the {@code count} elements at {@code raw[p..]}: one array per stream (its
     * quarter of the elements), then the total.
     */
    static int[][] counts(byte[] raw, int p, int count) {
        int[] bounds = bounds(count);
        int[][] c = new int[STREAMS + 1][SYMBOLS];
        int[] total = c[STREAMS];
        // Four histograms, so that runs of one symbol do not wait on their own increments.
        int[] x = new int[SYMBOLS];
        int[] y = new int[SYMBOLS];
        int[] z = new int[SYMBOLS];
        for (int s = 0; s < STREAMS; s++) {
            int[] a = c[s];
            int i = bounds[s];
            int j = p + 2 * i;
            for (; i + 3 < bounds[s + 1]; i += 4, j += 8) {
                long four = (long) LONG_LE.get(raw, j);
                a[(int) (four >>> SHIFT) & (SYMBOLS - 1)]++;
                x[(int) (four >>> (16 + SHIFT)) & (SYMBOLS - 1)]++;
                y[(int) (four >>> (32 + SHIFT)) & (SYMBOLS - 1)]++;
                z[(int) (four >>> (48 + SHIFT)) & (SYMBOLS - 1)]++;
            }
            for (; i < bounds[s + 1]; i++, j += 2) {
                a[((short) SHORT_LE.get(raw, j) & 0xffff) >>> SHIFT & (SYMBOLS - 1)]++;
            }
            for (int k = 0; k < SYMBOLS; k++) {
                a[k] += x[k] + y[k] + z[k];
                total[k] += a[k];
                x[k] = 0;
                y[k] = 0;
                z[k] = 0;
            }
        }
        return c;
    }

    /** Bytes of each stream for these counts (from {@link #counts}) and code lengths. */
    private static int[] streamLengths(int[][] counts, byte[] len) {
        int[] out = new int[STREAMS];
        for (int s = 0; s < STREAMS; s++) {
            long bits = 0;
            for (int k = 0; k < SYMBOLS; k++) {
                bits += (long) counts[s][k] * len[k];
            }
            out[s] = (int) ((bits + 7) / 8);
        }
        return out;
    }

    /** Exact length of {@link #encode} for a chunk of {@code n} bytes with these counts and code lengths. */
    static long length(int n, int p, int count, int[][] counts, byte[] len) {
        long total = FloatCodec.FIXED_HEADER + p + (n - p) % 2 + Huffman.tableLength(len) + 4L * STREAMS + (6L * count + 7) / 8;
        for (int l : streamLengths(counts, len)) {
            total += l;
        }
        return total;
    }

    /**
     * Encodes BF16 elements from byte {@code p} with these counts (from {@link #counts}) and code
     * lengths (from {@link Huffman#lengths} of the total).
     */
    static byte[] encode(byte[] raw, int p, int count, int[][] counts, byte[] len) {
        int n = raw.length;
        int t = n - p - 2 * count;
        int single = -1;
        int present = 0;
        for (int s = 0; s < SYMBOLS; s++) {
            if (counts[STREAMS][s] > 0) {
                present++;
                single = s;
            }
        }
        if (present > 1) {
            single = -1;
        }
        int[] lengths = streamLengths(counts, len);
        int planeLength = (int) ((6L * count + 7) / 8);
        int tableAt = FloatCodec.FIXED_HEADER + p + t;
        int tableLength = Huffman.tableLength(len);
        int planeAt = tableAt + tableLength + 4 * STREAMS;
        int streamsAt = planeAt + planeLength;
        byte[] out = new byte[streamsAt + lengths[0] + lengths[1] + lengths[2] + lengths[3]];
        out[0] = (byte) VERSION;
        out[1] = (byte) FloatFormat.BF16.id();
        out[2] = (byte) p;
        System.arraycopy(raw, 0, out, FloatCodec.FIXED_HEADER, p);
        System.arraycopy(raw, p + 2 * count, out, FloatCodec.FIXED_HEADER + p, t);
        Huffman.writeTable(len, single, out, tableAt);
        for (int s = 0; s < STREAMS; s++) {
            Rans.putU32(out, tableAt + tableLength + 4 * s, lengths[s]);
        }
        int groups = count >>> 2;
        int g = 0;
        // Three bytes per group, written as four (the fourth is rewritten by what follows).
        for (int j = p, at = planeAt; g < groups && at + 4 <= out.length; g++, j += 8, at += 3) {
            INT_LE.set(out, at, (int) Long.compress((long) LONG_LE.get(raw, j), LOW_BITS));
        }
        // The last groups: elements read one by one, bytes written one by one.
        for (int i = 4 * g; i < count; i += 4) {
            long four = 0;
            for (int e = 0; e < 4 && i + e < count; e++) {
                four |= ((short) SHORT_LE.get(raw, p + 2 * (i + e)) & 0xffffL) << 16 * e;
            }
            long bits = Long.compress(four, LOW_BITS);
            int at = planeAt + 3 * (i >>> 2);
            for (int b = 0; b < 3 && at + b < planeAt + planeLength; b++) {
                out[at + b] = (byte) (bits >>> 8 * b);
            }
        }
        if (single < 0) {
            // In order: each stream's last 8-byte write may spill into the next one's start.
            int[] bounds = bounds(count);
            int[] codes = Huffman.codes(len);
            for (int s = 0, at = streamsAt; s < STREAMS; at += lengths[s], s++) {
                int end = Huffman.encode16(raw, p + 2 * bounds[s], bounds[s + 1] - bounds[s], SHIFT, codes, out, at);
                if (end != at + lengths[s]) {
                    throw new IllegalStateException("stream " + s + " took " + (end - at) + " bytes, counted " + lengths[s]);
                }
            }
        }
        return out;
    }

    private static int[] bounds(int count) {
        int[] b = new int[STREAMS + 1];
        for (int s = 0; s <= STREAMS; s++) {
            b[s] = (int) ((long) count * s / STREAMS);
        }
        return b;
    }

    /**
     * Decodes a version-2 encoding (header already checked: BF16, phase {@code p}) into exactly
     * {@code rawLength} bytes. Allocates the output, the decoding table (32 KiB) and nothing sized
     * from a length inside the encoding.
     */
    static byte[] decode(byte[] enc, int rawLength, int p) {
        int count = (rawLength - p) / 2;
        int t = rawLength - p - 2 * count;
        int tableAt = FloatCodec.FIXED_HEADER + p + t;
        if (enc.length < tableAt) {
            throw corrupt("float header", "at least " + tableAt + " bytes", enc.length + " bytes");
        }
        byte[] len = new byte[SYMBOLS];
        int table = Huffman.readTable(enc, tableAt, enc.length, SYMBOLS, len);
        int single = table < 0 ? -1 - table : -1;
        int lengthsAt = tableAt + (table < 0 ? 5 : table);
        int planeLength = (int) ((6L * count + 7) / 8);
        int planeAt = lengthsAt + 4 * STREAMS;
        long total = (long) planeAt + planeLength;
        int[] starts = new int[STREAMS];
        int[] lengths = new int[STREAMS];
        if (enc.length < planeAt) {
            throw corrupt("float header", "at least " + planeAt + " bytes", enc.length + " bytes");
        }
        for (int s = 0; s < STREAMS; s++) {
            long l = Rans.u32(enc, lengthsAt + 4 * s);
            starts[s] = (int) Math.min(total, Integer.MAX_VALUE);
            lengths[s] = (int) Math.min(l, Integer.MAX_VALUE);
            total += l;
        }
        if (total != enc.length) {
            throw corrupt("float encoded length", Long.toString(total), Integer.toString(enc.length));
        }
        byte[] out = new byte[rawLength];
        System.arraycopy(enc, FloatCodec.FIXED_HEADER, out, 0, p);
        System.arraycopy(enc, FloatCodec.FIXED_HEADER + p, out, p + 2 * count, t);
        if (single >= 0) {
            for (int s = 0; s < STREAMS; s++) {
                if (lengths[s] != 0) {
                    throw corrupt("Huffman stream " + s + " length", "0 bytes (a single symbol)", lengths[s] + " bytes");
                }
            }
            short v = (short) PAYLOAD[single];
            for (int i = 0, j = p; i < count; i++, j += 2) {
                SHORT_LE.set(out, j, v);
            }
        } else {
            Huffman.decode16x4(enc, starts, lengths, len, PAYLOAD, bounds(count), out, p);
        }
        merge(enc, planeAt, planeLength, count, out, p);
        return out;
    }

    /** ORs each element's sign and low mantissa bits from the packed fields into the output. */
    private static void merge(byte[] enc, int planeAt, int planeLength, int count, byte[] out, int p) {
        int groups = count >>> 2;
        int g = 0;
        for (int at = planeAt, j = p; g < groups && at + 4 <= enc.length; g++, at += 3, j += 8) {
            long bits = (int) INT_LE.get(enc, at) & 0xffffffL;
            LONG_LE.set(out, j, (long) LONG_LE.get(out, j) & ~LOW_BITS | Long.expand(bits, LOW_BITS));
        }
        // The last groups: bytes read one by one, elements written one by one.
        for (int i = 4 * g; i < count; i += 4) {
            int at = planeAt + 3 * (i >>> 2);
            long bits = 0;
            for (int b = 0; b < 3 && at + b < planeAt + planeLength; b++) {
                bits |= (enc[at + b] & 0xffL) << 8 * b;
            }
            long low = Long.expand(bits, LOW_BITS);
            for (int e = 0; e < 4 && i + e < count; e++) {
                int j = p + 2 * (i + e);
                SHORT_LE.set(out, j, (short) ((short) SHORT_LE.get(out, j) & 0x7fe0 | (int) (low >>> 16 * e)));
            }
        }
        int used = 6 * (count & 3) % 8;
        if (used != 0 && (enc[planeAt + planeLength - 1] & 0xff) >>> used != 0) {
            throw corrupt("low-bits plane padding", "zero bits", "set bits");
        }
    }

    private static CorruptDataException corrupt(String what, String expected, String actual) {
        return new CorruptDataException(what, expected, actual);
    }
}
