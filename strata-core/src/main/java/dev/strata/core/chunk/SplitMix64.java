package dev.strata.core.chunk;

/**
 * SplitMix64 (Steele, Lea, Flood 2014), the generator behind the Gear table. Chosen because it is
 * a dozen lines in any language, so other implementations (the Python SDK) can rebuild the table
 * bit for bit; docs/chunking.md gives the exact steps. Not thread-safe.
 */
final class SplitMix64 {
    static final long GOLDEN_GAMMA = 0x9E3779B97F4A7C15L;
    private long state;

    SplitMix64(long seed) {
        this.state = seed;
    }

    long next() {
        state += GOLDEN_GAMMA;
        long z = state;
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** Fills {@code dst} with successive outputs, each written as 8 little-endian bytes (a final partial word is truncated). */
    void nextBytes(byte[] dst) {
        int i = 0;
        while (i < dst.length) {
            long v = next();
            for (int b = 0; b < 8 && i < dst.length; b++, i++) {
                dst[i] = (byte) (v >>> (8 * b));
            }
        }
    }
}
