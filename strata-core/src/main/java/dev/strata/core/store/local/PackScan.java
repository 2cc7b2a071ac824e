package dev.strata.core.store.local;

import dev.strata.core.CorruptDataException;
import dev.strata.core.pack.EntryHeader;
import dev.strata.core.pack.IndexEntry;
import dev.strata.core.pack.PackFooter;
import dev.strata.core.pack.PackFormat;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a pack's index back from disk: from the footer when the trailer and footer check out
 * ({@link #readFooter}), else by walking entries from the header and stopping at the first one
 * whose header CRC, length or data CRC fails ({@link #scan}) — the recovery rule of docs/format.md.
 */
final class PackScan {
    /** What a scan found: the valid entries and the offset just past the last of them. */
    record Result(List<IndexEntry> entries, long validEnd) {}

    private PackScan() {}

    /** The footer's entries, or null when the pack has no valid trailer and footer (unsealed or torn). */
    static List<IndexEntry> readFooter(FileChannel ch, long fileSize) throws IOException {
        if (fileSize < PackFormat.FILE_HEADER_LENGTH + PackFooter.encodedLength(0) + PackFormat.TRAILER_LENGTH) {
            return null;
        }
        byte[] trailer = new byte[PackFormat.TRAILER_LENGTH];
        readFully(ch, ByteBuffer.wrap(trailer), fileSize - trailer.length);
        long footerOffset = PackFormat.decodeTrailer(trailer, 0);
        long footerLength = fileSize - PackFormat.TRAILER_LENGTH - footerOffset;
        if (footerOffset < 0 || footerLength < PackFooter.encodedLength(0) || footerLength > PackFooter.encodedLength(PackFooter.MAX_ENTRIES)) {
            return null;
        }
        byte[] footer = new byte[(int) footerLength];
        readFully(ch, ByteBuffer.wrap(footer), footerOffset);
        try {
            return PackFooter.decode(footer, footerOffset).entries();
        } catch (CorruptDataException e) {
            return null;
        }
    }

    /** Walks entries from the file header; never throws for damaged bytes, it stops before them. */
    static Result scan(FileChannel ch, long fileSize) throws IOException {
        List<IndexEntry> entries = new ArrayList<>();
        long pos = PackFormat.FILE_HEADER_LENGTH;
        byte[] header = new byte[EntryHeader.LENGTH];
        while (pos + EntryHeader.LENGTH <= fileSize) {
            readFully(ch, ByteBuffer.wrap(header), pos);
            EntryHeader h;
            try {
                h = EntryHeader.decode(header, 0);
            } catch (CorruptDataException e) {
                break;
            }
            if (pos + h.entryLength() > fileSize) {
                break;
            }
            byte[] data = new byte[h.encodedLength()];
            readFully(ch, ByteBuffer.wrap(data), pos + EntryHeader.LENGTH);
            try {
                h.checkData(data, 0, "scan");
            } catch (CorruptDataException e) {
                break;
            }
            entries.add(IndexEntry.of(h, pos));
            pos += h.entryLength();
        }
        return new Result(entries, pos);
    }

    static void readFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            int n = ch.read(buf, pos);
            if (n < 0) {
                throw new EOFException("pack ends at " + pos + ", before " + (position + buf.limit()));
            }
            pos += n;
        }
    }

    static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }
}
