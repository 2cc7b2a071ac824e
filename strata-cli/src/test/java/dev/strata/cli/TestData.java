package dev.strata.cli;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.SplittableRandom;

/** Seeded test content: BF16-like weights (normal, std 0.02) and fast pseudo-random bytes. */
final class TestData {
    private TestData() {}

    /** {@code n} bytes of bfloat16 values drawn from N(0, 0.02), like freshly initialised weights. */
    static byte[] bf16(long seed, int n) {
        SplittableRandom r = new SplittableRandom(seed);
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.remaining() >= 2) {
            float f = (float) (gaussian(r) * 0.02);
            b.putShort((short) (Float.floatToRawIntBits(f) >>> 16));
        }
        return b.array();
    }

    private static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(1 - u)) * Math.cos(2 * Math.PI * v);
    }

    /** Writes {@code size} pseudo-random bytes (xorshift, fast enough for GiB files) to {@code file}. */
    static void randomFile(Path file, long size, long seed) throws IOException {
        long x = seed | 1;
        byte[] buf = new byte[1 << 20];
        ByteBuffer bb = ByteBuffer.wrap(buf);
        try (OutputStream out = Files.newOutputStream(file)) {
            long left = size;
            while (left > 0) {
                bb.clear();
                while (bb.remaining() >= 8) {
                    x ^= x << 13;
                    x ^= x >>> 7;
                    x ^= x << 17;
                    bb.putLong(x);
                }
                int n = (int) Math.min(left, buf.length);
                out.write(buf, 0, n);
                left -= n;
            }
        }
    }
}
