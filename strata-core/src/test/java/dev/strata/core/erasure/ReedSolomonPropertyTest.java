package dev.strata.core.erasure;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Example;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

/**
 * Reed-Solomon as properties: any ≤ m erasures reconstruct exactly, m+1 erasures fail loudly.
 * Corruption of a shard that is still marked present is not detected by RS (it is an erasure code);
 * the store's per-shard CRC32C and the chunk id do that; {@link #aCorruptShardMarkedPresentIsNotDetectedByRs}
 * pins the behaviour down so nobody relies on it.
 */
class ReedSolomonPropertyTest {

    record Stripe(ReedSolomon rs, byte[][] shards) {
        byte[][] copy() {
            byte[][] c = new byte[shards.length][];
            for (int i = 0; i < shards.length; i++) {
                c[i] = shards[i].clone();
            }
            return c;
        }
    }

    static Stripe stripe(int k, int m, int len, long seed) {
        Random r = new Random(seed);
        ReedSolomon rs = new ReedSolomon(k, m);
        byte[][] data = new byte[k][len];
        for (byte[] d : data) {
            r.nextBytes(d);
        }
        byte[][] parity = new byte[m][len];
        rs.encode(data, parity);
        byte[][] all = new byte[k + m][];
        System.arraycopy(data, 0, all, 0, k);
        System.arraycopy(parity, 0, all, k, m);
        return new Stripe(rs, all);
    }

    static void assertRecovers(Stripe s, boolean[] present, boolean nullMissing) {
        byte[][] work = s.copy();
        for (int i = 0; i < work.length; i++) {
            if (!present[i]) {
                if (nullMissing) {
                    work[i] = null;
                } else {
                    java.util.Arrays.fill(work[i], (byte) 0x5A); // garbage in the buffer: must be overwritten
                }
            }
        }
        s.rs().decode(work, present.clone());
        for (int i = 0; i < work.length; i++) {
            assertArrayEquals(s.shards()[i], work[i], "shard " + i + " present=" + java.util.Arrays.toString(present));
        }
    }

