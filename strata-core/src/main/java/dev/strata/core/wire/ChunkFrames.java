package dev.strata.core.wire;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.core.store.EncodedChunk;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;

/**
 * The chunk frame stream of the transfer protocol (docs/api.md, "Chunk frames"): a body is a
 * sequence of frames, each {@code id[32] | codec u8 | raw_length u32 | encoded_length u32 |
 * encoded bytes}, big-endian, ending with the body. Used for uploads (client to server) and
 * chunk fetches (server to client). Lengths are capped before anything is allocated.
 */
public final class ChunkFrames {
    public static final int HEADER = ContentHash.LENGTH + 1 + 4 + 4;
    /** Largest decoded chunk accepted: the chunker's maximum is 256 KiB; room for later formats. */
    public static final int MAX_RAW = 1 << 20;
    /** zstd's worst case expansion of MAX_RAW is well under this. */
    public static final int MAX_ENCODED = MAX_RAW + (MAX_RAW >> 6) + 1024;

    private ChunkFrames() {}

    /** A received frame; the id is the sender's claim and must be verified before use. */
    public record Frame(ContentHash id, EncodedChunk chunk) {}

    public static void write(OutputStream out, ContentHash id, EncodedChunk chunk) throws IOException {
        if (chunk.codec() == Codec.DELTA) {
            throw new IllegalArgumentException("chunk " + id + " is a delta: resolve it before sending (DeltaChains.selfContained)");
        }
        byte[] h = new byte[HEADER];
        writeHeader(h, 0, id, chunk.codec(), chunk.rawLength(), chunk.data().length);
        out.write(h);
        out.write(chunk.data());
    }

    /** Writes a frame header into {@code dst} at {@code off}; the encoded bytes follow it. */
    public static void writeHeader(byte[] dst, int off, ContentHash id, Codec codec, int rawLength, int encodedLength) {
        id.writeTo(dst, off);
        dst[off + 32] = (byte) codec.id();
        putInt(dst, off + 33, rawLength);
        putInt(dst, off + 37, encodedLength);
    }

    /** A frame's header, checked; its {@code encodedLength} encoded bytes follow in the stream. */
    public record Header(ContentHash id, Codec codec, int rawLength, int encodedLength) {}

    /** Reads the next frame, or null at a clean end of stream. Malformed input: InvalidInputException. */
    public static Frame read(InputStream in) throws IOException {
        Header h = readHeader(in);
        if (h == null) {
            return null;
        }
        byte[] data = new byte[h.encodedLength()];
        readBody(in, data, 0, data.length);
        return new Frame(h.id(), new EncodedChunk(h.codec(), h.rawLength(), data));
    }

    /**
     * Reads the next frame's header, or null at a clean end of stream; the caller then reads its
     * body with {@link #readBody} (into a buffer it reuses, say). Lengths are checked here, so a
     * caller may size its buffer by {@link #MAX_ENCODED}.
     */
    public static Header readHeader(InputStream in) throws IOException {
        byte[] h = new byte[HEADER];
        int n = in.readNBytes(h, 0, HEADER);
        if (n == 0) {
            return null;
        }
        if (n < HEADER) {
            throw new InvalidInputException("chunk frame stream ends inside a frame header");
        }
        return parseHeader(h);
    }

    /** Parses and checks a frame header of {@link #HEADER} bytes (read by the caller from wherever). */
    public static Header parseHeader(byte[] h) {
        ContentHash id = ContentHash.fromBytes(h, 0);
        Codec codec;
        try {
            codec = Codec.fromId(h[32] & 0xff);
        } catch (RuntimeException e) {
            throw new InvalidInputException("unknown codec id " + (h[32] & 0xff) + " in chunk frame");
        }
        if (codec == Codec.DELTA) {
            // A delta decodes only against a base the receiver may lack: never a wire encoding.
            throw new InvalidInputException("chunk frame " + id + " is a delta (codec " + codec.id() + "): frames must decode on their own");
        }
        int raw = getInt(h, 33);
        int enc = getInt(h, 37);
        if (raw <= 0 || raw > MAX_RAW || enc <= 0 || enc > MAX_ENCODED || codec == Codec.RAW && enc != raw) {
            throw new InvalidInputException("chunk frame lengths out of range: raw=" + raw + " encoded=" + enc);
        }
        return new Header(id, codec, raw, enc);
    }

    /**
     * {@link #readHeader(InputStream)} from a channel (a pull reads frames into direct buffers):
     * the next header, or null at a clean end of stream.
     */
    public static Header readHeader(ReadableByteChannel in) throws IOException {
        byte[] h = new byte[HEADER];
        ByteBuffer b = ByteBuffer.wrap(h);
        while (b.hasRemaining()) {
            if (in.read(b) < 0) {
                if (b.position() == 0) {
                    return null;
                }
                throw new InvalidInputException("chunk frame stream ends inside a frame header");
            }
        }
        return parseHeader(h);
    }

    /** Fills {@code dst} (position to limit) with body bytes from a channel; a short stream is malformed input. */
    public static void readBody(ReadableByteChannel in, ByteBuffer dst) throws IOException {
        while (dst.hasRemaining()) {
            if (in.read(dst) < 0) {
                throw new InvalidInputException("chunk frame stream ends inside a frame body");
            }
        }
    }

    /** Reads exactly {@code len} body bytes into {@code dst} at {@code off}; a short stream is malformed input. */
    public static void readBody(InputStream in, byte[] dst, int off, int len) throws IOException {
        if (in.readNBytes(dst, off, len) < len) {
            throw new InvalidInputException("chunk frame stream ends inside a frame body");
        }
    }

    private static void putInt(byte[] b, int off, int v) {
        b[off] = (byte) (v >>> 24);
        b[off + 1] = (byte) (v >>> 16);
        b[off + 2] = (byte) (v >>> 8);
        b[off + 3] = (byte) v;
    }

    private static int getInt(byte[] b, int off) {
        return (b[off] & 0xff) << 24 | (b[off + 1] & 0xff) << 16 | (b[off + 2] & 0xff) << 8 | (b[off + 3] & 0xff);
    }
}
