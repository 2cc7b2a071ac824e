package dev.strata.core.store;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;

/** Where a chunk lives and how big it is, raw and encoded. */
public record ChunkInfo(ContentHash id, String packId, Codec codec, int rawLength, int encodedLength) {}