    @Property(tries = 200)
    void anyRandomSetOfAtMostMErasuresRecoversExactly(@ForAll @IntRange(min = 1, max = 10) int k,
                                                      @ForAll @IntRange(min = 1, max = 4) int m,
                                                      @ForAll @IntRange(min = 0, max = 4096) int len,
                                                      @ForAll long seed) {
        Stripe s = stripe(k, m, len, seed);
        Random r = new Random(seed ^ 0x9E3779B97F4A7C15L);
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < k + m; i++) {
            idx.add(i);
        }
        Collections.shuffle(idx, r);
        int erasures = r.nextInt(m + 1);
        boolean[] present = new boolean[k + m];
        java.util.Arrays.fill(present, true);
        for (int i = 0; i < erasures; i++) {
            present[idx.get(i)] = false;
        }
        assertRecovers(s, present, r.nextBoolean());
    }

    @Property(tries = 60)
    void everySubsetOfAtMostMErasuresRecoversForSmallCodes(@ForAll @IntRange(min = 1, max = 6) int k,
                                                           @ForAll @IntRange(min = 1, max = 3) int m,
                                                           @ForAll @IntRange(min = 0, max = 300) int len,
                                                           @ForAll long seed) {
        Stripe s = stripe(k, m, len, seed);
        int n = k + m;
        for (int mask = 0; mask < (1 << n); mask++) {
            if (Integer.bitCount(mask) > m) {
                continue;
            }
            boolean[] present = new boolean[n];
            for (int i = 0; i < n; i++) {
                present[i] = (mask & (1 << i)) == 0;
            }
            assertRecovers(s, present, (mask & 1) == 0);
        }
    }

    @Property(tries = 100)
    void moreThanMErasuresFailWithAClearException(@ForAll @IntRange(min = 1, max = 10) int k,
                                                  @ForAll @IntRange(min = 0, max = 4) int m,
                                                  @ForAll @IntRange(min = 0, max = 1024) int len,
                                                  @ForAll long seed) {
        Stripe s = stripe(k, m, len, seed);
        Random r = new Random(seed);
        List<Integer> idx = new ArrayList<>();
        for (int i = 0; i < k + m; i++) {
            idx.add(i);
        }
        Collections.shuffle(idx, r);
        int erasures = m + 1 + r.nextInt(k);
        boolean[] present = new boolean[k + m];
        java.util.Arrays.fill(present, true);
        for (int i = 0; i < erasures; i++) {
            present[idx.get(i)] = false;
        }
        byte[][] work = s.copy();
        InsufficientShardsException e = assertThrows(InsufficientShardsException.class, () -> s.rs().decode(work, present));
        assertEquals(k + m - erasures, e.present());
        assertEquals(k, e.needed());
    }

    @Property(tries = 50)
    void galoisFieldAxioms(@ForAll @IntRange(min = 0, max = 255) int a, @ForAll @IntRange(min = 0, max = 255) int b,
                           @ForAll @IntRange(min = 0, max = 255) int c) {
        assertEquals(GaloisField.multiply(a, b), GaloisField.multiply(b, a));
        assertEquals(GaloisField.multiply(a, b ^ c), GaloisField.multiply(a, b) ^ GaloisField.multiply(a, c));
        assertEquals(GaloisField.multiply(GaloisField.multiply(a, b), c), GaloisField.multiply(a, GaloisField.multiply(b, c)));
        if (b != 0) {
            assertEquals(a, GaloisField.multiply(GaloisField.divide(a, b), b));
            assertEquals(1, GaloisField.multiply(b, GaloisField.inverse(b)));
        }
    }

    @Example
    void fieldUsesPolynomial0x11D() {
        assertEquals(0x1D, GaloisField.multiply(0x80, 2)); // x^8 = x^4 + x^3 + x^2 + 1
        assertEquals(1, GaloisField.power(2, 255));
        assertThrows(ArithmeticException.class, () -> GaloisField.inverse(0));
    }

    @Example
    void aCorruptShardMarkedPresentIsNotDetectedByRs() {
        Stripe s = stripe(4, 2, 64, 1);
        byte[][] work = s.copy();
        work[1][0] ^= 1;
        work[4] = null;
        boolean[] present = {true, true, true, true, false, true};
        s.rs().decode(work, present); // no exception: RS trusts present shards
        assertEquals(false, java.util.Arrays.equals(s.shards()[4], work[4]), "wrong parity is derived silently");
    }

    @Example
    void argumentsAreValidated() {
        assertThrows(IllegalArgumentException.class, () -> new ReedSolomon(0, 2));
        assertThrows(IllegalArgumentException.class, () -> new ReedSolomon(4, -1));
        assertThrows(IllegalArgumentException.class, () -> new ReedSolomon(250, 6));
        new ReedSolomon(253, 2);
        ReedSolomon rs = new ReedSolomon(2, 1);
        assertThrows(IllegalArgumentException.class, () -> rs.encode(new byte[][] {new byte[3]}, new byte[][] {new byte[3]}));
        assertThrows(IllegalArgumentException.class, () -> rs.encode(new byte[][] {new byte[3], new byte[4]}, new byte[][] {new byte[3]}));
        assertThrows(IllegalArgumentException.class, () -> rs.encode(new byte[][] {new byte[3], new byte[3]}, new byte[][] {new byte[2]}));
        assertThrows(IllegalArgumentException.class, () -> rs.decode(new byte[][] {new byte[3], new byte[4], null}, new boolean[] {true, true, false}));
        assertThrows(IllegalArgumentException.class, () -> rs.decode(new byte[][] {new byte[3], null, null}, new boolean[] {true, true, false}));
        assertThrows(IllegalArgumentException.class, () -> rs.decode(new byte[][] {new byte[3], new byte[3], new byte[2]}, new boolean[] {true, true, false}));
    }

    @Example
    void largestCodeRecoversFromParityOnly() {
        Stripe s = stripe(200, 55, 16, 7);
        boolean[] present = new boolean[255];
        for (int i = 55; i < 255; i++) {
            present[i] = true; // data shards 0..54 lost, 145 data + 55 parity remain
        }
        assertRecovers(s, present, true);
    }
}
