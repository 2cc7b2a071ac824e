package dev.strata.core.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdException;
import dev.strata.core.CorruptDataException;

/**
 * The byte-plane encoding behind {@link dev.strata.core.Codec#BYTE_PLANES_2} and
 * {@link dev.strata.core.Codec#BYTE_PLANES_4} (docs/format.md, "Byte planes"): the chunk is read as
 * little-endian elements of {@code width} bytes starting at byte {@code phase}; byte k of every
 * element goes to plane k, and each plane is stored raw, as one zstd frame, or as an all-zero run.
 * The {@code phase} bytes before the first element and the bytes after the last complete element
 * are stored raw in the header.
 *
 * <p>For BF16 the high plane (sign and 7 exponent bits) compresses ~2.8x and the low plane (mantissa)
 * not at all, so only half the bytes go through the entropy coder. Decoding trusts nothing: every
 * length is checked against the declared raw length before anything is allocated.
 */
final class BytePlanes {
    static final int VERSION = 1;
    static final int MODE_RAW = 0;
    static final int MODE_ZSTD = 1;
    static final int MODE_ZERO = 2;
    /** Fixed part of the header: version, width, phase, reserved. */
    static final int FIXED_HEADER = 4;
    /** Per plane: mode u8, stored length u32. */
    static final int DESCRIPTOR = 5;

    private BytePlanes() {}

    /** Length of the header (everything before the plane data) for these parameters. */
    static int headerLength(int rawLength, int width, int phase) {
        int p = Math.min(phase, rawLength);
        return FIXED_HEADER + p + (rawLength - p) % width + DESCRIPTOR * width;
    }

    /**
     * Encodes {@code raw} as byte planes. A plane is stored zstd-compressed (at {@code zstdLevel})
     * only when that saves at least {@code minSaving} of the plane; an all-zero plane is stored as
     * a zero run (no data bytes).
     *
     * @param phase offset of the first complete element, {@code 0 <= phase < width}; clamped to the length
     */
    static byte[] encode(byte[] raw, int width, int phase, int zstdLevel, double minSaving) {
        if (width != 2 && width != 4) {
            throw new IllegalArgumentException("width " + width);
        }
        if (phase < 0 || phase >= width) {
            throw new IllegalArgumentException("phase " + phase + " for width " + width);
        }
        int n = raw.length;
        int p = Math.min(phase, n);
        int count = (n - p) / width;
        int t = (n - p) - count * width;
        byte[][] planes = new byte[width][];
        int[] modes = new int[width];
        long dataLength = 0;
        byte[] plane = new byte[count];
        for (int k = 0; k < width; k++) {
            int nonZero = gather(raw, p + k, width, count, plane);
            if (nonZero == 0) {
                modes[k] = MODE_ZERO;
                planes[k] = new byte[0];
                continue;
            }
            byte[] z = compressPlane(plane, zstdLevel);
            if (z.length <= (long) Math.floor(count * (1.0 - minSaving))) {
                modes[k] = MODE_ZSTD;
                planes[k] = z;
            } else {
                modes[k] = MODE_RAW;
                planes[k] = plane;
                plane = new byte[count];
            }
            dataLength += planes[k].length;
        }
        int header = headerLength(n, width, phase);
        byte[] out = new byte[Math.toIntExact(header + dataLength)];
        out[0] = (byte) VERSION;
        out[1] = (byte) width;
        out[2] = (byte) p;
        out[3] = 0;
        System.arraycopy(raw, 0, out, FIXED_HEADER, p);
        System.arraycopy(raw, p + count * width, out, FIXED_HEADER + p, t);
        int d = FIXED_HEADER + p + t;
        int pos = header;
        for (int k = 0; k < width; k++) {
            out[d] = (byte) modes[k];
            putInt(out, d + 1, planes[k].length);
            d += DESCRIPTOR;
            System.arraycopy(planes[k], 0, out, pos, planes[k].length);
            pos += planes[k].length;
        }
        return out;
    }

