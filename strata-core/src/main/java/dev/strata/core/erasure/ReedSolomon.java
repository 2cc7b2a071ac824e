package dev.strata.core.erasure;

import java.util.Arrays;

/**
 * A systematic Reed-Solomon erasure code over GF(256): k data shards, m parity shards, any k of the
 * k+m shards reconstruct the rest. The encoding matrix is [I_k ; C] where C is the m×k Cauchy matrix
 * C[i][j] = 1 / (x_i + y_j), x_i = k + i, y_j = j; every square submatrix of a Cauchy matrix is
 * invertible, so every choice of k rows of [I ; C] is. With k = 1 the parity rows are [1] instead:
 * plain replication, each parity shard a copy of the data shard.
 *
 * <p>This is an <em>erasure</em> code: {@link #decode} trusts every shard marked present. A shard
 * that is present but corrupt yields wrong output without an error; detecting corruption is the
 * caller's job (per-shard checksums, and the chunk id over the result), after which it marks the
 * shard missing.
 *
 * <p>Instances are immutable and thread-safe.
 */
public final class ReedSolomon {
    private final int k;
    private final int m;
    /** Parity rows of the encoding matrix, m × k. */
    private final int[][] parity;

    public ReedSolomon(int dataShards, int parityShards) {
        if (dataShards < 1) {
            throw new IllegalArgumentException("data shards must be ≥ 1, got " + dataShards);
        }
        if (parityShards < 0) {
            throw new IllegalArgumentException("parity shards must be ≥ 0, got " + parityShards);
        }
        if (dataShards + parityShards > 255) {
            throw new IllegalArgumentException("data + parity shards must be ≤ 255, got " + (dataShards + parityShards));
        }
        this.k = dataShards;
        this.m = parityShards;
        this.parity = new int[m][k];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < k; j++) {
                // k = 1: every 1×1 minor of [1 ; 1 ; ...] is invertible, so parity shards are plain copies.
                parity[i][j] = k == 1 ? 1 : GaloisField.inverse((k + i) ^ j);
            }
        }
    }

    public int dataShards() {
        return k;
    }

    public int parityShards() {
        return m;
    }

    public int totalShards() {
        return k + m;
    }

    /** Row {@code shard} of the (k+m)×k encoding matrix. */
    int[] row(int shard) {
        if (shard < k) {
            int[] r = new int[k];
            r[shard] = 1;
            return r;
        }
        return parity[shard - k].clone();
    }

    /**
     * Computes the m parity shards from the k data shards. All shards are non-null and of one length;
     * the parity arrays are overwritten.
     */
    public void encode(byte[][] data, byte[][] parityOut) {
        if (data == null || data.length != k) {
            throw new IllegalArgumentException("expected " + k + " data shards, got " + (data == null ? null : data.length));
        }
        if (parityOut == null || parityOut.length != m) {
            throw new IllegalArgumentException("expected " + m + " parity shards, got " + (parityOut == null ? null : parityOut.length));
        }
        int len = commonLength(data, "data");
        if (m > 0 && commonLength(parityOut, "parity") != len) {
            throw new IllegalArgumentException("parity shards are " + parityOut[0].length + " bytes, data shards " + len);
        }
        codeRows(parity, data, parityOut, len);
    }

    /**
     * Reconstructs every shard not marked present, in place: {@code shards} has k+m entries, data
     * shards first; entries with {@code present[i] == false} may be null (a new array is put there)
     * or an array of the shard length (overwritten). Present shards are trusted (see class doc).
     *
     * @throws InsufficientShardsException when fewer than k shards are present
     */
    public void decode(byte[][] shards, boolean[] present) {
        int n = k + m;
        if (shards == null || shards.length != n) {
            throw new IllegalArgumentException("expected " + n + " shards, got " + (shards == null ? null : shards.length));
        }
        if (present == null || present.length != n) {
            throw new IllegalArgumentException("expected " + n + " presence flags, got " + (present == null ? null : present.length));
        }
        int count = 0;
        int len = -1;
        for (int i = 0; i < n; i++) {
            if (present[i]) {
                count++;
                if (shards[i] == null) {
                    throw new IllegalArgumentException("shard " + i + " is marked present but is null");
                }
                if (len < 0) {
                    len = shards[i].length;
                } else if (shards[i].length != len) {
                    throw new IllegalArgumentException("shard " + i + " is " + shards[i].length + " bytes, expected " + len);
                }
            }
        }
        if (count < k) {
            throw new InsufficientShardsException(count, k);
        }
        if (count == n) {
            return;
        }
        for (int i = 0; i < n; i++) {
            if (!present[i]) {
                if (shards[i] == null) {
                    shards[i] = new byte[len];
                } else if (shards[i].length != len) {
                    throw new IllegalArgumentException("buffer for missing shard " + i + " is " + shards[i].length + " bytes, expected " + len);
                }
            }
        }
        // Missing data shards: invert the k rows of the chosen present shards.
        boolean dataMissing = false;
        for (int i = 0; i < k; i++) {
            dataMissing |= !present[i];
        }
        if (dataMissing) {
            int[][] sub = new int[k][];
            byte[][] inputs = new byte[k][];
            for (int i = 0, r = 0; r < k; i++) {
                if (present[i]) {
                    sub[r] = row(i);
                    inputs[r] = shards[i];
                    r++;
                }
            }
            int[][] inv = GaloisField.invert(sub);
            int missing = 0;
            for (int i = 0; i < k; i++) {
                missing += present[i] ? 0 : 1;
            }
            int[][] rows = new int[missing][];
            byte[][] outputs = new byte[missing][];
            for (int i = 0, r = 0; i < k; i++) {
                if (!present[i]) {
                    rows[r] = inv[i];
                    outputs[r] = shards[i];
                    r++;
                }
            }
            codeRows(rows, inputs, outputs, len);
        }
        // Missing parity shards: re-encode from the (now complete) data.
        int missingParity = 0;
        for (int i = k; i < n; i++) {
            missingParity += present[i] ? 0 : 1;
        }
        if (missingParity > 0) {
            int[][] rows = new int[missingParity][];
            byte[][] outputs = new byte[missingParity][];
            for (int i = k, r = 0; i < n; i++) {
                if (!present[i]) {
                    rows[r] = parity[i - k];
                    outputs[r] = shards[i];
                    r++;
                }
            }
            codeRows(rows, Arrays.copyOf(shards, k), outputs, len);
        }
    }

    /** outputs[r] = Σ_j rows[r][j] · inputs[j], over {@code len} bytes, in cache-sized blocks. */
    private static void codeRows(int[][] rows, byte[][] inputs, byte[][] outputs, int len) {
        final int block = 16 * 1024;
        for (int start = 0; start < len; start += block) {
            int end = Math.min(len, start + block);
            for (int r = 0; r < rows.length; r++) {
                byte[] out = outputs[r];
                int[] row = rows[r];
                byte[] t0 = GaloisField.mulTable(row[0]);
                byte[] in0 = inputs[0];
                for (int p = start; p < end; p++) {
                    out[p] = t0[in0[p] & 0xFF];
                }
                for (int j = 1; j < inputs.length; j++) {
                    byte[] t = GaloisField.mulTable(row[j]);
                    byte[] in = inputs[j];
                    for (int p = start; p < end; p++) {
                        out[p] ^= t[in[p] & 0xFF];
                    }
                }
            }
        }
    }

    private static int commonLength(byte[][] shards, String what) {
        int len = -1;
        for (int i = 0; i < shards.length; i++) {
            if (shards[i] == null) {
                throw new IllegalArgumentException(what + " shard " + i + " is null");
            }
            if (len < 0) {
                len = shards[i].length;
            } else if (shards[i].length != len) {
                throw new IllegalArgumentException(what + " shard " + i + " is " + shards[i].length + " bytes, expected " + len);
            }
        }
        return Math.max(len, 0);
    }
}
