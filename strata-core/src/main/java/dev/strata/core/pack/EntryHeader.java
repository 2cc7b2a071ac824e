package dev.strata.core.pack;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.codec.Codecs;
import java.nio.ByteBuffer;

/**
 * The fixed 56-byte header in front of each chunk's encoded bytes in a pack (docs/format.md,
 * "Entry"): u32 magic "STRE", u8 version, u8 codec id, u16 reserved (0), 32-byte chunk id,
 * u32 raw length, u32 encoded length, u32 CRC32C of the encoded bytes, u32 CRC32C of the
 * preceding 52 header bytes.
 *
 * <p>Why a CRC on top of the chunk id: the id needs a decode and a SHA-256 to check, the CRC only
 * a pass over the stored bytes, so recovery can find the end of a torn pack quickly and a read can
 * tell "this entry is damaged on disk" apart from "this chunk was stored under a wrong id".
 */
public record EntryHeader(ContentHash id, Codec codec, int rawLength, int encodedLength, int dataCrc) {
    public static final int MAGIC = 0x53545245; // "STRE"
    public static final int VERSION = 1;
    public static final int LENGTH = 56;

    public EntryHeader {
        if (id == null || codec == null) {
            throw new IllegalArgumentException("entry header needs an id and a codec");
        }
        checkLengths(codec, rawLength, encodedLength);
    }

    /** The header for storing {@code data} (encoded bytes) under {@code id}. */
    public static EntryHeader of(ContentHash id, Codec codec, int rawLength, byte[] data) {
        return new EntryHeader(id, codec, rawLength, data.length, PackFormat.crc32c(data, 0, data.length));
    }

    /** Bytes of the whole entry on disk: header plus encoded data. */
    public long entryLength() {
        return LENGTH + (long) encodedLength;
    }

    public byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(LENGTH);
        b.putInt(MAGIC).put((byte) VERSION).put((byte) codec.id()).putShort((short) 0);
        byte[] idBytes = new byte[ContentHash.LENGTH];
        id.writeTo(idBytes, 0);
        b.put(idBytes).putInt(rawLength).putInt(encodedLength).putInt(dataCrc);
        b.putInt(PackFormat.crc32c(b.array(), 0, LENGTH - 4));
        return b.array();
    }

    /**
     * Decodes and checks a header at {@code buf[off..off+56)}: magic, header CRC, version, reserved
     * bits, codec id and length limits, in that order, so random bytes fail on the cheapest check.
     */
    public static EntryHeader decode(byte[] buf, int off) {
        if (buf.length - off < LENGTH) {
            throw new CorruptDataException("entry header length", Integer.toString(LENGTH), Integer.toString(buf.length - off));
        }
        ByteBuffer b = ByteBuffer.wrap(buf, off, LENGTH);
        int magic = b.getInt();
        if (magic != MAGIC) {
            throw new CorruptDataException("entry magic", PackFormat.hex32(MAGIC), PackFormat.hex32(magic));
        }
        int crc = ByteBuffer.wrap(buf, off + LENGTH - 4, 4).getInt();
        int actual = PackFormat.crc32c(buf, off, LENGTH - 4);
        if (crc != actual) {
            throw new CorruptDataException("entry header CRC32C", PackFormat.hex32(crc), PackFormat.hex32(actual));
        }
        int version = b.get() & 0xff;
        if (version != VERSION) {
            throw new CorruptDataException("entry version", Integer.toString(VERSION), Integer.toString(version));
        }
        Codec codec = Codec.fromId(b.get() & 0xff);
        int reserved = b.getShort() & 0xffff;
        if (reserved != 0) {
            throw new CorruptDataException("entry reserved field", "0", Integer.toString(reserved));
        }
        ContentHash id = ContentHash.fromBytes(buf, off + 8);
        b.position(b.position() + ContentHash.LENGTH);
        int rawLength = b.getInt();
        int encodedLength = b.getInt();
        int dataCrc = b.getInt();
        try {
            checkLengths(codec, rawLength, encodedLength);
        } catch (IllegalArgumentException e) {
            throw new CorruptDataException("entry lengths", "within the format's limits", e.getMessage());
        }
        return new EntryHeader(id, codec, rawLength, encodedLength, dataCrc);
    }

    /** Checks encoded bytes against {@link #dataCrc}; {@code what} names them in the error. */
    public void checkData(byte[] data, int off, String what) {
        int actual = PackFormat.crc32c(data, off, encodedLength);
        if (actual != dataCrc) {
            throw new CorruptDataException(what + " data CRC32C", PackFormat.hex32(dataCrc), PackFormat.hex32(actual));
        }
    }

    /** {@link #checkData(byte[], int, String)} of the remaining bytes of {@code data} (its position is kept). */
    public void checkData(java.nio.ByteBuffer data, String what) {
        int actual = PackFormat.crc32c(data.duplicate());
        if (data.remaining() != encodedLength || actual != dataCrc) {
            throw new CorruptDataException(what + " data CRC32C", PackFormat.hex32(dataCrc), PackFormat.hex32(actual));
        }
    }

    static void checkLengths(Codec codec, int rawLength, int encodedLength) {
        if (rawLength < 0 || rawLength > Codecs.MAX_RAW_LENGTH) {
            throw new IllegalArgumentException("raw length " + rawLength + " outside 0.." + Codecs.MAX_RAW_LENGTH);
        }
        if (encodedLength < 0 || encodedLength > Codecs.maxEncodedLength(Codecs.MAX_RAW_LENGTH)) {
            throw new IllegalArgumentException("encoded length " + encodedLength + " outside the format's limit");
        }
        if (codec == Codec.RAW && encodedLength != rawLength) {
            throw new IllegalArgumentException("RAW entry with raw length " + rawLength + " but encoded length " + encodedLength);
        }
    }
}
