package dev.strata.core.tensor;

import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import java.util.Arrays;
import java.util.List;
import java.util.function.IntFunction;

/**
 * One tensor of a chunked model file: where its bytes lie ({@code [offset, offset + length)}), which
 * chunks hold exactly them ({@code chunkCount} chunks from index {@code firstChunk}; a tensor always
 * starts and ends on chunk boundaries) and its {@code digest}: the BLAKE3-256 of the concatenated
 * 32-byte ids of those chunks, so equal tensor bytes under the fixed slicing give equal digests.
 */
public record TensorEntry(String name, DType dtype, long[] shape, long offset, long length, int firstChunk, int chunkCount,
                          ContentHash digest) {
    public TensorEntry {
        // Name, dtype, rank and shape/length consistency are checked by TensorInfo's rules.
        new TensorInfo(name, dtype, shape, offset, length);
        shape = shape.clone();
        if (length <= 0) {
            throw new InvalidInputException("tensor " + Names.quote(name) + " is empty");
        }
        if (firstChunk < 0 || chunkCount < 1 || firstChunk > Integer.MAX_VALUE - chunkCount) {
            throw new InvalidInputException("tensor " + Names.quote(name) + ": bad chunk range " + firstChunk + "+" + chunkCount);
        }
        if (digest == null) {
            throw new InvalidInputException("tensor " + Names.quote(name) + ": digest missing");
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long end() {
        return offset + length;
    }

    /** BLAKE3-256 of the ids {@code ids[from, from + count)} written back to back. */
    public static ContentHash digestOf(IntFunction<ContentHash> ids, int from, int count) {
        // One buffer and one hash call: a streaming hasher per tensor cost a native allocation freed
        // by the Cleaner, and a native call per id (0.8 of the 3.1 ms of server CPU that a chunk-run
        // request of a 1 GiB model took, as it decoded and checked the manifest).
        byte[] all = new byte[Math.multiplyExact(count, ContentHash.LENGTH)];
        for (int i = 0; i < count; i++) {
            ids.apply(from + i).writeTo(all, i * ContentHash.LENGTH);
        }
        return ContentHash.of(all);
    }

    /**
     * Checks tensors against a chunk list: in file order, disjoint, each chunk range inside the list,
     * each tensor's offset and length equal to its chunks' and its digest equal to theirs.
     *
     * @param chunkOffsets chunk i spans {@code [chunkOffsets[i], chunkOffsets[i+1])}; length = chunk count + 1
     */
    public static void checkAgainst(List<TensorEntry> tensors, long[] chunkOffsets, IntFunction<ContentHash> ids) {
        int chunks = chunkOffsets.length - 1;
        int next = 0;
        for (TensorEntry t : tensors) {
            if (t.firstChunk() < next || t.firstChunk() > chunks - t.chunkCount()) {
                throw new InvalidInputException("tensor " + Names.quote(t.name()) + ": chunks " + t.firstChunk() + "+" + t.chunkCount()
                        + " out of order or outside the " + chunks + "-chunk list");
            }
            int end = t.firstChunk() + t.chunkCount();
            if (chunkOffsets[t.firstChunk()] != t.offset() || chunkOffsets[end] - chunkOffsets[t.firstChunk()] != t.length()) {
                throw new InvalidInputException("tensor " + Names.quote(t.name()) + ": offset/length do not match its chunks");
            }
            if (!digestOf(ids, t.firstChunk(), t.chunkCount()).equals(t.digest())) {
                throw new InvalidInputException("tensor " + Names.quote(t.name()) + ": digest does not match its chunks");
            }
            next = end;
        }
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorEntry t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && offset == t.offset && length == t.length && firstChunk == t.firstChunk && chunkCount == t.chunkCount
                && digest.equals(t.digest);
    }

    @Override
    public int hashCode() {
        return digest.hashCode() * 31 + firstChunk;
    }

    @Override
    public String toString() {
        return name + ":" + dtype + Arrays.toString(shape) + "@" + offset + "+" + length + " chunks " + firstChunk + "+" + chunkCount;
    }
}
