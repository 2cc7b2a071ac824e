package dev.strata.core;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The ordered chunk list of one file's content. Encoded form (docs/format.md, "Manifest"):
 * magic "STRM", u8 version=1, u32 count, then count × (32-byte chunk id, u32 length), all
 * big-endian. The manifest id is the SHA-256 of the encoded form, so equal files share one.
 */
public record FileManifest(List<ChunkRef> chunks) {
    public static final int MAGIC = 0x5354524d; // "STRM"
    public static final int VERSION = 1;
    private static final int HEADER = 9;
    private static final int ENTRY = ContentHash.LENGTH + 4;
    /** Caps decoding of untrusted manifests: 16M chunks is a ~1 TB file at the 64 KiB average. */
    public static final int MAX_CHUNKS = 16 << 20;

    public FileManifest {
        chunks = List.copyOf(chunks);
    }

    public long size() {
        long total = 0;
        for (ChunkRef c : chunks) {
            total += c.length();
        }
        return total;
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(HEADER + chunks.size() * ENTRY);
        b.putInt(MAGIC).put((byte) VERSION).putInt(chunks.size());
        byte[] id = new byte[ContentHash.LENGTH];
        for (ChunkRef c : chunks) {
            c.id().writeTo(id, 0);
            b.put(id).putInt(c.length());
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
        if (version != VERSION) {
            throw new InvalidInputException("unsupported manifest version " + version);
        }
        int count = b.getInt();
        if (count < 0 || count > MAX_CHUNKS || (long) count * ENTRY != data.length - HEADER) {
            throw new InvalidInputException("manifest length does not match its chunk count");
        }
        List<ChunkRef> chunks = new ArrayList<>(count);
        byte[] id = new byte[ContentHash.LENGTH];
        for (int i = 0; i < count; i++) {
            b.get(id);
            chunks.add(new ChunkRef(ContentHash.fromBytes(id), b.getInt()));
        }
        return new FileManifest(chunks);
    }
}
