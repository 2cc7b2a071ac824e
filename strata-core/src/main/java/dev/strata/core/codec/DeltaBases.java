package dev.strata.core.codec;

import dev.strata.core.ContentHash;

/**
 * Where {@link Codecs#decode(dev.strata.core.store.EncodedChunk, DeltaBases)} gets the base of a
 * {@link dev.strata.core.Codec#DELTA} chunk: the verified raw bytes of chunk {@code id} (decoded, and
 * checked against the id, itself possibly through further DELTA chunks). Implementations throw what
 * their store throws when the base is missing (e.g. {@code NotFoundException}).
 */
@FunctionalInterface
public interface DeltaBases {
    byte[] raw(ContentHash id);

    /** Bases for chunks that have none: any DELTA chunk is rejected as needing a base. */
    DeltaBases NONE = id -> {
        throw new IllegalStateException("chunk is stored as a delta against " + id + " and no base store was given");
    };
}
