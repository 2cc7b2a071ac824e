package dev.strata.core.pack;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The index at the end of a sealed pack (docs/format.md, "Footer"): u32 magic "STRF", u8 version,
 * 3 reserved bytes (0), u32 entry count, count × {@link IndexEntry} (49 bytes each, in file order),
 * u32 CRC32C of everything before it. A trailer after it points at its offset, so opening a sealed
 * pack costs two small reads at its end instead of a scan of its 32 MiB.
 */
public record PackFooter(List<IndexEntry> entries) {
    public static final int MAGIC = 0x53545246; // "STRF"
    public static final int VERSION = 1;
    private static final int HEAD = 12;
    /** Caps decoding: a footer naming more entries than a pack of this many bytes can hold is corrupt. */
    public static final int MAX_ENTRIES = 1 << 24;

    public PackFooter {
        entries = List.copyOf(entries);
    }

    /** Bytes of the encoded footer for {@code count} entries. */
    public static long encodedLength(int count) {
        return HEAD + (long) count * IndexEntry.LENGTH + 4;
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(Math.toIntExact(encodedLength(entries.size())));
        b.putInt(MAGIC).put((byte) VERSION).put((byte) 0).putShort((short) 0).putInt(entries.size());
        byte[] id = new byte[ContentHash.LENGTH];
        for (IndexEntry e : entries) {
            e.id().writeTo(id, 0);
            b.put(id).putLong(e.offset()).put((byte) e.codec().id()).putInt(e.rawLength()).putInt(e.encodedLength());
        }
        b.putInt(PackFormat.crc32c(b.array(), 0, b.position()));
        return b.array();
    }

    /**
     * Decodes and checks a footer occupying all of {@code f}: CRC first, then structure; entries
     * must lie between the file header and {@code footerOffset} in increasing, non-overlapping order.
     */
    public static PackFooter decode(byte[] f, long footerOffset) {
        if (f.length < HEAD + 4) {
            throw new CorruptDataException("pack footer length", "at least " + (HEAD + 4), Integer.toString(f.length));
        }
        int crc = ByteBuffer.wrap(f, f.length - 4, 4).getInt();
        int actual = PackFormat.crc32c(f, 0, f.length - 4);
        if (crc != actual) {
            throw new CorruptDataException("pack footer CRC32C", PackFormat.hex32(crc), PackFormat.hex32(actual));
        }
        ByteBuffer b = ByteBuffer.wrap(f);
        int magic = b.getInt();
        if (magic != MAGIC) {
            throw new CorruptDataException("pack footer magic", PackFormat.hex32(MAGIC), PackFormat.hex32(magic));
        }
        int version = b.get() & 0xff;
        if (version != VERSION) {
            throw new CorruptDataException("pack footer version", Integer.toString(VERSION), Integer.toString(version));
        }
        if (b.get() != 0 || b.getShort() != 0) {
            throw new CorruptDataException("pack footer reserved bytes", "0", "non-zero");
        }
        int count = b.getInt();
        if (count < 0 || count > MAX_ENTRIES || encodedLength(count) != f.length) {
            throw new CorruptDataException("pack footer entry count", "matching its length " + f.length, Integer.toString(count));
        }
        List<IndexEntry> entries = new ArrayList<>(count);
        byte[] id = new byte[ContentHash.LENGTH];
        long next = PackFormat.FILE_HEADER_LENGTH;
        for (int i = 0; i < count; i++) {
            b.get(id);
            long offset = b.getLong();
            int codecId = b.get() & 0xff;
            int raw = b.getInt();
            int enc = b.getInt();
            IndexEntry e;
            try {
                e = new IndexEntry(ContentHash.fromBytes(id), offset, Codec.fromId(codecId), raw, enc);
            } catch (IllegalArgumentException ex) {
                throw new CorruptDataException("pack footer entry " + i, "a valid entry", ex.getMessage());
            }
            if (offset != next || e.end() > footerOffset) {
                throw new CorruptDataException("pack footer entry " + i + " offset", "entries packed back to back from "
                        + PackFormat.FILE_HEADER_LENGTH + " to " + footerOffset, Long.toString(offset));
            }
            next = e.end();
            entries.add(e);
        }
        if (next != footerOffset) {
            throw new CorruptDataException("pack footer offset", "end of last entry " + next, Long.toString(footerOffset));
        }
        return new PackFooter(entries);
    }
}
