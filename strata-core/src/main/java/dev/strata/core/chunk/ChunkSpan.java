package dev.strata.core.chunk;

import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;

/** One chunk of a file: where it lies and its id (SHA-256 of its bytes). */
public record ChunkSpan(long offset, int length, ContentHash id) {
    public ChunkSpan {
        if (offset < 0) {
            throw new InvalidInputException("chunk offset must be >= 0, got " + offset);
        }
        if (length <= 0) {
            throw new InvalidInputException("chunk length must be positive, got " + length);
        }
        if (id == null) {
            throw new InvalidInputException("chunk id missing");
        }
    }

    public ChunkRef toRef() {
        return new ChunkRef(id, length);
    }
}
