package dev.strata.core.chunk;

import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.InvalidInputException;
import dev.strata.core.tensor.TensorEntry;
import java.util.List;

/**
 * A whole file cut into chunks: its size, its SHA-256 (computed over the same read, so it vouches
 * for exactly the bytes that were chunked) and its chunks, contiguous from offset 0 to size. For a
 * recognised model file, {@code tensors} lists its tensors, each covering whole chunks
 * (docs/chunking.md, "Tensor-aligned segments"); it is empty for any other file.
 */
public record ChunkedFile(long size, ContentHash sha256, List<ChunkSpan> chunks, List<TensorEntry> tensors) {
    public ChunkedFile {
        if (sha256 == null) {
            throw new InvalidInputException("file sha256 missing");
        }
        chunks = List.copyOf(chunks);
        tensors = List.copyOf(tensors);
        long next = 0;
        long[] offsets = new long[chunks.size() + 1];
        for (int i = 0; i < chunks.size(); i++) {
            ChunkSpan c = chunks.get(i);
            if (c.offset() != next) {
                throw new InvalidInputException("chunk at " + c.offset() + " does not follow the previous one ending at " + next);
            }
            next += c.length();
            offsets[i + 1] = next;
        }
        if (next != size) {
            throw new InvalidInputException("chunks cover " + next + " bytes of a " + size + "-byte file");
        }
        List<ChunkSpan> cs = chunks;
        TensorEntry.checkAgainst(tensors, offsets, i -> cs.get(i).id());
    }

    /** A file without tensors. */
    public ChunkedFile(long size, ContentHash sha256, List<ChunkSpan> chunks) {
        this(size, sha256, chunks, List.of());
    }

    public FileManifest toManifest() {
        return new FileManifest(chunks.stream().map(ChunkSpan::toRef).toList(), tensors);
    }
}
