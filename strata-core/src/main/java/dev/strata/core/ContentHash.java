package dev.strata.core;

import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;

/**
 * A 32-byte hash of content. Chunk ids (the hash of the decoded chunk bytes, ARCHITECTURE
 * invariant 1) and manifest ids are BLAKE3-256 ({@link #of}); whole-file digests are SHA-256
 * ({@link #sha256Of}, {@link #sha256()}) because S3 ETags and Hugging Face LFS oids need them.
 * Why: docs/decisions/0002-chunk-hash.md.
 */
public final class ContentHash implements Comparable<ContentHash> {
    public static final int LENGTH = 32;
    private static final HexFormat HEX = HexFormat.of();
    private final byte[] bytes;

    private ContentHash(byte[] bytes) {
        this.bytes = bytes;
    }

    /** Wraps 32 bytes (copied). */
    public static ContentHash fromBytes(byte[] bytes) {
        if (bytes.length != LENGTH) {
            throw new InvalidInputException("a content hash has 32 bytes, got " + bytes.length);
        }
        return new ContentHash(bytes.clone());
    }

    public static ContentHash fromBytes(byte[] buf, int offset) {
        return new ContentHash(Arrays.copyOfRange(buf, offset, offset + LENGTH));
    }

    /** Parses 64 lowercase or uppercase hex characters. */
    public static ContentHash fromHex(String hex) {
        if (hex == null || hex.length() != 2 * LENGTH) {
            throw new InvalidInputException("a content hash is 64 hex characters");
        }
        try {
            return new ContentHash(HEX.parseHex(hex));
        } catch (IllegalArgumentException e) {
            throw new InvalidInputException("not a hex content hash: " + Names.quote(hex));
        }
    }

    /** BLAKE3-256 of {@code data}: the id of a chunk or manifest. */
    public static ContentHash of(byte[] data) {
        return of(data, 0, data.length);
    }

    /** BLAKE3-256 of {@code data[offset, offset+length)}: the id of a chunk or manifest. */
    public static ContentHash of(byte[] data, int offset, int length) {
        return new ContentHash(dev.strata.core.hash.Blake3.hash(data, offset, length));
    }

    /** BLAKE3-256 of the buffer's remaining bytes (heap or direct; the position moves to the limit). */
    public static ContentHash of(java.nio.ByteBuffer data) {
        return new ContentHash(dev.strata.core.hash.Blake3.hash(data));
    }

    /** SHA-256 of a file's bytes, read in 1 MiB steps (whole-file checks after a pull or a drill). */
    public static ContentHash sha256Of(java.nio.file.Path file) throws java.io.IOException {
        MessageDigest md = sha256();
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 20];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return ofDigest(md);
    }

    /** SHA-256 of {@code data}: a whole-file digest. */
    public static ContentHash sha256Of(byte[] data) {
        return new ContentHash(sha256().digest(data));
    }

    /** A fresh SHA-256 digest (JDK provider; uses SHA-NI where the CPU has it). */
    public static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("JDK without SHA-256", e);
        }
    }

    public static ContentHash ofDigest(MessageDigest finishedDigest) {
        return new ContentHash(finishedDigest.digest());
    }

    public byte[] toBytes() {
        return bytes.clone();
    }

    public void writeTo(byte[] dst, int offset) {
        System.arraycopy(bytes, 0, dst, offset, LENGTH);
    }

    public String hex() {
        return HEX.formatHex(bytes);
    }

    /** First two hex characters, used to fan out directories and index partitions. */
    public int prefixByte() {
        return bytes[0] & 0xff;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ContentHash other && Arrays.equals(bytes, other.bytes);
    }

    @Override
    public int hashCode() {
        // The bytes are already uniformly distributed.
        return (bytes[0] & 0xff) << 24 | (bytes[1] & 0xff) << 16 | (bytes[2] & 0xff) << 8 | (bytes[3] & 0xff);
    }

    @Override
    public int compareTo(ContentHash o) {
        return Arrays.compareUnsigned(bytes, o.bytes);
    }

    @Override
    public String toString() {
        return hex();
    }
}
