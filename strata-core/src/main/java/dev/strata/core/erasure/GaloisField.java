package dev.strata.core.erasure;

/**
 * Arithmetic in GF(2^8) with the primitive polynomial x^8 + x^4 + x^3 + x^2 + 1 (0x11D), the field
 * used by most Reed-Solomon storage codes. Elements are ints 0..255. Addition is XOR. Multiplication
 * uses log/exp tables; {@link #mulTable(int)} hands out a precomputed 256-entry row per coefficient
 * (the full 256×256 table, 64 KiB) for the inner loops of {@link ReedSolomon}.
 */
public final class GaloisField {
    /** The field polynomial, including the x^8 term. */
    public static final int POLYNOMIAL = 0x11D;

    private static final int[] EXP = new int[512];
    private static final int[] LOG = new int[256];
    private static final byte[][] MUL = new byte[256][256];

    static {
        int x = 1;
        for (int i = 0; i < 255; i++) {
            EXP[i] = x;
            LOG[x] = i;
            x <<= 1;
            if ((x & 0x100) != 0) {
                x ^= POLYNOMIAL;
            }
        }
        for (int i = 255; i < EXP.length; i++) {
            EXP[i] = EXP[i - 255];
        }
        for (int a = 0; a < 256; a++) {
            for (int b = 0; b < 256; b++) {
                MUL[a][b] = (byte) slowMultiply(a, b);
            }
        }
    }

    private GaloisField() {}

    private static int slowMultiply(int a, int b) {
        return a == 0 || b == 0 ? 0 : EXP[LOG[a] + LOG[b]];
    }

    private static int check(int a) {
        if (a < 0 || a > 255) {
            throw new IllegalArgumentException("not a GF(256) element: " + a);
        }
        return a;
    }

    public static int add(int a, int b) {
        return check(a) ^ check(b);
    }

    public static int multiply(int a, int b) {
        return MUL[check(a)][check(b)] & 0xFF;
    }

    public static int inverse(int a) {
        if (check(a) == 0) {
            throw new ArithmeticException("0 has no inverse in GF(256)");
        }
        return EXP[255 - LOG[a]];
    }

    public static int divide(int a, int b) {
        if (check(b) == 0) {
            throw new ArithmeticException("division by 0 in GF(256)");
        }
        return check(a) == 0 ? 0 : EXP[LOG[a] + 255 - LOG[b]];
    }

    /** a^n for n ≥ 0 (0^0 = 1). */
    public static int power(int a, int n) {
        if (n < 0) {
            throw new IllegalArgumentException("negative exponent " + n);
        }
        if (n == 0) {
            return 1;
        }
        return check(a) == 0 ? 0 : EXP[(int) ((long) LOG[a] * n % 255)];
    }

    /** The row of the multiplication table for coefficient c: {@code mulTable(c)[x & 0xFF] == c·x}. Do not modify. */
    static byte[] mulTable(int c) {
        return MUL[check(c)];
    }

    /** Inverts a square matrix over GF(256) (Gauss-Jordan). Throws ArithmeticException when singular. */
    static int[][] invert(int[][] matrix) {
        int n = matrix.length;
        int[][] a = new int[n][2 * n];
        for (int i = 0; i < n; i++) {
            if (matrix[i].length != n) {
                throw new IllegalArgumentException("matrix is not square");
            }
            System.arraycopy(matrix[i], 0, a[i], 0, n);
            a[i][n + i] = 1;
        }
        for (int col = 0; col < n; col++) {
            int pivot = col;
            while (pivot < n && a[pivot][col] == 0) {
                pivot++;
            }
            if (pivot == n) {
                throw new ArithmeticException("singular matrix");
            }
            int[] t = a[pivot];
            a[pivot] = a[col];
            a[col] = t;
            int inv = inverse(a[col][col]);
            for (int j = 0; j < 2 * n; j++) {
                a[col][j] = multiply(a[col][j], inv);
            }
            for (int r = 0; r < n; r++) {
                int f = a[r][col];
                if (r != col && f != 0) {
                    for (int j = 0; j < 2 * n; j++) {
                        a[r][j] ^= multiply(f, a[col][j]);
                    }
                }
            }
        }
        int[][] out = new int[n][n];
        for (int i = 0; i < n; i++) {
            System.arraycopy(a[i], n, out[i], 0, n);
        }
        return out;
    }
}
