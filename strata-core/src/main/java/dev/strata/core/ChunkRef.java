package dev.strata.core;

/** One chunk of a file: its id and its decoded length. */
public record ChunkRef(ContentHash id, int length) {
    public ChunkRef {
        if (id == null) {
            throw new InvalidInputException("chunk id missing");
        }
        if (length <= 0) {
            throw new InvalidInputException("chunk length must be positive, got " + length);
        }
    }
}
