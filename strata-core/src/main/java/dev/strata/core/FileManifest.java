package dev.strata.core;

import dev.strata.core.tensor.DType;
import dev.strata.core.tensor.TensorEntry;
import dev.strata.core.tensor.TensorInfo;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The ordered chunk list of one file's content, and for a recognised model file its tensor table.
 * Encoded form (docs/format.md, "Manifest"): magic "STRM", u8 version, u32 count, then count ×
 * (32-byte chunk id, u32 length), all big-endian; version 2 appends the tensor table. A file
 * without tensors is always encoded as version 1, so its manifest id is what it always was. The
 * manifest id is the BLAKE3-256 of the encoded form, so equal files share one.
 */
public record FileManifest(List<ChunkRef> chunks, List<TensorEntry> tensors) {
    public static final int MAGIC = 0x5354524d; // "STRM"
    /** The version written for files without tensors. */
    public static final int VERSION = 1;
    /** The version written for files with a tensor table. */
    public static final int VERSION_TENSORS = 2;
    private static final int HEADER = 9;
    private static final int ENTRY = ContentHash.LENGTH + 4;
    /** Fixed bytes of one tensor entry besides its name and dims (see {@link #encode()}). */
    private static final int TENSOR_FIXED = 4 + 1 + 1 + 8 + 8 + 4 + 4 + ContentHash.LENGTH;
    /** Caps decoding of untrusted manifests: 16M chunks is a ~1 TB file at the 64 KiB average. */
    public static final int MAX_CHUNKS = 16 << 20;

    public FileManifest {
        chunks = List.copyOf(chunks);
        tensors = List.copyOf(tensors);
        long[] offsets = new long[chunks.size() + 1];
        for (int i = 0; i < chunks.size(); i++) {
            offsets[i + 1] = offsets[i] + chunks.get(i).length();
        }
        List<ChunkRef> cs = chunks;
        TensorEntry.checkAgainst(tensors, offsets, i -> cs.get(i).id());
    }

    /** A manifest without tensors (version 1). */
    public FileManifest(List<ChunkRef> chunks) {
        this(chunks, List.of());
    }

    public long size() {
        long total = 0;
        for (ChunkRef c : chunks) {
            total += c.length();
        }
        return total;
    }

    /**
     * Version 1 when there are no tensors. Version 2 appends u32 tensor count, then per tensor:
     * u32 name length (at most 64 KiB), the UTF-8 name, u8 dtype code, u8 rank, rank × u64 dims,
     * u64 offset, u64 length, u32 first chunk, u32 chunk count, 32-byte digest.
     */
    public byte[] encode() {
        List<byte[]> names = new ArrayList<>(tensors.size());
        long total = HEADER + (long) chunks.size() * ENTRY;
        if (!tensors.isEmpty()) {
            total += 4;
            for (TensorEntry t : tensors) {
                byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
                names.add(name);
                total += TENSOR_FIXED + name.length + 8L * t.shape().length;
            }
        }
        if (total > Integer.MAX_VALUE - 8) {
            throw new InvalidInputException("manifest too large to encode");
        }
        ByteBuffer b = ByteBuffer.allocate((int) total);
        b.putInt(MAGIC).put((byte) (tensors.isEmpty() ? VERSION : VERSION_TENSORS)).putInt(chunks.size());
        byte[] id = new byte[ContentHash.LENGTH];
        for (ChunkRef c : chunks) {
            c.id().writeTo(id, 0);
            b.put(id).putInt(c.length());
        }
        if (!tensors.isEmpty()) {
            b.putInt(tensors.size());
            for (int i = 0; i < tensors.size(); i++) {
                TensorEntry t = tensors.get(i);
                long[] shape = t.shape();
                b.putInt(names.get(i).length).put(names.get(i)).put((byte) t.dtype().code()).put((byte) shape.length);
                for (long d : shape) {
                    b.putLong(d);
                }
                b.putLong(t.offset()).putLong(t.length()).putInt(t.firstChunk()).putInt(t.chunkCount());
                t.digest().writeTo(id, 0);
                b.put(id);
            }
        }
        return b.array();
    }

