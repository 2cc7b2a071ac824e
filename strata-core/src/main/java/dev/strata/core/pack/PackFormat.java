package dev.strata.core.pack;

import dev.strata.core.CorruptDataException;
import java.nio.ByteBuffer;
import java.util.HexFormat;
import java.util.zip.CRC32C;

/**
 * Constants of the pack format (docs/format.md, "Pack files") and the two small fixed structures:
 * the file header and the trailer. All integers are big-endian. Every structure carries a version
 * and a CRC32C so a reader rejects what it does not understand instead of guessing.
 */
public final class PackFormat {
    /** "STRP": first four bytes of every pack file. */
    public static final int FILE_MAGIC = 0x53545250;
    public static final int FILE_VERSION = 1;
    /** u32 magic, u16 version, u16 reserved (0), 16-byte pack id, u32 CRC32C of the preceding 24 bytes. */
    public static final int FILE_HEADER_LENGTH = 28;
    public static final int PACK_ID_BYTES = 16;

    /** "STRT": last four bytes of a sealed pack. */
    public static final int TRAILER_MAGIC = 0x53545254;
    /** u64 footer offset, u32 CRC32C of those 8 bytes, u32 magic. */
    public static final int TRAILER_LENGTH = 16;

    private static final HexFormat HEX = HexFormat.of();

    private PackFormat() {}

    /** CRC32C of a byte range: the checksum every pack structure uses (hardware-accelerated in the JDK). */
    public static int crc32c(byte[] b, int off, int len) {
        CRC32C crc = new CRC32C();
        crc.update(b, off, len);
        return (int) crc.getValue();
    }

    /** CRC32C of a buffer's remaining bytes (consumed), heap or direct. */
    public static int crc32c(java.nio.ByteBuffer b) {
        CRC32C crc = new CRC32C();
        crc.update(b);
        return (int) crc.getValue();
    }

    /** Whether {@code s} has the form of a pack id: 32 lowercase hex characters. */
    public static boolean isPackId(String s) {
        if (s == null || s.length() != 2 * PACK_ID_BYTES) {
            return false;
        }
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!(c >= '0' && c <= '9' || c >= 'a' && c <= 'f')) {
                return false;
            }
        }
        return true;
    }

    public static byte[] encodeFileHeader(String packId) {
        if (!isPackId(packId)) {
            throw new IllegalArgumentException("not a pack id: " + packId);
        }
        ByteBuffer b = ByteBuffer.allocate(FILE_HEADER_LENGTH);
        b.putInt(FILE_MAGIC).putShort((short) FILE_VERSION).putShort((short) 0).put(HEX.parseHex(packId));
        b.putInt(crc32c(b.array(), 0, FILE_HEADER_LENGTH - 4));
        return b.array();
    }

    /** Checks a file header and returns the pack id it names. */
    public static String decodeFileHeader(byte[] h) {
        if (h.length < FILE_HEADER_LENGTH) {
            throw new CorruptDataException("pack header length", Integer.toString(FILE_HEADER_LENGTH), Integer.toString(h.length));
        }
        ByteBuffer b = ByteBuffer.wrap(h, 0, FILE_HEADER_LENGTH);
        int magic = b.getInt();
        if (magic != FILE_MAGIC) {
            throw new CorruptDataException("pack magic", hex32(FILE_MAGIC), hex32(magic));
        }
        int crc = ByteBuffer.wrap(h, FILE_HEADER_LENGTH - 4, 4).getInt();
        int actual = crc32c(h, 0, FILE_HEADER_LENGTH - 4);
        if (crc != actual) {
            throw new CorruptDataException("pack header CRC32C", hex32(crc), hex32(actual));
        }
        int version = b.getShort() & 0xffff;
        if (version != FILE_VERSION) {
            throw new CorruptDataException("pack format version", Integer.toString(FILE_VERSION), Integer.toString(version));
        }
        int reserved = b.getShort() & 0xffff;
        if (reserved != 0) {
            throw new CorruptDataException("pack header reserved field", "0", Integer.toString(reserved));
        }
        byte[] id = new byte[PACK_ID_BYTES];
        b.get(id);
        return HEX.formatHex(id);
    }

    public static byte[] encodeTrailer(long footerOffset) {
        ByteBuffer b = ByteBuffer.allocate(TRAILER_LENGTH);
        b.putLong(footerOffset);
        b.putInt(crc32c(b.array(), 0, 8)).putInt(TRAILER_MAGIC);
        return b.array();
    }

    /**
     * Returns the footer offset a trailer names, or -1 when these 16 bytes are not a valid trailer
     * (the pack is unsealed or its seal was torn: the caller scans entries instead).
     */
    public static long decodeTrailer(byte[] t, int off) {
        ByteBuffer b = ByteBuffer.wrap(t, off, TRAILER_LENGTH);
        long footerOffset = b.getLong();
        int crc = b.getInt();
        int magic = b.getInt();
        if (magic != TRAILER_MAGIC || crc != crc32c(t, off, 8) || footerOffset < FILE_HEADER_LENGTH) {
            return -1;
        }
        return footerOffset;
    }

    static String hex32(int v) {
        return String.format("%08x", v);
    }
}