    /**
     * zstd with a minimum match length of 7: a plane of exponent bytes has a small alphabet, so the
     * default (5 at level 1) finds many short matches that cost more time than they save; with 7
     * the plane is mostly Huffman-coded literals (smaller, and faster both ways; measured in
     * docs/decisions/0009-byte-plane-codecs.md). The frame is a standard zstd frame.
     */
    private static byte[] compressPlane(byte[] plane, int zstdLevel) {
        try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
            ctx.setLevel(zstdLevel);
            ctx.setMinMatch(7);
            return ctx.compress(plane);
        }
    }

    /** Copies byte {@code from + i*width} for i in 0..count-1 into {@code plane}; returns how many were non-zero (0 or not). */
    private static int gather(byte[] raw, int from, int width, int count, byte[] plane) {
        int or = 0;
        if (width == 2) {
            for (int i = 0, j = from; i < count; i++, j += 2) {
                byte b = raw[j];
                plane[i] = b;
                or |= b;
            }
        } else {
            for (int i = 0, j = from; i < count; i++, j += 4) {
                byte b = raw[j];
                plane[i] = b;
                or |= b;
            }
        }
        return or;
    }

    private static void scatter(byte[] plane, int planeOffset, int count, byte[] out, int from, int width) {
        if (width == 2) {
            for (int i = 0, j = from; i < count; i++, j += 2) {
                out[j] = plane[planeOffset + i];
            }
        } else {
            for (int i = 0, j = from; i < count; i++, j += 4) {
                out[j] = plane[planeOffset + i];
            }
        }
    }

    /**
     * Decodes byte planes of {@code width} into exactly {@code rawLength} bytes. Allocates the output
     * ({@code rawLength}) and, only when a plane is zstd-compressed, one plane buffer of at most
     * {@code rawLength / width} bytes; nothing is sized from a length inside the encoding.
     *
     * @throws CorruptDataException when {@code enc} is not a valid encoding of {@code rawLength} bytes
     */
    static byte[] decode(byte[] enc, int rawLength, int width) {
        if (enc.length < FIXED_HEADER) {
            throw corrupt("byte-plane header", "at least " + FIXED_HEADER + " bytes", enc.length + " bytes");
        }
        if ((enc[0] & 0xff) != VERSION) {
            throw corrupt("byte-plane format version", Integer.toString(VERSION), Integer.toString(enc[0] & 0xff));
        }
        if ((enc[1] & 0xff) != width) {
            throw corrupt("byte-plane element width", Integer.toString(width), Integer.toString(enc[1] & 0xff));
        }
        int p = enc[2] & 0xff;
        if (p >= width || p > rawLength) {
            throw corrupt("byte-plane phase", "below " + width + " and at most the raw length " + rawLength, Integer.toString(p));
        }
        if (enc[3] != 0) {
            throw corrupt("byte-plane reserved byte", "0", Integer.toString(enc[3] & 0xff));
        }
        int count = (rawLength - p) / width;
        int t = (rawLength - p) - count * width;
        int header = FIXED_HEADER + p + t + DESCRIPTOR * width;
        if (enc.length < header) {
            throw corrupt("byte-plane header", "at least " + header + " bytes", enc.length + " bytes");
        }
        int[] modes = new int[width];
        int[] lengths = new int[width];
        long total = header;
        boolean anyZstd = false;
        for (int k = 0, d = FIXED_HEADER + p + t; k < width; k++, d += DESCRIPTOR) {
            int mode = enc[d] & 0xff;
            long len = getInt(enc, d + 1) & 0xffffffffL;
            switch (mode) {
                case MODE_RAW -> {
                    if (len != count) {
                        throw corrupt("raw plane " + k + " length", Integer.toString(count), Long.toString(len));
                    }
                }
                case MODE_ZERO -> {
                    if (len != 0) {
                        throw corrupt("zero plane " + k + " length", "0", Long.toString(len));
                    }
                }
                case MODE_ZSTD -> {
                    if (count == 0 || len == 0) {
                        throw corrupt("zstd plane " + k + " length", "a non-empty frame for a non-empty plane", len + " bytes for " + count);
                    }
                    anyZstd = true;
                }
                default -> throw corrupt("plane " + k + " mode", "0 (raw), 1 (zstd) or 2 (zero)", Integer.toString(mode));
            }
            if (len > enc.length) {
                throw corrupt("plane " + k + " length", "at most " + enc.length, Long.toString(len));
            }
            modes[k] = mode;
            lengths[k] = (int) len;
            total += len;
        }
        if (total != enc.length) {
            throw corrupt("byte-plane encoded length", Long.toString(total), Integer.toString(enc.length));
        }
        for (int k = 0, pos = header; k < width; pos += lengths[k], k++) {
            if (modes[k] == MODE_ZSTD) {
                // Checked before anything is allocated: a frame must declare the plane's length.
                long declared;
                try {
                    declared = Zstd.getFrameContentSize(enc, pos, lengths[k]);
                } catch (ZstdException e) {
                    declared = -2;
                }
                if (declared != count) {
                    throw corrupt("zstd plane " + k + " frame content size", Integer.toString(count), Long.toString(declared));
                }
            }
        }
        byte[] out = new byte[rawLength];
        System.arraycopy(enc, FIXED_HEADER, out, 0, p);
        System.arraycopy(enc, FIXED_HEADER + p, out, p + count * width, t);
        byte[] scratch = anyZstd ? new byte[count] : null;
        int pos = header;
        for (int k = 0; k < width; k++) {
            switch (modes[k]) {
                case MODE_RAW -> scatter(enc, pos, count, out, p + k, width);
                case MODE_ZSTD -> {
                    long n;
                    try {
                        n = Zstd.decompressByteArray(scratch, 0, count, enc, pos, lengths[k]);
                    } catch (ZstdException e) {
                        throw corrupt("zstd plane " + k + " decoding to " + count + " bytes", "a valid frame", e.getMessage());
                    }
                    if (n != count) {
                        throw corrupt("zstd plane " + k + " decoded length", Integer.toString(count), Long.toString(n));
                    }
                    scatter(scratch, 0, count, out, p + k, width);
                }
                default -> { } // MODE_ZERO: the output is already zero
            }
            pos += lengths[k];
        }
        return out;
    }

    private static CorruptDataException corrupt(String what, String expected, String actual) {
        return new CorruptDataException(what, expected, actual);
    }

    private static void putInt(byte[] b, int at, int v) {
        b[at] = (byte) (v >>> 24);
        b[at + 1] = (byte) (v >>> 16);
        b[at + 2] = (byte) (v >>> 8);
        b[at + 3] = (byte) v;
    }

    private static int getInt(byte[] b, int at) {
        return (b[at] & 0xff) << 24 | (b[at + 1] & 0xff) << 16 | (b[at + 2] & 0xff) << 8 | (b[at + 3] & 0xff);
    }
}
