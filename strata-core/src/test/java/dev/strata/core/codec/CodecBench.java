package dev.strata.core.codec;

import com.github.luben.zstd.Zstd;
import java.util.Random;

/**
 * Quick zstd-1 throughput check on one core: random bytes (the worst case) and BF16-like weights
 * (normal, std 0.02, kept as the top 16 bits of each float32, little-endian). Not a JMH benchmark:
 * numbers are indicative. Run: {@code java -cp <test-classpath> dev.strata.core.codec.CodecBench}.
 */
public final class CodecBench {
    private static final int CHUNK = 64 << 10;
    private static final int TOTAL = 256 << 20;

    public static void main(String[] args) {
        Random r = new Random(1);
        byte[] random = new byte[TOTAL];
        r.nextBytes(random);
        byte[] bf16 = new byte[TOTAL];
        for (int i = 0; i < TOTAL; i += 2) {
            int bits = Float.floatToRawIntBits((float) (r.nextGaussian() * 0.02)) >>> 16;
            bf16[i] = (byte) bits;
            bf16[i + 1] = (byte) (bits >>> 8);
        }
        for (int round = 0; round < 2; round++) { // round 0 warms up the JIT and the native library
            run(round == 1, "random", random);
            run(round == 1, "bf16 N(0,0.02)", bf16);
        }
    }

    private static void run(boolean print, String name, byte[] data) {
        int n = data.length / CHUNK;
        byte[][] compressed = new byte[n][];
        byte[] chunk = new byte[CHUNK];
        long encoded = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            System.arraycopy(data, i * CHUNK, chunk, 0, CHUNK);
            compressed[i] = Zstd.compress(chunk, Codecs.FAST_ZSTD_LEVEL);
            encoded += compressed[i].length;
        }
        long t1 = System.nanoTime();
        byte[] out = new byte[CHUNK];
        for (int i = 0; i < n; i++) {
            Zstd.decompressByteArray(out, 0, CHUNK, compressed[i], 0, compressed[i].length);
        }
        long t2 = System.nanoTime();
        if (print) {
            double mb = data.length / 1e6;
            System.out.printf("%-16s zstd-1 64KiB chunks: ratio %.3f, compress %.0f MB/s, decompress %.0f MB/s%n",
                    name, (double) encoded / data.length, mb / ((t1 - t0) / 1e9), mb / ((t2 - t1) / 1e9));
        }
    }
}
