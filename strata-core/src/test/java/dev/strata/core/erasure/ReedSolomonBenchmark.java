package dev.strata.core.erasure;

import java.util.Random;

/**
 * Single-thread encode / decode throughput, as JSON lines. MB/s counts data bytes (the stripe),
 * 10^6 bytes per MB. Decode erases m data shards (the costly case: inversion + recomputation).
 * Run: {@code java -cp strata-core/target/classes:strata-core/target/test-classes dev.strata.core.erasure.ReedSolomonBenchmark}
 */
public final class ReedSolomonBenchmark {
    public static void main(String[] args) {
        int stripe = 1 << 20;
        double seconds = args.length > 0 ? Double.parseDouble(args[0]) : 2.0;
        int[][] codes = {{4, 2}, {8, 3}};
        for (int[] code : codes) {
            run(code[0], code[1], stripe, seconds);
        }
    }

    private static void run(int k, int m, int stripe, double seconds) {
        ReedSolomon rs = new ReedSolomon(k, m);
        int len = stripe / k;
        Random r = new Random(42);
        byte[][] data = new byte[k][len];
        for (byte[] d : data) {
            r.nextBytes(d);
        }
        byte[][] parity = new byte[m][len];
        // warm-up
        for (int i = 0; i < 200; i++) {
            rs.encode(data, parity);
        }
        long ops = 0;
        long t0 = System.nanoTime();
        long deadline = t0 + (long) (seconds * 1e9);
        while (System.nanoTime() < deadline) {
            rs.encode(data, parity);
            ops++;
        }
        double encMBs = ops * (double) (k * len) / 1e6 / ((System.nanoTime() - t0) / 1e9);

        byte[][] shards = new byte[k + m][];
        System.arraycopy(data, 0, shards, 0, k);
        System.arraycopy(parity, 0, shards, k, m);
        boolean[] present = new boolean[k + m];
        java.util.Arrays.fill(present, true);
        for (int i = 0; i < m; i++) {
            present[i] = false; // lose m data shards
        }
        byte[][] work = shards.clone();
        for (int i = 0; i < m; i++) {
            work[i] = new byte[len];
        }
        for (int i = 0; i < 200; i++) {
            rs.decode(work, present);
        }
        for (int i = 0; i < m; i++) {
            if (!java.util.Arrays.equals(work[i], data[i])) {
                throw new AssertionError("decode mismatch");
            }
        }
        ops = 0;
        t0 = System.nanoTime();
        deadline = t0 + (long) (seconds * 1e9);
        while (System.nanoTime() < deadline) {
            rs.decode(work, present);
            ops++;
        }
        double decMBs = ops * (double) (k * len) / 1e6 / ((System.nanoTime() - t0) / 1e9);
        System.out.printf("{\"code\":\"%d+%d\",\"stripe_bytes\":%d,\"threads\":1,\"encode_mb_s\":%.1f,\"decode_%d_erasures_mb_s\":%.1f}%n",
                k, m, k * len, encMBs, m, decMBs);
    }
}
