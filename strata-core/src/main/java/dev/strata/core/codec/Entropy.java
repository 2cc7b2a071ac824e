package dev.strata.core.codec;

/** Order-0 byte entropy estimates used to pick candidate codecs cheaply. */
final class Entropy {
    private static final int TABLE = 1 << 16;
    /** c * log2(c) for c below {@link #TABLE}. */
    private static final float[] C_LOG_C = new float[TABLE];

    static {
        for (int c = 1; c < TABLE; c++) {
            C_LOG_C[c] = (float) (c * Math.log(c) / Math.log(2));
        }
    }

    private Entropy() {}

    /**
     * Entropy in bits per byte of {@code raw} as a whole, and the mean entropy of its byte planes
     * for elements of 2 and of 4 bytes (phase 0).
     */
    static double[] wholeAnd2And4Planes(byte[] raw) {
        int[][] h = new int[4][256];
        int n = raw.length;
        int i = 0;
        int[] h0 = h[0], h1 = h[1], h2 = h[2], h3 = h[3];
        for (; i + 3 < n; i += 4) {
            h0[raw[i] & 0xff]++;
            h1[raw[i + 1] & 0xff]++;
            h2[raw[i + 2] & 0xff]++;
            h3[raw[i + 3] & 0xff]++;
        }
        for (; i < n; i++) {
            h[i & 3][raw[i] & 0xff]++;
        }
        double s4 = 0, s2 = 0, s1 = 0;
        for (int r = 0; r < 4; r++) {
            s4 += sumCLogC(h[r]);
        }
        int[] even = new int[256], odd = new int[256], all = new int[256];
        for (int b = 0; b < 256; b++) {
            even[b] = h0[b] + h2[b];
            odd[b] = h1[b] + h3[b];
            all[b] = even[b] + odd[b];
        }
        s2 = sumCLogC(even) + sumCLogC(odd);
        s1 = sumCLogC(all);
        // H(plane) = log2(m) - sum(c log2 c)/m; summed over planes weighted by size, per byte.
        double e1 = log2(n) - s1 / n;
        double e2 = (cLogC(countOf(even)) + cLogC(countOf(odd)) - s2) / n;
        double e4 = (cLogC(countOf(h0)) + cLogC(countOf(h1)) + cLogC(countOf(h2)) + cLogC(countOf(h3)) - s4) / n;
        return new double[] {e1, e2, e4};
    }

    private static int countOf(int[] h) {
        int s = 0;
        for (int c : h) {
            s += c;
        }
        return s;
    }

    private static double sumCLogC(int[] h) {
        double s = 0;
        for (int c : h) {
            s += cLogC(c);
        }
        return s;
    }

    private static double cLogC(int c) {
        return c < TABLE ? C_LOG_C[c] : c * log2(c);
    }

    private static double log2(double x) {
        return Math.log(x) / Math.log(2);
    }
}
