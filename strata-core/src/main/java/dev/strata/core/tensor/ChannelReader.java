package dev.strata.core.tensor;

import dev.strata.core.InvalidInputException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;

/**
 * Bounds-checked little-endian sequential reader over {@code [0, size)} of a file channel, with a
 * small buffer. Reading past {@code size} is malformed input ({@link InvalidInputException}); a
 * file that shrank under us is an {@link EOFException}.
 */
final class ChannelReader {
    private final FileChannel ch;
    private final long size;
    private final ByteBuffer buf = ByteBuffer.allocate(64 << 10).order(ByteOrder.LITTLE_ENDIAN);
    private long bufStart;
    private long pos;

    ChannelReader(FileChannel ch, long size, long start) {
        this.ch = ch;
        this.size = size;
        this.pos = start;
        this.bufStart = start;
        buf.limit(0);
    }

    long position() {
        return pos;
    }

    long size() {
        return size;
    }

    long remaining() {
        return size - pos;
    }

    void seek(long p) {
        if (p < 0 || p > size) {
            throw new InvalidInputException("offset " + p + " outside the " + size + "-byte file");
        }
        pos = p;
    }

    void skip(long n) {
        if (n < 0 || n > size - pos) {
            throw new InvalidInputException("truncated: " + n + " bytes needed at offset " + pos + " of " + size);
        }
        pos += n;
    }

    private ByteBuffer need(int n) throws IOException {
        if (n > size - pos) {
            throw new InvalidInputException("truncated: " + n + " bytes needed at offset " + pos + " of " + size);
        }
        if (pos < bufStart || pos + n > bufStart + buf.limit()) {
            buf.clear();
            int want = (int) Math.min(buf.capacity(), size - pos);
            buf.limit(want);
            while (buf.hasRemaining()) {
                if (ch.read(buf, pos + buf.position()) < 0) {
                    throw new EOFException("file shrank while being read at offset " + (pos + buf.position()));
                }
            }
            buf.flip();
            bufStart = pos;
        }
        buf.position((int) (pos - bufStart));
        pos += n;
        return buf;
    }

    int u8() throws IOException {
        return need(1).get() & 0xff;
    }

    int u16() throws IOException {
        return need(2).getShort() & 0xffff;
    }

    long u32() throws IOException {
        return need(4).getInt() & 0xffffffffL;
    }

    int i32() throws IOException {
        return need(4).getInt();
    }

    long i64() throws IOException {
        return need(8).getLong();
    }

    /** A u64 that must fit a non-negative long. */
    long u64() throws IOException {
        long v = need(8).getLong();
        if (v < 0) {
            throw new InvalidInputException("64-bit value over 2^63 at offset " + (pos - 8));
        }
        return v;
    }

    /** Reads {@code n} bytes; the caller has capped {@code n}. */
    byte[] bytes(int n) throws IOException {
        if (n < 0 || n > size - pos) {
            throw new InvalidInputException("truncated: " + n + " bytes needed at offset " + pos + " of " + size);
        }
        byte[] out = new byte[n];
        int done = 0;
        while (done < n) {
            int k = Math.min(n - done, buf.capacity());
            need(k).get(out, done, k);
            done += k;
        }
        return out;
    }

    static String utf8(byte[] b) {
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(b)).toString();
        } catch (CharacterCodingException e) {
            throw new InvalidInputException("name is not valid UTF-8");
        }
    }

    /** An input stream over {@code [start, start + length)} of the channel (not closing it). */
    static InputStream stream(FileChannel ch, long start, long length) {
        return new InputStream() {
            private long p = start;
            private final long end = start + length;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (p >= end) {
                    return -1;
                }
                int n = (int) Math.min(len, end - p);
                int r = ch.read(ByteBuffer.wrap(b, off, n), p);
                if (r < 0) {
                    throw new EOFException("file shrank while being read at offset " + p);
                }
                p += r;
                return r;
            }
        };
    }
}
