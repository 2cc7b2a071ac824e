package dev.strata.core.chunk;

import java.util.Arrays;
import java.util.Objects;

/**
 * Content-defined chunking: normalized FastCDC (Xia et al., 2016/2020) at normalization level 2
 * over a Gear rolling hash. Boundaries depend only on content, so an edit moves only the chunks
 * around it and the rest deduplicate. Every constant here is part of the storage format
 * (docs/chunking.md): changing one changes every chunk id, so the test pins exact boundaries.
 *
 * <p>Stateless and thread-safe; the search allocates nothing.
 */
public final class GearChunker {
    /** No chunk is shorter, except the last one of a segment. */
    public static final int MIN_SIZE = 16 << 10;
    /** The normal point: the stricter mask is used before it, the looser after. */
    public static final int AVG_SIZE = 64 << 10;
    /** A chunk is cut here if no content boundary was found. */
    public static final int MAX_SIZE = 256 << 10;
    /** Before the normal point: the top 18 bits (log2(AVG_SIZE) + 2) must be zero. */
    public static final long MASK_S = 0xFFFF_C000_0000_0000L;
    /** From the normal point on: the top 14 bits (log2(AVG_SIZE) - 2) must be zero. */
    public static final long MASK_L = 0xFFFC_0000_0000_0000L;
    /** SplitMix64 seed of the Gear table: the ASCII bytes "STRATAC1" read big-endian. */
    public static final long GEAR_SEED = 0x5354_5241_5441_4331L;

    // Top bits are used because in a Gear hash bit k sees only the last k+1 bytes: bits 46..63
    // cover a 47..64 byte window, the low bits would cover just a few bytes.
    private static final long[] GEAR = buildGear();

    private GearChunker() {}

    private static long[] buildGear() {
        SplitMix64 rng = new SplitMix64(GEAR_SEED);
        long[] table = new long[256];
        for (int i = 0; i < table.length; i++) {
            table[i] = rng.next();
        }
        return table;
    }

    /** A copy of the 256-entry Gear table: entry i is the (i+1)-th SplitMix64 output from {@link #GEAR_SEED}. */
    public static long[] gearTable() {
        return GEAR.clone();
    }

    /**
     * The length of the chunk that starts at {@code data[offset]}, when {@code length} bytes are
     * available up to the end of the segment. Candidate lengths L = MIN_SIZE..MAX_SIZE are tried in
     * order; the hash (starting at 0) absorbs byte {@code offset+L-1} before L is tested, so the chunk
     * ends right after the byte that satisfied the mask. Fewer than MIN_SIZE+1 bytes left, or no cut
     * found before the end of the region, makes the remainder one chunk.
     *
     * @return a length in [1, min(length, MAX_SIZE)], or 0 when {@code length} is 0
     */
    public static int nextChunkLength(byte[] data, int offset, int length) {
        Objects.checkFromIndexSize(offset, length, data.length);
        if (length <= MIN_SIZE) {
            return length;
        }
        final long[] gear = GEAR;
        int end = offset + Math.min(length, MAX_SIZE);
        int normal = offset + Math.min(length, AVG_SIZE - 1);
        long h = 0;
        int i = offset + MIN_SIZE - 1;
        // Index i is the last byte of a candidate chunk of length i+1-offset.
        for (; i < normal; i++) {
            h = (h << 1) + gear[data[i] & 0xff];
            if ((h & MASK_S) == 0) {
                return i + 1 - offset;
            }
        }
        for (; i < end; i++) {
            h = (h << 1) + gear[data[i] & 0xff];
            if ((h & MASK_L) == 0) {
                return i + 1 - offset;
            }
        }
        return end - offset;
    }

    /** An upper bound on the number of chunks of a region: all but the last are at least MIN_SIZE long. */
    public static int maxChunks(int length) {
        return length / MIN_SIZE + 1;
    }

    /**
     * Chunks {@code data[offset, offset+length)} as one segment and writes the chunk lengths into
     * {@code lengths}, which the caller reuses across calls to stay allocation-free.
     *
     * @param lengths at least {@link #maxChunks(int) maxChunks(length)} long
     * @return the number of chunks written (0 for an empty region)
     */
    public static int chunkLengths(byte[] data, int offset, int length, int[] lengths) {
        Objects.checkFromIndexSize(offset, length, data.length);
        if (lengths.length < maxChunks(length)) {
            throw new IllegalArgumentException("lengths needs " + maxChunks(length) + " entries, has " + lengths.length);
        }
        int count = 0;
        int pos = offset;
        int end = offset + length;
        while (pos < end) {
            int n = nextChunkLength(data, pos, end - pos);
            lengths[count++] = n;
            pos += n;
        }
        return count;
    }

    /** Convenience form of {@link #chunkLengths(byte[], int, int, int[])} returning an exact array. */
    public static int[] chunkLengths(byte[] data, int offset, int length) {
        int[] lengths = new int[maxChunks(length)];
        return Arrays.copyOf(lengths, chunkLengths(data, offset, length, lengths));
    }
}
