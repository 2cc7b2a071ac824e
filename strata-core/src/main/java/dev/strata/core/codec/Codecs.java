package dev.strata.core.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.InvalidInputException;
import dev.strata.core.store.EncodedChunk;

/**
 * Encodes and decodes chunk bytes per {@link Codec}. Stateless and thread-safe.
 *
 * <p>Decoding treats every stored or received chunk as untrusted: the output buffer is sized from
 * the declared raw length (capped at {@link #MAX_RAW_LENGTH}), never from a length inside the zstd
 * frame, and a frame that decodes to any other length is rejected as corrupt.
 */
public final class Codecs {
    /**
     * Largest raw chunk accepted (64 MiB). Content-defined chunks average 64 KiB; the cap exists so
     * that a hostile or corrupt length cannot make a decoder allocate gigabytes.
     */
    public static final int MAX_RAW_LENGTH = 64 << 20;

    /** zstd level used on the write path: level 1 keeps up with checkpoint writes on one core. */
    public static final int FAST_ZSTD_LEVEL = 1;

    /**
     * Compression is kept only when it saves at least this fraction: below it the bytes saved on
     * disk do not pay for decompressing on every read (model weights are often near-incompressible).
     */
    public static final double MIN_SAVING = 0.03;

    private Codecs() {}

    /** Encodes {@code raw} with {@code codec}; ZSTD uses {@link #FAST_ZSTD_LEVEL}. */
    public static EncodedChunk encode(Codec codec, byte[] raw) {
        return encode(codec, raw, FAST_ZSTD_LEVEL);
    }

    /** Encodes {@code raw} with {@code codec}; {@code zstdLevel} is ignored for RAW. */
    public static EncodedChunk encode(Codec codec, byte[] raw, int zstdLevel) {
        checkRawLength(raw.length);
        return switch (codec) {
            case RAW -> new EncodedChunk(Codec.RAW, raw.length, raw);
            case ZSTD -> new EncodedChunk(Codec.ZSTD, raw.length, Zstd.compress(raw, zstdLevel));
        };
    }

    /**
     * The encoding to store fresh bytes with: zstd level 1 when it saves at least
     * {@link #MIN_SAVING} of the size, else the bytes as they are (RAW).
     */
    public static EncodedChunk compressOrRaw(byte[] raw) {
        checkRawLength(raw.length);
        if (raw.length == 0) {
            return new EncodedChunk(Codec.RAW, 0, raw);
        }
        byte[] z = Zstd.compress(raw, FAST_ZSTD_LEVEL);
        if (z.length <= (long) Math.floor(raw.length * (1.0 - MIN_SAVING))) {
            return new EncodedChunk(Codec.ZSTD, raw.length, z);
        }
        return new EncodedChunk(Codec.RAW, raw.length, raw);
    }

    /**
     * Decodes a chunk into exactly {@code rawLength} bytes.
     *
     * @throws CorruptDataException when the bytes are not a valid encoding of {@code rawLength} bytes
     */
    public static byte[] decode(EncodedChunk chunk) {
        int rawLength = chunk.rawLength();
        if (rawLength > MAX_RAW_LENGTH) {
            throw new CorruptDataException("chunk raw length", "at most " + MAX_RAW_LENGTH, Integer.toString(rawLength));
        }
        byte[] data = chunk.data();
        return switch (chunk.codec()) {
            case RAW -> {
                if (data.length != rawLength) {
                    throw new CorruptDataException("raw chunk length", Integer.toString(rawLength), Integer.toString(data.length));
                }
                yield data;
            }
            case ZSTD -> {
                byte[] out = new byte[rawLength];
                long n;
                try {
                    n = Zstd.decompressByteArray(out, 0, rawLength, data, 0, data.length);
                } catch (ZstdException e) {
                    // dstSize_tooSmall lands here too: the frame holds more than the declared length.
                    throw new CorruptDataException("zstd frame decoding to " + rawLength + " bytes", "a valid frame", e.getMessage());
                }
                if (n != rawLength) {
                    throw new CorruptDataException("zstd decoded length", Integer.toString(rawLength), Long.toString(n));
                }
                yield out;
            }
        };
    }

    /**
     * Decodes {@code chunk} and checks that its bytes hash to {@code id}; returns the decoded bytes.
     * Every path that hands chunk bytes to a caller goes through here (ARCHITECTURE invariant 1).
     *
     * @throws CorruptDataException carrying the expected and the actual id on mismatch
     */
    public static byte[] verify(ContentHash id, EncodedChunk chunk) {
        byte[] raw = decode(chunk);
        ContentHash actual = ContentHash.of(raw);
        if (!actual.equals(id)) {
            throw new CorruptDataException("chunk id", id.hex(), actual.hex());
        }
        return raw;
    }

    /** Upper bound of the encoded size of {@code rawLength} bytes under any codec (for buffer caps). */
    public static int maxEncodedLength(int rawLength) {
        return (int) Math.min(Integer.MAX_VALUE - 64, Zstd.compressBound(rawLength));
    }

    private static void checkRawLength(int length) {
        if (length > MAX_RAW_LENGTH) {
            throw new InvalidInputException("chunk of " + length + " bytes is over the " + MAX_RAW_LENGTH + "-byte limit");
        }
    }
}
