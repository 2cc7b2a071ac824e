package dev.strata.core.store.erasure;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import java.nio.ByteBuffer;
import java.util.zip.CRC32C;

/**
 * The 64-byte header at the start of every shard entry in a shard pack file (docs/format.md, "Erasure-coded shards"),
 * big-endian:
 * <pre>
 *  0  magic "STRS"        4
 *  4  version (1)         1
 *  5  k (data shards)     1
 *  6  m (parity shards)   1
 *  7  shard index         1   0..k+m-1; data shards first
 *  8  codec id            1
 *  9  reserved, zero      3
 * 12  raw length          4   decoded chunk length
 * 16  encoded length      4   the stripe's payload: the encoded chunk bytes
 * 20  shard length        4   ceil(encoded length / k); the entry is 64 + shard length bytes
 * 24  chunk id           32
 * 56  CRC32C of the shard bytes    4
 * 60  CRC32C of bytes 0..59        4
 * </pre>
 */
record ShardHeader(int k, int m, int shardIndex, Codec codec, int rawLength, int encodedLength, int shardLength,
                   ContentHash id, int shardCrc) {
    static final int LENGTH = 64;
    static final int MAGIC = 0x53545253; // "STRS"
    static final int VERSION = 1;

    static int shardLength(int encodedLength, int k) {
        return (int) (((long) encodedLength + k - 1) / k);
    }

    static int crc(byte[] b, int off, int len) {
        CRC32C c = new CRC32C();
        c.update(b, off, len);
        return (int) c.getValue();
    }

    byte[] encode() {
        ByteBuffer b = ByteBuffer.allocate(LENGTH);
        b.putInt(MAGIC).put((byte) VERSION).put((byte) k).put((byte) m).put((byte) shardIndex).put((byte) codec.id());
        b.put(new byte[3]);
        b.putInt(rawLength).putInt(encodedLength).putInt(shardLength);
        id.writeTo(b.array(), 24);
        b.position(56);
        b.putInt(shardCrc);
        b.putInt(crc(b.array(), 0, 60));
        return b.array();
    }

    /** Parses and checks a header; every inconsistency is a CorruptDataException naming {@code what}. */
    static ShardHeader decode(byte[] buf, String what) {
        if (buf.length < LENGTH) {
            throw new CorruptDataException(what, "at least " + LENGTH + " bytes", buf.length + " bytes");
        }
        ByteBuffer b = ByteBuffer.wrap(buf, 0, LENGTH);
        int magic = b.getInt(0);
        if (magic != MAGIC) {
            throw new CorruptDataException(what + " magic", Integer.toHexString(MAGIC), Integer.toHexString(magic));
        }
        int stored = b.getInt(60);
        int actual = crc(buf, 0, 60);
        if (stored != actual) {
            throw new CorruptDataException(what + " header CRC32C", Integer.toHexString(stored), Integer.toHexString(actual));
        }
        int version = buf[4] & 0xFF;
        if (version != VERSION) {
            throw new CorruptDataException(what + " version", String.valueOf(VERSION), String.valueOf(version));
        }
        int k = buf[5] & 0xFF;
        int m = buf[6] & 0xFF;
        int index = buf[7] & 0xFF;
        if (k < 1 || k + m > 255 || index >= k + m) {
            throw new CorruptDataException(what + " geometry", "1 ≤ k, k + m ≤ 255, index < k + m", "k=" + k + " m=" + m + " index=" + index);
        }
        Codec codec;
        try {
            codec = Codec.fromId(buf[8] & 0xFF);
        } catch (RuntimeException e) {
            throw new CorruptDataException(what + " codec", "a known codec id", String.valueOf(buf[8] & 0xFF));
        }
        int raw = b.getInt(12);
        int enc = b.getInt(16);
        int shardLen = b.getInt(20);
        if (raw < 0 || enc < 0 || shardLen != shardLength(enc, k) || (codec == Codec.RAW && raw != enc)) {
            throw new CorruptDataException(what + " lengths", "consistent lengths", "raw=" + raw + " encoded=" + enc + " shard=" + shardLen);
        }
        return new ShardHeader(k, m, index, codec, raw, enc, shardLen, ContentHash.fromBytes(buf, 24), b.getInt(56));
    }
}
