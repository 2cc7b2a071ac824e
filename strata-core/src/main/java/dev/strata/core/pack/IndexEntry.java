package dev.strata.core.pack;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;

/**
 * One chunk in a pack's footer index: where its entry header starts and what the header says.
 * Encoded in 49 bytes: 32-byte chunk id, u64 offset, u8 codec id, u32 raw length, u32 encoded length.
 */
public record IndexEntry(ContentHash id, long offset, Codec codec, int rawLength, int encodedLength) {
    public static final int LENGTH = ContentHash.LENGTH + 8 + 1 + 4 + 4;

    public IndexEntry {
        if (id == null || codec == null) {
            throw new IllegalArgumentException("index entry needs an id and a codec");
        }
        if (offset < PackFormat.FILE_HEADER_LENGTH) {
            throw new IllegalArgumentException("entry offset " + offset + " inside the pack header");
        }
        EntryHeader.checkLengths(codec, rawLength, encodedLength);
    }

    public static IndexEntry of(EntryHeader h, long offset) {
        return new IndexEntry(h.id(), offset, h.codec(), h.rawLength(), h.encodedLength());
    }

    /** Offset just past this entry's encoded bytes. */
    public long end() {
        return offset + EntryHeader.LENGTH + encodedLength;
    }

    /** Whether an entry header read back from disk describes this entry. */
    public boolean matches(EntryHeader h) {
        return h.id().equals(id) && h.codec() == codec && h.rawLength() == rawLength && h.encodedLength() == encodedLength;
    }
}
