package dev.strata.core.chunk;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.HashSet;
import java.util.Set;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;

class GearChunkerPropertyTest {
    private static final int MIN = GearChunker.MIN_SIZE;
    private static final int MAX = GearChunker.MAX_SIZE;
    /** Most edits resynchronise at the first cut after them; 21 of 11 000 needed 2-5 (docs/decisions/0003). */
    static final int MAX_CHANGED_CHUNKS = 8;

    /** Random data rarely reaches MAX_SIZE; the low-entropy kinds do. */
    enum Content { RANDOM, SPARSE, PERIODIC }

    static byte[] content(Content kind, long seed, int length) {
        SplittableRandom rnd = new SplittableRandom(seed);
        byte[] data = new byte[length];
        switch (kind) {
            case RANDOM -> rnd.nextBytes(data);
            case SPARSE -> {
                for (int i = rnd.nextInt(1, 200_000); i < length; i += rnd.nextInt(1, 200_000)) {
                    data[i] = (byte) rnd.nextInt(1, 256);
                }
            }
            case PERIODIC -> {
                byte[] period = new byte[rnd.nextInt(1, 4097)];
                rnd.nextBytes(period);
                for (int i = 0; i < length; i++) {
                    data[i] = period[i % period.length];
                }
            }
        }
        return data;
    }

    @Property(tries = 300)
    void lengthsStayWithinBoundsAndCoverTheInput(@ForAll Content kind, @ForAll long seed,
                                                 @ForAll @IntRange(max = 3 << 20) int length) {
        int[] lengths = GearChunker.chunkLengths(content(kind, seed, length), 0, length);
        assertEquals(length, Arrays.stream(lengths).asLongStream().sum());
        for (int i = 0; i < lengths.length; i++) {
            boolean last = i == lengths.length - 1;
            assertTrue(lengths[i] <= MAX && lengths[i] >= (last ? 1 : MIN), "chunk " + i + " has length " + lengths[i]);
        }
    }

    @Property(tries = 100)
    void boundariesDependOnlyOnTheRegion(@ForAll Content kind, @ForAll long seed,
                                         @ForAll @IntRange(max = 1 << 20) int length,
                                         @ForAll @IntRange(max = 1000) int offset) {
        byte[] data = content(kind, seed, length);
        byte[] padded = new byte[offset + length + 777];
        new SplittableRandom(~seed).nextBytes(padded);
        System.arraycopy(data, 0, padded, offset, length);
        int[] alone = GearChunker.chunkLengths(data, 0, length);
        assertArrayEquals(alone, GearChunker.chunkLengths(data, 0, length));
        assertArrayEquals(alone, GearChunker.chunkLengths(padded, offset, length));
    }

    enum Edit { INSERT, DELETE, OVERWRITE }

    @Property(tries = 100)
    void anEditChangesOnlyTheChunksAroundIt(@ForAll long seed, @ForAll Edit edit, @ForAll @IntRange(min = 1, max = 16) int size,
                                            @ForAll @IntRange(min = 40, max = 60) int percent) {
        int length = 2 << 20;
        byte[] before = content(Content.RANDOM, seed, length);
        int at = (int) ((long) length * percent / 100);
        byte[] noise = new byte[size];
        new SplittableRandom(seed + 1).nextBytes(noise);
        byte[] after = switch (edit) {
            case INSERT -> {
                byte[] b = new byte[length + size];
                System.arraycopy(before, 0, b, 0, at);
                System.arraycopy(noise, 0, b, at, size);
                System.arraycopy(before, at, b, at + size, length - at);
                yield b;
            }
            case DELETE -> {
                byte[] b = new byte[length - size];
                System.arraycopy(before, 0, b, 0, at);
                System.arraycopy(before, at + size, b, at, length - at - size);
                yield b;
            }
            case OVERWRITE -> {
                byte[] b = before.clone();
                for (int i = 0; i < size; i++) {
                    b[at + i] ^= (byte) (noise[i] | 1);
                }
                yield b;
            }
        };
        long shift = after.length - length;
        long[] oldEnds = ends(GearChunker.chunkLengths(before, 0, before.length));
        long[] newEnds = ends(GearChunker.chunkLengths(after, 0, after.length));

        // Every chunk that ends at or before the edit is unchanged: a cut depends only on bytes before it.
        int same = 0;
        while (same < oldEnds.length && oldEnds[same] <= at) {
            assertEquals(oldEnds[same], newEnds[same], "chunk " + same + " before the edit moved");
            same++;
        }
        // After the edit, the first new cut that lands on a (shifted) old cut resynchronises the rest.
        Set<Long> oldCuts = new HashSet<>();
        for (long e : oldEnds) {
            oldCuts.add(e + shift);
        }
        int sync = same;
        while (sync < newEnds.length && !(newEnds[sync] > at + Math.max(shift, 0) && oldCuts.contains(newEnds[sync]))) {
            sync++;
        }
        int changed = sync - same + 1;
        assertTrue(changed <= MAX_CHANGED_CHUNKS, changed + " chunks changed after an edit of " + size + " bytes");
        int oldSync = Arrays.binarySearch(oldEnds, newEnds[sync] - shift);
        assertEquals(oldEnds.length - oldSync, newEnds.length - sync, "chunk count after resynchronisation");
        for (int i = 1; sync + i < newEnds.length; i++) {
            assertEquals(oldEnds[oldSync + i] + shift, newEnds[sync + i]);
        }
    }

    private static long[] ends(int[] lengths) {
        long[] ends = new long[lengths.length];
        long sum = 0;
        for (int i = 0; i < lengths.length; i++) {
            sum += lengths[i];
            ends[i] = sum;
        }
        return ends;
    }
}