    public ContentHash id() {
        return ContentHash.of(encode());
    }

    /** Decodes an untrusted encoded manifest; rejects anything malformed with {@link InvalidInputException}. */
    public static FileManifest decode(byte[] data) {
        if (data.length < HEADER) {
            throw new InvalidInputException("manifest too short");
        }
        ByteBuffer b = ByteBuffer.wrap(data);
        if (b.getInt() != MAGIC) {
            throw new InvalidInputException("not a manifest (bad magic)");
        }
        int version = b.get() & 0xff;
        if (version != VERSION && version != VERSION_TENSORS) {
            throw new InvalidInputException("unsupported manifest version " + version);
        }
        int count = b.getInt();
        if (count < 0 || count > MAX_CHUNKS) {
            throw new InvalidInputException("manifest length does not match its chunk count");
        }
        long chunkBytes = (long) count * ENTRY;
        if (version == VERSION ? chunkBytes != data.length - HEADER : chunkBytes + 4 > data.length - HEADER) {
            throw new InvalidInputException("manifest length does not match its chunk count");
        }
        List<ChunkRef> chunks = new ArrayList<>(count);
        byte[] id = new byte[ContentHash.LENGTH];
        for (int i = 0; i < count; i++) {
            b.get(id);
            chunks.add(new ChunkRef(ContentHash.fromBytes(id), b.getInt()));
        }
        if (version == VERSION) {
            return new FileManifest(chunks);
        }
        int tensorCount = b.getInt();
        // Every tensor covers at least one chunk of its own and takes at least TENSOR_FIXED bytes.
        if (tensorCount < 1 || tensorCount > count || (long) tensorCount * TENSOR_FIXED > b.remaining()) {
            throw new InvalidInputException("manifest tensor count " + Integer.toUnsignedString(tensorCount) + " invalid");
        }
        List<TensorEntry> tensors = new ArrayList<>(tensorCount);
        for (int i = 0; i < tensorCount; i++) {
            int nameLen = need(b, 4).getInt();
            if (nameLen < 0 || nameLen > TensorInfo.MAX_NAME_BYTES) {
                throw new InvalidInputException("manifest tensor name over " + TensorInfo.MAX_NAME_BYTES + " bytes");
            }
            byte[] name = new byte[nameLen];
            need(b, nameLen).get(name);
            DType dtype = DType.fromCode(need(b, 1).get() & 0xff);
            int rank = need(b, 1).get() & 0xff;
            if (rank > TensorInfo.MAX_RANK) {
                throw new InvalidInputException("manifest tensor rank " + rank + " over " + TensorInfo.MAX_RANK);
            }
            long[] shape = new long[rank];
            need(b, 8 * rank);
            for (int d = 0; d < rank; d++) {
                shape[d] = b.getLong();
            }
            need(b, 8 + 8 + 4 + 4 + ContentHash.LENGTH);
            long offset = b.getLong();
            long length = b.getLong();
            int first = b.getInt();
            int n = b.getInt();
            b.get(id);
            tensors.add(new TensorEntry(utf8(name), dtype, shape, offset, length, first, n, ContentHash.fromBytes(id)));
        }
        if (b.hasRemaining()) {
            throw new InvalidInputException("manifest has " + b.remaining() + " bytes after its tensor table");
        }
        return new FileManifest(chunks, tensors);
    }

    private static ByteBuffer need(ByteBuffer b, int n) {
        if (b.remaining() < n) {
            throw new InvalidInputException("manifest tensor table truncated");
        }
        return b;
    }

    private static String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(b)).toString();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new InvalidInputException("manifest tensor name is not UTF-8");
        }
    }
}
