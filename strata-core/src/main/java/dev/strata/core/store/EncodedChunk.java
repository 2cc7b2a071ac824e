package dev.strata.core.store;

import dev.strata.core.Codec;
import dev.strata.core.InvalidInputException;

/**
 * A chunk as stored or sent: the codec, its decoded length, and the encoded bytes. The constructor
 * checks only what is cheap and always true (non-null parts, non-negative length, a RAW chunk's
 * bytes are its raw length); whether ZSTD bytes decode is {@code Codecs.decode}'s job.
 * The array is not copied: callers hand it over and must not modify it afterwards, unless the
 * receiver promises to keep no reference to it ({@link ChunkStore#put} does).
 */
public record EncodedChunk(Codec codec, int rawLength, byte[] data) {
    public EncodedChunk {
        if (codec == null || data == null) {
            throw new InvalidInputException("encoded chunk needs a codec and data");
        }
        if (rawLength < 0) {
            throw new InvalidInputException("chunk raw length is negative: " + rawLength);
        }
        if (codec == Codec.RAW && data.length != rawLength) {
            throw new InvalidInputException("a RAW chunk's data is its raw length " + rawLength + ", got " + data.length);
        }
    }
}
