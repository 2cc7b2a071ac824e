package dev.strata.core.store;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.codec.Codecs;
import dev.strata.core.codec.DeltaBases;
import dev.strata.core.codec.DeltaInfo;
import java.util.Optional;

/**
 * Reading {@link Codec#DELTA} chunks out of a store: a delta decodes against its base, which the
 * same store holds (possibly as a delta itself). Writers bound chains (the compactor's configured
 * depth); readers refuse anything deeper than {@link #MAX_DEPTH}, so a corrupt or hostile header can
 * never send a read round a cycle.
 */
public final class DeltaChains {
    /** Longest chain any reader follows; writers are configured at or below it. */
    public static final int MAX_DEPTH = 32;

    private DeltaChains() {}

    /** Bases resolved from {@code store}, verified against their ids, following at most {@link #MAX_DEPTH} links. */
    public static DeltaBases bases(ChunkStore store) {
        return bases(store, 0);
    }

    private static DeltaBases bases(ChunkStore store, int depth) {
        return id -> {
            if (depth >= MAX_DEPTH) {
                throw new CorruptDataException("delta chain through " + id, "at most " + MAX_DEPTH + " links", "more");
            }
            return Codecs.verify(id, store.getEncoded(id), bases(store, depth + 1));
        };
    }

    /** The base a stored chunk is a delta against, or empty when it is stored whole. */
    public static Optional<ContentHash> baseOf(ChunkStore store, ContentHash id) {
        return info(store.getEncoded(id)).map(DeltaInfo::baseId);
    }

    /** How many deltas reading the chunk decodes (0: stored whole). */
    public static int depthOf(ChunkStore store, ContentHash id) {
        return info(store.getEncoded(id)).map(DeltaInfo::depth).orElse(0);
    }

    /**
     * The chunk in an encoding that decodes on its own, for clients and replicas, which may not hold
     * the base: a delta is resolved and sent raw, anything else as stored.
     */
    public static EncodedChunk selfContained(ChunkStore store, ContentHash id) {
        EncodedChunk e = store.getEncoded(id);
        if (e.codec() != Codec.DELTA) {
            return e;
        }
        byte[] raw = Codecs.verify(id, e, bases(store));
        return new EncodedChunk(Codec.RAW, raw.length, raw);
    }

    private static Optional<DeltaInfo> info(EncodedChunk e) {
        return e.codec() == Codec.DELTA ? Codecs.deltaBase(e) : Optional.empty();
    }
}
