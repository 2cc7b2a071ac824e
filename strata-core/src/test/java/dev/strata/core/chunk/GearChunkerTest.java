package dev.strata.core.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.core.ContentHash;
import java.nio.ByteBuffer;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

/** Pins the chunker's format: generator, Gear table and exact boundaries. A failure here means chunk ids drifted. */
class GearChunkerTest {

    /** Test data every implementation can rebuild: SplitMix64 from {@code seed}, outputs as little-endian bytes. */
    static byte[] seeded(long seed, int length) {
        byte[] data = new byte[length];
        new SplitMix64(seed).nextBytes(data);
        return data;
    }

    @Test
    void splitMix64MatchesTheReferenceAndTheJdk() {
        // Reference value of splitmix64.c (Vigna) for seed 0.
        assertEquals(0xE220A8397B1DCDAFL, new SplitMix64(0).next());
        // java.util.SplittableRandom is the same generator, so it cross-checks ours independently.
        for (long seed : new long[] {0, 42, GearChunker.GEAR_SEED, -1}) {
            SplitMix64 ours = new SplitMix64(seed);
            SplittableRandom jdk = new SplittableRandom(seed);
            for (int i = 0; i < 1000; i++) {
                assertEquals(jdk.nextLong(), ours.next());
            }
        }
        byte[] jdkBytes = new byte[1003];
        new SplittableRandom(42).nextBytes(jdkBytes);
        assertArrayEquals(jdkBytes, seeded(42, 1003));
    }

    @Test
    void gearTableIsPinned() {
        long[] gear = GearChunker.gearTable();
        assertEquals(256, gear.length);
        assertEquals(0xa5c57831b75878f3L, gear[0]);
        assertEquals(0xc01a5ce969459f82L, gear[1]);
        assertEquals(0x0c5afcf81f78c0b6L, gear[255]);
        ByteBuffer bigEndian = ByteBuffer.allocate(256 * 8);
        for (long g : gear) {
            bigEndian.putLong(g);
        }
        assertEquals("8d07c6f490ac08801f9dbedec4cd9636eb54bcff3b6489c12fbe5fcc85b7ef26",
                ContentHash.sha256Of(bigEndian.array()).hex());
    }

    @Test
    void masksAreLevelTwoAroundTheAverage() {
        assertEquals(18, Long.bitCount(GearChunker.MASK_S));
        assertEquals(14, Long.bitCount(GearChunker.MASK_L));
        assertEquals(0, GearChunker.MASK_S << 18);
        assertEquals(0, GearChunker.MASK_L << 14);
    }

    @Test
    void boundariesOfSeededDataArePinned() {
        byte[] data = seeded(42, 4 << 20);
        assertEquals("32224c8dd342347121a61bb104f46f42f2097b5e4850f45e532609bd2fb78c66", ContentHash.sha256Of(data).hex());
        int[] expected = {
            93894, 78380, 75105, 20280, 90491, 94507, 101045, 68092, 23744, 101672, 28439, 63891, 71931, 116334,
            71717, 76782, 71532, 56722, 24019, 92307, 98822, 79899, 72378, 73156, 92881, 44267, 92507, 118298,
            66554, 55730, 76563, 81777, 69841, 40930, 82837, 71882, 68859, 58643, 75947, 82793, 93898, 70649,
            86020, 66793, 68671, 72212, 76772, 74191, 29169, 66525, 78607, 75271, 65644, 92161, 110949, 34400,
            70959, 35965};
        assertArrayEquals(expected, GearChunker.chunkLengths(data, 0, data.length));
    }

    @Test
    void contentWithoutBoundariesIsCutAtMax() {
        // A run of zeros settles the hash at -gear[0], whose top 14 bits are not zero: no cut until MAX_SIZE.
        int m = GearChunker.MAX_SIZE;
        assertArrayEquals(new int[] {m, m, m, m, 1000}, GearChunker.chunkLengths(new byte[4 * m + 1000], 0, 4 * m + 1000));
    }

    @Test
    void shortRegionsAreOneChunk() {
        byte[] data = seeded(1, GearChunker.MIN_SIZE + 1);
        assertArrayEquals(new int[0], GearChunker.chunkLengths(data, 0, 0));
        assertArrayEquals(new int[] {1}, GearChunker.chunkLengths(data, 5, 1));
        assertArrayEquals(new int[] {GearChunker.MIN_SIZE}, GearChunker.chunkLengths(data, 1, GearChunker.MIN_SIZE));
    }

    @Test
    void rejectsBadArguments() {
        byte[] data = new byte[100];
        assertThrows(IndexOutOfBoundsException.class, () -> GearChunker.chunkLengths(data, 50, 51));
        assertThrows(IndexOutOfBoundsException.class, () -> GearChunker.nextChunkLength(data, -1, 10));
        assertThrows(IllegalArgumentException.class,
                () -> GearChunker.chunkLengths(new byte[GearChunker.MIN_SIZE * 3], 0, GearChunker.MIN_SIZE * 3, new int[3]));
    }
}
