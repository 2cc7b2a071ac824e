package dev.strata.core.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdException;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.InvalidInputException;
import dev.strata.core.store.EncodedChunk;
import java.util.Optional;

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
    /**
     * The newest {@link Codec#FLOAT} format version this build reads and writes (decision 0020):
     * a peer that decodes FLOAT chunks itself says which versions it reads before it is sent any.
     */
    public static final int FLOAT_VERSION = HuffmanFloat.VERSION;

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
            case BYTE_PLANES_2, BYTE_PLANES_4 ->
                    new EncodedChunk(codec, raw.length, BytePlanes.encode(raw, width(codec), 0, zstdLevel, MIN_SAVING));
            case FLOAT -> throw new IllegalArgumentException("FLOAT needs a float format: use compressFloat or encodeFloat");
            case DELTA -> throw new IllegalArgumentException("DELTA needs a base: use encodeDelta");
        };
    }

    /**
     * Encodes {@code raw} as {@link Codec#FLOAT} elements of {@code fmt} whose first complete element
     * starts at byte {@code phase} ({@code 0 <= phase < fmt.width()}), whatever its size.
     */
    public static EncodedChunk encodeFloat(byte[] raw, FloatFormat fmt, int phase) {
        checkRawLength(raw.length);
        return new EncodedChunk(Codec.FLOAT, raw.length, FloatCodec.encode(raw, fmt, phase));
    }

    /**
     * The encoding to store float tensor bytes of format {@code fmt} with (elements from byte 0):
     * {@link Codec#FLOAT}, unless zstd-1 or RAW is smaller. zstd is tried only when FLOAT saves less
     * than {@link #ZSTD_TRIAL_ABOVE} (it never wins on float data that FLOAT compresses well), so the
     * usual cost is one FLOAT pass. RAW unless the result saves at least {@link #MIN_SAVING}.
     */
    public static EncodedChunk compressFloat(byte[] raw, FloatFormat fmt) {
        return compressFloat(raw, fmt, false);
    }

    /** {@link #compressFloat(byte[], FloatFormat)} of a DELTA residual ({@code residual} true) or a chunk. */
    static EncodedChunk compressFloat(byte[] raw, FloatFormat fmt, boolean residual) {
        checkRawLength(raw.length);
        int n = raw.length;
        EncodedChunk best = new EncodedChunk(Codec.RAW, n, raw);
        if (n == 0) {
            return best;
        }
        long limit = (long) Math.floor(n * (1.0 - MIN_SAVING));
        byte[] f = FloatCodec.encode(raw, fmt, 0, residual);
        if (f.length <= limit) {
            best = new EncodedChunk(Codec.FLOAT, n, f);
        }
        if (f.length > n * ZSTD_TRIAL_ABOVE) {
            byte[] z = Zstd.compress(raw, FAST_ZSTD_LEVEL);
            if (z.length <= limit && z.length < best.data().length) {
                best = new EncodedChunk(Codec.ZSTD, n, z);
            }
        }
        return best;
    }

    /** compressFloat tries zstd-1 too when FLOAT's ratio is above this. */
    public static final double ZSTD_TRIAL_ABOVE = 0.9;

    /**
     * A delta must be smaller than {@code compressFloat(raw, fmt)} by at least this fraction to be
     * worth its base dependency (decoding needs the base, GC must keep it).
     */
    public static final double DELTA_MIN_SAVING = 0.03;

    /**
     * {@code raw} as a {@link Codec#DELTA} against {@code baseRaw} (the raw bytes of chunk
     * {@code baseId}, which is itself stored at chain depth {@code baseDepth}: 0 when it is not a
     * delta): the XOR or the SUB residual, whichever an entropy estimate finds smaller, encoded with
     * {@link #compressFloat},
     * at chain depth {@code baseDepth + 1}. Empty unless it is smaller than
     * {@code compressFloat(raw, fmt)} by at least {@link #DELTA_MIN_SAVING}. Base and chunk may
     * differ in length.
     *
     * @throws IllegalArgumentException when {@code baseDepth + 1} exceeds 255 (the format's limit)
     */
    public static Optional<EncodedChunk> encodeDelta(byte[] raw, FloatFormat fmt, ContentHash baseId, byte[] baseRaw, int baseDepth) {
        checkRawLength(raw.length);
        if (baseDepth < 0 || baseDepth + 1 > DeltaCodec.MAX_DEPTH) {
            throw new IllegalArgumentException("base chain depth " + baseDepth + " is outside 0.." + (DeltaCodec.MAX_DEPTH - 1));
        }
        if (raw.length == 0 || baseRaw.length == 0) {
            return Optional.empty();
        }
        // Both residuals are cheap; FLOAT-encode only the one estimated smaller (FloatCodec.estimate
        // is within ~1%), and encode the plain chunk only when the margin is in doubt.
        // One pass estimates the chunk and both residuals (neither is materialised for it).
        long[] est = FloatCodec.estimates(raw, baseRaw, fmt);
        DeltaTransform tr = est[1] <= est[2] ? DeltaTransform.XOR : DeltaTransform.SUB;
        byte[] best = DeltaCodec.encodeResidual(DeltaCodec.residual(raw, baseRaw, fmt, tr), fmt, tr,
                baseId, baseRaw.length, baseDepth + 1);
        long plainEstimate = est[0];
        long plain = raw.length >= 1 << 16 && plainEstimate <= raw.length * ZSTD_TRIAL_ABOVE && best.length <= plainEstimate * 0.85
                ? plainEstimate // clearly smaller: no need to encode the chunk itself
                : compressFloat(raw, fmt).data().length;
        if (best.length <= (long) Math.floor(plain * (1.0 - DELTA_MIN_SAVING))) {
            return Optional.of(new EncodedChunk(Codec.DELTA, raw.length, best));
        }
        return Optional.empty();
    }

    /** {@code raw} as a {@link Codec#DELTA} with one given transform, whatever its size (tests, benchmarks). */
    public static EncodedChunk encodeDelta(byte[] raw, FloatFormat fmt, DeltaTransform transform, ContentHash baseId, byte[] baseRaw, int baseDepth) {
        checkRawLength(raw.length);
        if (baseDepth < 0 || baseDepth + 1 > DeltaCodec.MAX_DEPTH) {
            throw new IllegalArgumentException("base chain depth " + baseDepth + " is outside 0.." + (DeltaCodec.MAX_DEPTH - 1));
        }
        return new EncodedChunk(Codec.DELTA, raw.length, DeltaCodec.encode(raw, fmt, transform, baseId, baseRaw, baseDepth + 1));
    }

    /**
     * The base of a {@link Codec#DELTA} chunk (id, chain depth, transform, format, base length) from
     * its header alone; empty for every other codec.
     *
     * @throws CorruptDataException when the chunk is DELTA and its header is invalid
     */
    public static Optional<DeltaInfo> deltaBase(EncodedChunk chunk) {
        return chunk.codec() == Codec.DELTA ? Optional.of(DeltaCodec.info(chunk.data())) : Optional.empty();
    }

    /**
     * Encodes {@code raw} as byte planes ({@link Codec#BYTE_PLANES_2} or {@link Codec#BYTE_PLANES_4})
     * with the first complete element at byte {@code phase} ({@code 0 <= phase < width}). The phase
     * does not change the size (every phase groups the same bytes); it exists so that a writer that
     * knows where a tensor's elements start can keep plane k = byte k of each element.
     */
    public static EncodedChunk encodeBytePlanes(Codec codec, byte[] raw, int phase) {
        checkRawLength(raw.length);
        return new EncodedChunk(codec, raw.length, BytePlanes.encode(raw, width(codec), phase, FAST_ZSTD_LEVEL, MIN_SAVING));
    }

    /**
     * The smallest encoding of {@code raw} among zstd-1, {@link Codec#BYTE_PLANES_2} and
     * {@link Codec#BYTE_PLANES_4}, or RAW when none saves at least {@link #MIN_SAVING}. Costs a few
     * zstd-1 passes per chunk: meant for background recompression (the compactor), not the push path
     * (that is {@link #compressOrRaw}).
     */
    public static EncodedChunk compressBest(byte[] raw) {
        checkRawLength(raw.length);
        int n = raw.length;
        EncodedChunk best = new EncodedChunk(Codec.RAW, n, raw);
        if (n == 0) {
            return best;
        }
        boolean whole = true, planes2 = n >= 4, planes4 = n >= 8;
        if (n >= SMALL_CHUNK) {
            // Order-0 entropy (bits per byte) of the whole chunk and the mean over its 2 and 4 byte
            // planes, from one histogram pass: only the candidates that can win are compressed.
            double[] h = Entropy.wholeAnd2And4Planes(raw);
            planes4 = h[2] < h[1] - PLANE_MARGIN_BITS;
            planes2 = !planes4 && h[1] < h[0] - PLANE_MARGIN_BITS;
            double bestPlanes = planes4 ? h[2] : planes2 ? h[1] : Double.MAX_VALUE;
            whole = h[0] < bestPlanes + WHOLE_MARGIN_BITS;
        }
        long limit = (long) Math.floor(n * (1.0 - MIN_SAVING));
        // zstd-1 always runs once FLOAT is a candidate: FLOAT codes exponents order-0 and misses the
        // repeats zstd finds, so on repetitive float-like data it can lose to it (cheap: ~1 ms/MiB).
        whole |= planes2 || planes4;
        if (whole) {
            byte[] z = Zstd.compress(raw, FAST_ZSTD_LEVEL);
            if (z.length <= limit) {
                best = new EncodedChunk(Codec.ZSTD, n, z);
            }
        }
        for (Codec c : new Codec[] {Codec.BYTE_PLANES_2, Codec.BYTE_PLANES_4}) {
            if (c == Codec.BYTE_PLANES_2 ? !planes2 : !planes4) {
                continue;
            }
            // The pre-pass says float-like elements of this width: FLOAT first (smaller than byte
            // planes on float data, decision 0015); byte planes only when FLOAT saves little.
            FloatFormat fmt = c == Codec.BYTE_PLANES_2 ? FloatFormat.BF16 : FloatFormat.FP32;
            byte[] f = FloatCodec.encode(raw, fmt, 0);
            if (f.length <= limit && f.length < best.data().length) {
                best = new EncodedChunk(Codec.FLOAT, n, f);
            }
            if (f.length > n * ZSTD_TRIAL_ABOVE) {
                byte[] b = BytePlanes.encode(raw, width(c), 0, FAST_ZSTD_LEVEL, MIN_SAVING);
                if (b.length <= limit && b.length < best.data().length) {
                    best = new EncodedChunk(c, n, b);
                }
            }
        }
        return best;
    }

    /** Below this size compressBest tries every codec: estimating would cost as much as trying. */
    private static final int SMALL_CHUNK = 4096;
    /** A plane split is tried when it lowers the estimated entropy by at least this (bits per byte). */
    private static final double PLANE_MARGIN_BITS = 0.1;
    /**
     * zstd on the whole chunk is tried unless a plane split is estimated this much better (bits per
     * byte): order-0 entropy misses zstd's matches, which split planes keep only in part.
     */
    private static final double WHOLE_MARGIN_BITS = 0.25;

    private static int width(Codec codec) {
        return switch (codec) {
            case BYTE_PLANES_2 -> 2;
            case BYTE_PLANES_4 -> 4;
            default -> throw new IllegalArgumentException(codec + " is not a byte-plane codec");
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
        return decode(chunk, DeltaBases.NONE);
    }

    /**
     * Decodes a chunk into exactly {@code rawLength} bytes; a {@link Codec#DELTA} chunk's base comes
     * from {@code bases} (verified raw bytes; fetched only after the residual decoded).
     *
     * @throws CorruptDataException when the bytes are not a valid encoding of {@code rawLength} bytes,
     *     or the base has another length than the delta was made against
     * @throws IllegalStateException for a DELTA chunk when {@code bases} is {@link DeltaBases#NONE}
     */
    public static byte[] decode(EncodedChunk chunk, DeltaBases bases) {
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
            case BYTE_PLANES_2, BYTE_PLANES_4 -> BytePlanes.decode(data, rawLength, width(chunk.codec()));
            case FLOAT -> FloatCodec.decode(data, rawLength);
            case DELTA -> DeltaCodec.decode(data, rawLength, bases);
        };
    }

    /**
     * Decodes {@code chunk} and checks that its bytes hash to {@code id}; returns the decoded bytes.
     * Every path that hands chunk bytes to a caller goes through here (ARCHITECTURE invariant 1).
     *
     * @throws CorruptDataException carrying the expected and the actual id on mismatch
     */
    public static byte[] verify(ContentHash id, EncodedChunk chunk) {
        return verify(id, chunk, DeltaBases.NONE);
    }

    /** {@link #verify(ContentHash, EncodedChunk)} for chunks that may be deltas: bases come from {@code bases}. */
    public static byte[] verify(ContentHash id, EncodedChunk chunk, DeltaBases bases) {
        byte[] raw = decode(chunk, bases);
        ContentHash actual = ContentHash.of(raw);
        if (!actual.equals(id)) {
            throw new CorruptDataException("chunk id", id.hex(), actual.hex());
        }
        return raw;
    }

    /** Upper bound of the encoded size of {@code rawLength} bytes under any codec (for buffer caps). */
    /** Every chunk store refuses chunks over the size limit before writing anything. */
    public static void requireStorable(ContentHash id, EncodedChunk chunk) {
        if (chunk.rawLength() > MAX_RAW_LENGTH || chunk.data().length > maxEncodedLength(MAX_RAW_LENGTH)) {
            throw new InvalidInputException("chunk " + id + " of " + chunk.rawLength() + " bytes (" + chunk.data().length
                    + " encoded) is over the " + MAX_RAW_LENGTH + "-byte limit");
        }
    }

    public static int maxEncodedLength(int rawLength) {
        // Byte planes store at most rawLength + 27 bytes (header, raw planes), below the zstd bound.
        // FLOAT, as written by compressFloat, is only kept when smaller than rawLength; encodeFloat
        // on incompressible data adds at most its rANS tables (~1 KiB per stream, under 8 KiB). A
        // DELTA adds its 42-byte header to a residual that compressFloat encoded.
        return (int) Math.min(Integer.MAX_VALUE - 64, Math.max(Zstd.compressBound(rawLength), rawLength + 64L) + FLOAT_SLACK + DeltaCodec.HEADER);
    }

    /** Room in {@link #maxEncodedLength} for FLOAT's frequency tables on incompressible data. */
    private static final int FLOAT_SLACK = 8192;

    private static void checkRawLength(int length) {
        if (length > MAX_RAW_LENGTH) {
            throw new InvalidInputException("chunk of " + length + " bytes is over the " + MAX_RAW_LENGTH + "-byte limit");
        }
    }
}
