package dev.strata.core.store;

import dev.strata.core.Codec;

/** A chunk as stored or sent: the codec, its decoded length, and the encoded bytes. */
public record EncodedChunk(Codec codec, int rawLength, byte[] data) {}
