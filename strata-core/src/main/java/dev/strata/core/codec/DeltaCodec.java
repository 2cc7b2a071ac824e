package dev.strata.core.codec;

import com.github.luben.zstd.Zstd;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.store.EncodedChunk;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The encoding behind {@link Codec#DELTA} (docs/format.md, "Delta"): a fixed header naming the
 * base chunk, then the residual (chunk against base, per element of the float width) encoded as
 * RAW, ZSTD or FLOAT. Over the first min(N, B) bytes (N chunk length, B base length) the residual
 * is the transform of chunk and base element by element from byte 0 (a trailing partial element is
 * XORed byte by byte, whatever the transform); bytes past the base are the chunk's own bytes.
 */
final class DeltaCodec {
    static final int VERSION = 1;
    /** version u8, base id (32), depth u8, transform u8, format u8, reserved u8, base length u32, inner codec u8. */
    static final int HEADER = 1 + ContentHash.LENGTH + 1 + 1 + 1 + 1 + 4 + 1;
    /** Deepest chain the header can express. */
    static final int MAX_DEPTH = 255;

    private static final VarHandle SHORT_LE = MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);

    private DeltaCodec() {}

    /** The residual of {@code raw} against {@code base} (a new array of raw.length bytes). */
    static byte[] residual(byte[] raw, byte[] base, FloatFormat fmt, DeltaTransform tr) {
        byte[] r = raw.clone();
        apply(r, base, fmt, tr, false);
        return r;
    }

    /**
     * In place: forward (chunk → residual) or inverse (residual → chunk) over the first
     * min(buf.length, base.length) bytes.
     */
    static void apply(byte[] buf, byte[] base, FloatFormat fmt, DeltaTransform tr, boolean inverse) {
        int m = Math.min(buf.length, base.length);
        int w = fmt.width();
        int full = m - m % w;
        if (tr == DeltaTransform.XOR) {
            int i = 0;
            for (; i + 8 <= m; i += 8) {
                LONG_LE.set(buf, i, (long) LONG_LE.get(buf, i) ^ (long) LONG_LE.get(base, i));
            }
            for (; i < m; i++) {
                buf[i] ^= base[i];
            }
            return;
        }
        // SUB: eight bytes at a time, lane-wise (SWAR: the top bit of each lane is handled apart so
        // that no carry or borrow crosses lanes).
        long hi = w == 2 ? 0x8000_8000_8000_8000L : 0x8000_0000_8000_0000L;
        int i8 = 0;
        if (inverse) {
            for (; i8 + 8 <= full; i8 += 8) {
                long a = (long) LONG_LE.get(buf, i8);
                long b = (long) LONG_LE.get(base, i8);
                LONG_LE.set(buf, i8, ((a & ~hi) + (b & ~hi)) ^ ((a ^ b) & hi));
            }
        } else {
            for (; i8 + 8 <= full; i8 += 8) {
                long a = (long) LONG_LE.get(buf, i8);
                long b = (long) LONG_LE.get(base, i8);
                LONG_LE.set(buf, i8, ((a | hi) - (b & ~hi)) ^ ((a ^ ~b) & hi));
            }
        }
        if (w == 2) {
            for (int i = i8; i < full; i += 2) {
                short c = (short) SHORT_LE.get(buf, i);
                short b = (short) SHORT_LE.get(base, i);
                SHORT_LE.set(buf, i, (short) (inverse ? c + b : c - b));
            }
        } else {
            for (int i = i8; i < full; i += 4) {
                int c = (int) INT_LE.get(buf, i);
                int b = (int) INT_LE.get(base, i);
                INT_LE.set(buf, i, inverse ? c + b : c - b);
            }
        }
        for (int i = full; i < m; i++) {
            buf[i] ^= base[i];
        }
    }

    private static final VarHandle LONG_LE = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    /** The smallest of FLOAT, zstd-1 and RAW for a residual; zstd is tried only when FLOAT saves little. */
    static EncodedChunk encodeResidual(byte[] res, FloatFormat fmt) {
        return Codecs.compressFloat(res, fmt, true);
    }

    static byte[] encode(byte[] raw, FloatFormat fmt, DeltaTransform tr, ContentHash baseId, byte[] base, int depth) {
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new IllegalArgumentException("delta chain depth " + depth + " is outside 1.." + MAX_DEPTH);
        }
        return encodeResidual(residual(raw, base, fmt, tr), fmt, tr, baseId, base.length, depth);
    }

    /** A DELTA encoding of an already computed residual {@code res} (see {@link #residual}). */
    static byte[] encodeResidual(byte[] res, FloatFormat fmt, DeltaTransform tr, ContentHash baseId, int baseLength, int depth) {
        if (depth < 1 || depth > MAX_DEPTH) {
            throw new IllegalArgumentException("delta chain depth " + depth + " is outside 1.." + MAX_DEPTH);
        }
        EncodedChunk inner = encodeResidual(res, fmt);
        byte[] data = inner.data();
        byte[] out = new byte[HEADER + data.length];
        out[0] = (byte) VERSION;
        baseId.writeTo(out, 1);
        int o = 1 + ContentHash.LENGTH;
        out[o] = (byte) depth;
        out[o + 1] = (byte) tr.id();
        out[o + 2] = (byte) fmt.id();
        out[o + 3] = 0;
        Rans.putU32(out, o + 4, baseLength);
        out[o + 8] = (byte) inner.codec().id();
        System.arraycopy(data, 0, out, HEADER, data.length);
        return out;
    }

    /** Reads and checks the header only. */
    static DeltaInfo info(byte[] enc) {
        if (enc.length < HEADER) {
            throw corrupt("delta header", "at least " + HEADER + " bytes", enc.length + " bytes");
        }
        if ((enc[0] & 0xff) != VERSION) {
            throw corrupt("delta format version", Integer.toString(VERSION), Integer.toString(enc[0] & 0xff));
        }
        int o = 1 + ContentHash.LENGTH;
        int depth = enc[o] & 0xff;
        if (depth < 1) {
            throw corrupt("delta chain depth", "1.." + MAX_DEPTH, "0");
        }
        DeltaTransform tr = DeltaTransform.fromId(enc[o + 1] & 0xff);
        FloatFormat fmt = FloatFormat.fromId(enc[o + 2] & 0xff);
        if (enc[o + 3] != 0) {
            throw corrupt("delta reserved byte", "0", Integer.toString(enc[o + 3] & 0xff));
        }
        long baseLength = Rans.u32(enc, o + 4);
        if (baseLength > Codecs.MAX_RAW_LENGTH) {
            throw corrupt("delta base length", "at most " + Codecs.MAX_RAW_LENGTH, Long.toString(baseLength));
        }
        int inner = enc[o + 8] & 0xff;
        if (inner != Codec.RAW.id() && inner != Codec.ZSTD.id() && inner != Codec.FLOAT.id()) {
            throw corrupt("delta residual codec", "0 (RAW), 1 (ZSTD) or 4 (FLOAT)", Integer.toString(inner));
        }
        return new DeltaInfo(ContentHash.fromBytes(enc, 1), depth, tr, fmt, (int) baseLength);
    }

    static byte[] decode(byte[] enc, int rawLength, DeltaBases bases) {
        DeltaInfo info = info(enc);
        Codec innerCodec = Codec.fromId(enc[HEADER - 1] & 0xff);
        byte[] data = java.util.Arrays.copyOfRange(enc, HEADER, enc.length);
        // Decode the residual first: a corrupt chunk is rejected before its base is fetched.
        byte[] out = Codecs.decode(new EncodedChunk(innerCodec, rawLength, innerCodec == Codec.RAW && data.length != rawLength ? badRaw(rawLength, data.length) : data));
        if (innerCodec == Codec.RAW) {
            out = out.clone(); // never modify the caller's encoded bytes
        }
        byte[] base = bases.raw(info.baseId());
        if (base == null || base.length != info.baseLength()) {
            throw corrupt("delta base " + info.baseId() + " length", Integer.toString(info.baseLength()),
                    base == null ? "no base" : Integer.toString(base.length));
        }
        apply(out, base, info.format(), info.transform(), true);
        return out;
    }

    private static byte[] badRaw(int rawLength, int got) {
        throw corrupt("raw delta residual length", Integer.toString(rawLength), Integer.toString(got));
    }

    private static CorruptDataException corrupt(String what, String expected, String actual) {
        return new CorruptDataException(what, expected, actual);
    }
}
