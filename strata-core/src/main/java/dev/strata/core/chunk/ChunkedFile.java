package dev.strata.core.chunk;

import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.InvalidInputException;
import java.util.List;

/**
 * A whole file cut into chunks: its size, its SHA-256 (computed over the same read, so it vouches
 * for exactly the bytes that were chunked) and its chunks, contiguous from offset 0 to size.
 */
public record ChunkedFile(long size, ContentHash sha256, List<ChunkSpan> chunks) {
    public ChunkedFile {
        if (sha256 == null) {
            throw new InvalidInputException("file sha256 missing");
        }
        chunks = List.copyOf(chunks);
        long next = 0;
        for (ChunkSpan c : chunks) {
            if (c.offset() != next) {
                throw new InvalidInputException("chunk at " + c.offset() + " does not follow the previous one ending at " + next);
            }
            next += c.length();
        }
        if (next != size) {
            throw new InvalidInputException("chunks cover " + next + " bytes of a " + size + "-byte file");
        }
    }

    public FileManifest toManifest() {
        return new FileManifest(chunks.stream().map(ChunkSpan::toRef).toList());
    }
}
