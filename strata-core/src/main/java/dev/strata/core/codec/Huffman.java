package dev.strata.core.codec;

import dev.strata.core.CorruptDataException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;

/**
 * Length-limited canonical Huffman codes for the symbol streams of FLOAT version 2
 * (docs/format.md, "Huffman streams"; decision 0020). Codes are at most {@link #MAX_LEN} bits, so
 * a decoder looks up {@link #MAX_LEN} bits at a time in one table whose entries hold up to three
 * whole codes: about two symbols per lookup on BF16 weights, against one per step for rANS.
 *
 * <p>Code table on the wire: u16 first symbol, u16 span, then {@code ceil(span / 2)} bytes of
 * 4-bit code lengths for symbols first..first+span−1 (low nibble first, 0 = absent). The first
 * and last symbol of the span are present. The code must be complete (Kraft sum exactly 1), with
 * one exception: a span of 1 is a single symbol coded in 0 bits (nibble 0).
 *
 * <p>A code is canonical: shorter codes first, equal lengths by increasing symbol. Bits are
 * written most significant first; a stream ends with zero bits up to the next byte.
 */
final class Huffman {
    static final int MAX_LEN = 12;
    /** Streams of at least this many symbols in all are decoded with up to three codes per lookup. */
    private static final int MULTI_SYMBOL_MIN = 1 << 15;
    /** Alphabets have at most this many symbols. */
    static final int MAX_SYMBOLS = 2048;
    private static final int TABLE_SIZE = 1 << MAX_LEN;
    private static final VarHandle LONG_BE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.BIG_ENDIAN);
    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private Huffman() {}

    /**
     * Code lengths for symbols with these counts (0 for absent symbols): a complete code of at most
     * {@link #MAX_LEN} bits; a single present symbol gets length 0. At least one count must be
     * positive.
     */
    static byte[] lengths(int[] counts) {
        int a = counts.length;
        int m = 0;
        for (int c : counts) {
            if (c > 0) {
                m++;
            }
        }
        byte[] len = new byte[a];
        if (m == 0) {
            throw new IllegalArgumentException("no symbol present");
        }
        // Symbols by increasing count (ties by symbol, so the code is deterministic).
        long[] keyed = new long[m];
        for (int s = 0, i = 0; s < a; s++) {
            if (counts[s] > 0) {
                keyed[i++] = (long) counts[s] << 16 | s;
            }
        }
        Arrays.sort(keyed);
        if (m == 1) {
            return len; // the single symbol: length 0
        }
        // Two-queue Huffman: leaves 0..m-1 in increasing weight, internal nodes m..2m-2 as made
        // (their weights never decrease).
        long[] w = new long[2 * m - 1];
        int[] parent = new int[2 * m - 1];
        for (int i = 0; i < m; i++) {
            w[i] = keyed[i] >>> 16;
        }
        int leaf = 0;
        int inner = m;
        for (int next = m; next < 2 * m - 1; next++) {
            int x = leaf < m && (inner >= next || w[leaf] <= w[inner]) ? leaf++ : inner++;
            int y = leaf < m && (inner >= next || w[leaf] <= w[inner]) ? leaf++ : inner++;
            w[next] = w[x] + w[y];
            parent[x] = next;
            parent[y] = next;
        }
        int[] depth = new int[2 * m - 1];
        int[] perLength = new int[MAX_LEN + 1];
        for (int node = 2 * m - 3; node >= 0; node--) {
            depth[node] = depth[parent[node]] + 1;
        }
        for (int i = 0; i < m; i++) {
            perLength[Math.min(depth[i], MAX_LEN)]++;
        }
        // Limit to MAX_LEN bits: the leaves cut to MAX_LEN overfill the code; each step below takes
        // one code off MAX_LEN and splits a shorter one into two one bit longer, until the Kraft
        // sum is exactly 1 again (the way zlib-style encoders limit lengths).
        long kraft = 0;
        for (int l = 1; l <= MAX_LEN; l++) {
            kraft += (long) perLength[l] << (MAX_LEN - l);
        }
        while (kraft > TABLE_SIZE) {
            perLength[MAX_LEN]--;
            for (int l = MAX_LEN - 1; l > 0; l--) {
                if (perLength[l] > 0) {
                    perLength[l]--;
                    perLength[l + 1] += 2;
                    break;
                }
            }
            kraft--;
        }
        // Shortest lengths to the most frequent symbols (the end of the sorted array).
        int i = m - 1;
        for (int l = 1; l <= MAX_LEN; l++) {
            for (int c = perLength[l]; c > 0; c--, i--) {
                len[(int) (keyed[i] & 0xffff)] = (byte) l;
            }
        }
        return len;
    }

    /** Bits these code lengths spend over the order-0 entropy of symbols with these counts. */
    static double excessBits(int[] counts, byte[] len) {
        long n = 0;
        for (int c : counts) {
            n += c;
        }
        double excess = 0;
        for (int s = 0; s < counts.length; s++) {
            if (counts[s] > 0) {
                excess += counts[s] * (len[s] + Math.log((double) counts[s] / n) / Math.log(2));
            }
        }
        return excess;
    }

    /** Canonical codes for these lengths: code << 4 | length per symbol (0 for absent symbols). */
    static int[] codes(byte[] len) {
        int[] perLength = new int[MAX_LEN + 1];
        for (byte l : len) {
            perLength[l]++;
        }
        perLength[0] = 0;
        int[] next = new int[MAX_LEN + 2];
        int code = 0;
        for (int l = 1; l <= MAX_LEN; l++) {
            code = (code + perLength[l - 1]) << 1;
            next[l] = code;
        }
        int[] out = new int[len.length];
        for (int s = 0; s < len.length; s++) {
            int l = len[s];
            if (l > 0) {
                out[s] = next[l]++ << 4 | l;
            }
        }
        return out;
    }

    /** Bytes of the code table for these lengths. */
    static int tableLength(byte[] len) {
        int[] r = span(len);
        return 4 + (r[1] + 1) / 2;
    }

    /** {first present symbol, span}; a single symbol of length 0 counts as present. */
    private static int[] span(byte[] len) {
        int first = -1;
        int last = -1;
        int present = 0;
        for (int s = 0; s < len.length; s++) {
            if (len[s] > 0) {
                present++;
                last = s;
                if (first < 0) {
                    first = s;
                }
            }
        }
        return present == 0 ? new int[] {-1, 1} : new int[] {first, last - first + 1};
    }

    /** Writes the code table at {@code out[at]}; {@code single} is the symbol when only one is present. */
    static int writeTable(byte[] len, int single, byte[] out, int at) {
        int[] r = span(len);
        int first = r[0] < 0 ? single : r[0];
        int span = r[1];
        Rans.putU16(out, at, first);
        Rans.putU16(out, at + 2, span);
        for (int i = 0; i < span; i++) {
            out[at + 4 + i / 2] |= (byte) (len[first + i] << 4 * (i & 1));
        }
        return 4 + (span + 1) / 2;
    }

    /**
     * Reads and checks a code table at {@code in[at..end)} for an alphabet of {@code alphabet}
     * symbols; fills {@code len} (length {@code alphabet}) and returns the table's length in bytes.
     * A single symbol is returned as {@code -1 - symbol} (its length stays 0).
     */
    static int readTable(byte[] in, int at, int end, int alphabet, byte[] len) {
        if (end - at < 4) {
            throw corrupt("Huffman table", "at least 4 bytes", (end - at) + " bytes");
        }
        int first = Rans.u16(in, at);
        int span = Rans.u16(in, at + 2);
        if (span < 1 || first + span > alphabet) {
            throw corrupt("Huffman symbol range", "1 or more symbols below " + alphabet, first + " + " + span);
        }
        int bytes = 4 + (span + 1) / 2;
        if (end - at < bytes) {
            throw corrupt("Huffman table", "at least " + bytes + " bytes", (end - at) + " bytes");
        }
        if ((span & 1) == 1 && (in[at + bytes - 1] & 0xf0) != 0) {
            throw corrupt("Huffman table padding nibble", "0", Integer.toString(in[at + bytes - 1] >>> 4 & 0xf));
        }
        if (span == 1) {
            if ((in[at + 4] & 0xf) != 0) {
                throw corrupt("Huffman single-symbol length", "0", Integer.toString(in[at + 4] & 0xf));
            }
            return -1 - first;
        }
        long kraft = 0;
        for (int i = 0; i < span; i++) {
            int l = in[at + 4 + i / 2] >>> 4 * (i & 1) & 0xf;
            if (l > MAX_LEN) {
                throw corrupt("Huffman code length of symbol " + (first + i), "at most " + MAX_LEN, Integer.toString(l));
            }
            len[first + i] = (byte) l;
            kraft += l == 0 ? 0 : 1L << (MAX_LEN - l);
        }
        if (len[first] == 0 || len[first + span - 1] == 0) {
            throw corrupt("Huffman symbol range", "first and last symbols present", "an absent end");
        }
        if (kraft != TABLE_SIZE) {
            throw corrupt("Huffman code", "complete (Kraft sum " + TABLE_SIZE + ")", Long.toString(kraft));
        }
        return bytes;
    }

    /**
     * The decoding table: for each {@link #MAX_LEN}-bit window, up to three whole codes in it, as
     * four 16-bit fields that the decoder stores as they are: fields 0..2 the payloads
     * ({@code payload[symbol]}, first code first, {@code 0} where fewer codes fit), field 3 twice the
     * number of codes (1..3). The payloads' low five bits are free (the caller's payloads have them
     * zero and it clears them after decoding), so field 0 carries the bits the codes take (bits
     * 0..3) and field 1 the first code's length (bits 16..19, for decoding one symbol at a time).
     * Without {@code multi}, one code per window (count 1). (A single symbol coded in 0 bits has
     * no streams to decode: callers fill its elements.)
     */
    private static void fillDecodeTable(byte[] len, int[] payload, long[] t, boolean multi) {
        // One code per window first: payload | length << 16, filling each code's range of windows.
        int[] one = multi ? new int[TABLE_SIZE] : null;
        int[] codes = codes(len);
        for (int s = 0; s < len.length; s++) {
            int l = len[s];
            if (l > 0) {
                int from = (codes[s] >>> 4) << (MAX_LEN - l);
                if (multi) {
                    Arrays.fill(one, from, from + (1 << (MAX_LEN - l)), payload[s] & 0xffff | l << 16);
                } else {
                    Arrays.fill(t, from, from + (1 << (MAX_LEN - l)), payload[s] & 0xffe0 | l | (long) l << 16 | 2L << 48);
                }
            }
        }
        if (!multi) {
            return;
        }
        // A further code counts only when it lies wholly inside the window's known bits (no
        // branches: which windows take 2 or 3 codes is data, and mispredictions cost most here).
        for (int win = 0; win < TABLE_SIZE; win++) {
            int e1 = one[win];
            int l1 = e1 >>> 16;
            int e2 = one[(win << l1) & (TABLE_SIZE - 1)];
            int l2 = e2 >>> 16;
            int e3 = one[(win << (l1 + l2)) & (TABLE_SIZE - 1)];
            int l3 = e3 >>> 16;
            long has2 = (MAX_LEN - l1 - l2) >> 31 ^ -1L; // all ones when the second fits
            long has3 = has2 & ((MAX_LEN - l1 - l2 - l3) >> 31 ^ -1L);
            long used = l1 + (l2 & has2) + (l3 & has3);
            long n = 1 + (has2 & 1) + (has3 & 1);
            t[win] = (e1 & 0xffe0 | used) | ((e2 & 0xffe0L) & has2 | l1) << 16 | ((e3 & 0xffe0L) & has3) << 32 | n << 49;
        }
    }

    /**
     * Encodes the 16-bit little-endian elements {@code raw[at + 2i]}, i in [0, n), as the symbols
     * {@code (v >>> shift) & mask} (codes from {@link #codes}; mask below {@link #MAX_SYMBOLS}) into {@code out} from {@code pos}; returns the end position. Up
     * to 8 bytes past the end may be written too (within {@code out}): zero bits or stale ones
     * the caller writes over.
     */
    static int encode16(byte[] raw, int at, int n, int shift, int mask, int[] codes, byte[] out, int pos) {
        // Local tables of the largest alphabet's size, split: no bounds checks, no unpacking per
        // symbol, and one constant mask whatever the caller's (bits outside it alias its symbols).
        int[] code = new int[MAX_SYMBOLS];
        int[] size = new int[MAX_SYMBOLS];
        for (int s = 0; s < MAX_SYMBOLS; s++) {
            int c = codes[s & mask];
            code[s] = c >>> 4;
            size[s] = c & 15;
        }
        int shift16 = 16 + shift;
        long acc = 0;
        int bits = 0;
        int i = 0;
        int j = at;
        int lastWrite = out.length - 8;
        // A round of four symbols moves pos by at most 6 bytes: counted batches of rounds whose
        // 8-byte writes are surely inside (A/B in one JVM, with pack's counted loop: BF16 encoding
        // 10-16 % faster than checking pos in the loop condition).
        while (i + 3 < n && pos <= lastWrite) {
            int rounds = Math.min((n - i) >> 2, (lastWrite - pos) / 6 + 1);
            for (int end = i + 4 * rounds; i < end; i += 4, j += 8) {
                long four = (long) LONG_LE.get(raw, j);
                int lo = (int) four;
                int hi = (int) (four >>> 32);
                int s0 = lo >>> shift & (MAX_SYMBOLS - 1);
                int s1 = lo >>> shift16 & (MAX_SYMBOLS - 1);
                int s2 = hi >>> shift & (MAX_SYMBOLS - 1);
                int s3 = hi >>> shift16 & (MAX_SYMBOLS - 1);
                // The four codes joined in pairs first, so that acc waits on one shift per four symbols.
                int l1 = size[s1];
                int l3 = size[s3];
                int l23 = size[s2] + l3;
                long c01 = (long) code[s0] << l1 | code[s1];
                long c23 = (long) code[s2] << l3 | code[s3];
                int l = size[s0] + l1 + l23;
                acc = acc << l | c01 << l23 | c23;
                bits += l;
                // At most 7 + 4 × 12 = 55 bits pending: write them all, keep the partial byte.
                LONG_BE.set(out, pos, acc << (64 - bits));
                pos += bits >>> 3;
                bits &= 7;
            }
        }
        for (; i < n; i++, j += 2) {
            int c = codes[((short) SHORT_LE.get(raw, j) & 0xffff) >>> shift & mask];
            acc = acc << (c & 15) | c >>> 4;
            bits += c & 15;
            for (; bits >= 8; bits -= 8) {
                out[pos++] = (byte) (acc >>> (bits - 8));
            }
        }
        if (bits > 0) {
            out[pos++] = (byte) (acc << (8 - bits));
        }
        return pos;
    }

    /**
     * Decodes four streams of 16-bit elements at once: stream s occupies
     * {@code in[starts[s]..starts[s] + lengths[s])} and fills elements {@code bounds[s]} to
     * {@code bounds[s + 1] − 1}, element i written little-endian at {@code out[outPos + 2i]} as the
     * payload of its symbol (as in {@link #fillDecodeTable}). Each stream must use exactly its bytes and
     * end with zero padding bits; otherwise {@link CorruptDataException}. Reads never leave
     * {@code in}, writes never leave the elements.
     */
    static void decode16x4(byte[] in, int[] starts, int[] lengths, byte[] len, int[] payload, int[] bounds, byte[] out, int outPos) {
        // Allocated here, so that the JIT knows its length and drops the masked lookups' bounds checks.
        long[] t = new long[TABLE_SIZE];
        // Small chunks: one code per lookup; the three-code table costs more to build (~30 µs)
        // than it saves below about 32K symbols (measured).
        fillDecodeTable(len, payload, t, bounds[4] - bounds[0] >= MULTI_SYMBOL_MIN);
        int[] ends = new int[4];
        decodeQuad(in, t, starts, outPos, bounds, out, ends);
        for (int s = 0; s < 4; s++) {
            checkEnd(in, s, starts[s], lengths[s], ends[s]);
        }
    }

    /**
     * Decodes the four streams together into their elements and returns, in {@code ends}, the bit
     * position where each stopped. Why four at once: a lookup waits on the previous one of its
     * stream (shift, table load, shift: ~8 cycles), so independent streams fill that wait (measured
     * A/B in one JVM: BF16 decoding 11-14 % faster than two at a time, FP32 5 %). Each round
     * reloads a stream's bit buffer from its bit position (8 bytes, at least 57 valid bits) and takes
     * four codes (at most 48 bits) without checks, while every stream's next read and next 12
     * elements are surely inside; then each stream's rest on its own ({@link #finish}).
     */
    private static void decodeQuad(byte[] in, long[] t, int[] starts, int outPos, int[] bounds, byte[] out, int[] ends) {
        long b0, b1, b2, b3;
        int p0 = starts[0] << 3, p1 = starts[1] << 3, p2 = starts[2] << 3, p3 = starts[3] << 3;
        int j0 = outPos + 2 * bounds[0], j1 = outPos + 2 * bounds[1], j2 = outPos + 2 * bounds[2], j3 = outPos + 2 * bounds[3];
        int e0 = j1, e1 = j2, e2 = j3, e3 = outPos + 2 * bounds[4];
        int lastRead = in.length - 8;
        while (true) {
            // A round moves a stream at most 6 bytes and 12 elements.
            int k = Math.min(Math.min(Math.min((lastRead - (p0 >>> 3)) / 6, (lastRead - (p1 >>> 3)) / 6),
                            Math.min((lastRead - (p2 >>> 3)) / 6, (lastRead - (p3 >>> 3)) / 6)),
                    Math.min(Math.min(((e0 - j0) / 2 - 1) / 12, ((e1 - j1) / 2 - 1) / 12),
                            Math.min(((e2 - j2) / 2 - 1) / 12, ((e3 - j3) / 2 - 1) / 12)));
            if (k <= 0 || (p0 >>> 3) > lastRead || (p1 >>> 3) > lastRead || (p2 >>> 3) > lastRead || (p3 >>> 3) > lastRead) {
                break;
            }
            for (int round = 0; round < k; round++) {
                b0 = (long) LONG_BE.get(in, p0 >>> 3) << (p0 & 7);
                b1 = (long) LONG_BE.get(in, p1 >>> 3) << (p1 & 7);
                b2 = (long) LONG_BE.get(in, p2 >>> 3) << (p2 & 7);
                b3 = (long) LONG_BE.get(in, p3 >>> 3) << (p3 & 7);
                for (int step = 0; step < 4; step++) {
                    long w0 = t[(int) (b0 >>> 52)];
                    long w1 = t[(int) (b1 >>> 52)];
                    long w2 = t[(int) (b2 >>> 52)];
                    long w3 = t[(int) (b3 >>> 52)];
                    LONG_LE.set(out, j0, w0);
                    LONG_LE.set(out, j1, w1);
                    LONG_LE.set(out, j2, w2);
                    LONG_LE.set(out, j3, w3);
                    int n0 = (int) w0 & 15, n1 = (int) w1 & 15, n2 = (int) w2 & 15, n3 = (int) w3 & 15;
                    b0 <<= n0;
                    b1 <<= n1;
                    b2 <<= n2;
                    b3 <<= n3;
                    p0 += n0;
                    p1 += n1;
                    p2 += n2;
                    p3 += n3;
                    j0 += (int) (w0 >>> 48);
                    j1 += (int) (w1 >>> 48);
                    j2 += (int) (w2 >>> 48);
                    j3 += (int) (w3 >>> 48);
                }
            }
        }
        // Streams whose elements decode at different rates (a quarter of zeros takes three per
        // lookup, a quarter of weights two) stop the loop when the fastest nears its end.
        ends[0] = finish(in, t, p0, j0, e0, out);
        ends[1] = finish(in, t, p1, j1, e1, out);
        ends[2] = finish(in, t, p2, j2, e2, out);
        ends[3] = finish(in, t, p3, j3, e3, out);
    }

    /** Decodes one stream from bit position {@code p} with {@link #decodeQuad}'s rounds while they are safe, then {@link #tail}. */
    private static int finish(byte[] in, long[] t, int p, int j, int e, byte[] out) {
        int lastRead = in.length - 8;
        while (true) {
            int k = Math.min((lastRead - (p >>> 3)) / 6, ((e - j) / 2 - 1) / 12);
            if (k <= 0 || (p >>> 3) > lastRead) {
                break;
            }
            for (int round = 0; round < k; round++) {
                long b = (long) LONG_BE.get(in, p >>> 3) << (p & 7);
                for (int step = 0; step < 4; step++) {
                    long w = t[(int) (b >>> 52)];
                    LONG_LE.set(out, j, w);
                    int n = (int) w & 15;
                    b <<= n;
                    p += n;
                    j += (int) (w >>> 48);
                }
            }
        }
        return tail(in, t, p, j, e, out);
    }

    /** Decodes one symbol at a time until element position {@code end}, with bounds-checked reads. */
    private static int tail(byte[] in, long[] t, int bp, int j, int end, byte[] out) {
        for (; j < end; j += 2) {
            long w = t[peek(in, bp)];
            SHORT_LE.set(out, j, (short) w);
            bp += (int) (w >>> 16) & 15;
            if (bp > in.length << 3) {
                throw corrupt("Huffman stream", "enough bits for every symbol", "the end of the data");
            }
        }
        return bp;
    }

    /** The 12 bits at bit position {@code bp} (zeros past the end of {@code in}). */
    private static int peek(byte[] in, int bp) {
        int at = bp >>> 3;
        int v = 0;
        for (int b = 0; b < 3; b++) {
            v = v << 8 | (at + b < in.length ? in[at + b] & 0xff : 0);
        }
        return (v << (bp & 7)) >>> 12 & (TABLE_SIZE - 1);
    }

    private static void checkEnd(byte[] in, int s, int start, int length, int bp) {
        int used = bp - (start << 3);
        if ((used + 7) >>> 3 != length) {
            throw corrupt("Huffman stream " + s + " length", ((used + 7) >>> 3) + " bytes for its symbols", length + " bytes");
        }
        if ((bp & 7) != 0 && (in[bp >>> 3] & (0xff >>> (bp & 7))) != 0) {
            throw corrupt("Huffman stream " + s + " padding", "zero bits", "set bits");
        }
    }

    private static CorruptDataException corrupt(String what, String expected, String actual) {
        return new CorruptDataException(what, expected, actual);
    }
}
