package dev.strata.core.store;

import dev.strata.core.ContentHash;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * What one scrub pass found and did ({@link ChunkStore#scrub}).
 *
 * <p>"Pieces" are what a store keeps per chunk and checks one by one: shards (entries in shard pack
 * files) in an erasure-coded store, entries in a local pack store. Pack-level damage (a local pack's file header
 * or footer) counts as one damaged piece with no chunk id.
 *
 * @param startedAt         when the pass began
 * @param elapsedMillis     how long it ran (so far, in a progress snapshot)
 * @param complete          true once every chunk was checked; false when stopped early or in progress
 * @param chunksTotal       chunks in scope when the pass began
 * @param bytesTotal        their bytes on disk
 * @param chunksChecked     chunks verified so far
 * @param bytesChecked      bytes read from disk so far
 * @param damaged           pieces found damaged or missing
 * @param repaired          of those, rewritten from redundancy (durably); damaged − repaired is
 *                          damage still on disk
 * @param chunksDamaged     chunks with at least one damaged piece
 * @param chunksUnrecoverable chunks that cannot be read back: too few intact pieces
 * @param damage            the damaged pieces (the first {@link #MAX_LISTED})
 * @param unrecoverable     the unreadable chunks with the reasons (the first {@link #MAX_LISTED})
 * @param repairedByLocation pieces rewritten per directory (erasure-coded stores); empty otherwise
 */
public record ScrubReport(Instant startedAt, long elapsedMillis, boolean complete, long chunksTotal, long bytesTotal,
                          long chunksChecked, long bytesChecked, long damaged, long repaired, long chunksDamaged,
                          long chunksUnrecoverable, List<Damage> damage, List<Unrecoverable> unrecoverable,
                          Map<String, Long> repairedByLocation) {
    /** Entries kept in {@link #damage} and {@link #unrecoverable}; the counters go on counting. */
    public static final int MAX_LISTED = 1000;

    public ScrubReport {
        damage = List.copyOf(damage);
        unrecoverable = List.copyOf(unrecoverable);
        repairedByLocation = Map.copyOf(repairedByLocation);
    }

    /**
     * One damaged piece: the chunk it belongs to (null for pack-level damage), the pack, the shard
     * index (-1 where pieces are not shards), what is wrong, and whether it was rewritten.
     */
    public record Damage(ContentHash chunk, String pack, int shard, String reason, boolean repaired) {}

    /** A chunk with too few intact pieces to read it back, and why. */
    public record Unrecoverable(ContentHash chunk, String pack, String reason) {}

    /** Damage still on disk after the pass: not repaired, or unrecoverable. */
    public boolean clean() {
        return damaged == repaired && chunksUnrecoverable == 0;
    }
}
