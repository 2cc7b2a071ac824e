package dev.strata.core.tensor;

import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;

/**
 * GGUF v2/v3 (ggml's gguf.md): magic "GGUF", u32 version, u64 tensor count, u64 metadata count,
 * the metadata key/values, the tensor infos (name, u32 n_dims, u64 dims, u32 ggml type, u64 offset
 * relative to the data section), then the data section at the next multiple of
 * {@code general.alignment} (default 32). All little-endian. Metadata values are skipped, not kept,
 * except the alignment; arrays are bounded by the file size and nested at most {@link #MAX_DEPTH}.
 */
final class Gguf {
    static final String FORMAT = "gguf";
    static final int MAGIC = 0x46554747; // "GGUF" read little-endian
    static final long MAX_TENSORS = 1 << 20;
    static final long MAX_KV = 1 << 20;
    static final int MAX_KEY = 64 << 10;
    static final int MAX_DEPTH = 4;
    /** Cap on all tensor names together, so a huge hostile file cannot make us hold gigabytes of names. */
    static final long MAX_NAME_TOTAL = 64L << 20;

    private static final int T_STRING = 8;
    private static final int T_ARRAY = 9;

    private Gguf() {}

    static TensorLayout parse(FileChannel ch, long size) throws IOException {
        ChannelReader r = new ChannelReader(ch, size, 0);
        if (r.i32() != MAGIC) {
            throw new InvalidInputException("gguf: bad magic");
        }
        long version = r.u32();
        if (version != 2 && version != 3) {
            throw new InvalidInputException("gguf: unsupported version " + version);
        }
        long tensorCount = r.u64();
        long kvCount = r.u64();
        if (tensorCount > MAX_TENSORS || kvCount > MAX_KV) {
            throw new InvalidInputException("gguf: " + tensorCount + " tensors / " + kvCount + " metadata entries over the cap");
        }
        long alignment = 32;
        for (long i = 0; i < kvCount; i++) {
            String key = string(r, MAX_KEY);
            int type = (int) r.u32();
            if (key.equals("general.alignment")) {
                if (type != 4) {
                    throw new InvalidInputException("gguf: general.alignment is not a u32");
                }
                alignment = r.u32();
                if (alignment == 0 || alignment > (1 << 20) || (alignment & (alignment - 1)) != 0) {
                    throw new InvalidInputException("gguf: alignment " + alignment + " is not a power of two up to 1 MiB");
                }
            } else {
                skipValue(r, type, 0);
            }
        }
        List<String> names = new ArrayList<>();
        List<long[]> shapes = new ArrayList<>();
        List<DType> types = new ArrayList<>();
        List<Long> offsets = new ArrayList<>();
        long nameBytes = 0;
        for (long i = 0; i < tensorCount; i++) {
            String name = string(r, TensorInfo.MAX_NAME_BYTES);
            nameBytes += name.length();
            if (nameBytes > MAX_NAME_TOTAL) {
                throw new InvalidInputException("gguf: tensor names longer than " + MAX_NAME_TOTAL + " in total");
            }
            names.add(name);
            long nDims = r.u32();
            if (nDims > TensorInfo.MAX_RANK) {
                throw new InvalidInputException("gguf: rank " + nDims + " over " + TensorInfo.MAX_RANK);
            }
            long[] dims = new long[(int) nDims];
            for (int d = 0; d < nDims; d++) {
                dims[d] = r.u64();
            }
            shapes.add(dims);
            types.add(ggmlType(r.u32()));
            offsets.add(r.u64());
        }
        long dataStart = alignUp(r.position(), alignment);
        if (dataStart > size) {
            throw new InvalidInputException("gguf: data section starts past the end of the file");
        }
        List<TensorInfo> tensors = new ArrayList<>(names.size());
        for (int i = 0; i < names.size(); i++) {
            long off = offsets.get(i);
            if (off > size - dataStart) {
                throw new InvalidInputException("gguf: tensor " + Names.quote(names.get(i)) + " starts past the end of the file");
            }
            long[] dims = shapes.get(i);
            DType t = types.get(i);
            if (dims.length > 0 && dims[0] % t.blockSize() != 0) {
                throw new InvalidInputException("gguf: tensor " + Names.quote(names.get(i)) + " row is not a whole number of " + t + " blocks");
            }
            long length = t.byteLength(DType.elementCount(dims));
            tensors.add(new TensorInfo(names.get(i), t, dims, dataStart + off, length));
        }
        return TensorLayout.of(FORMAT, size, dataStart, tensors);
    }

    private static long alignUp(long v, long a) {
        long r = (v + a - 1) & -a;
        if (r < v) {
            throw new InvalidInputException("gguf: offset overflow");
        }
        return r;
    }

    private static String string(ChannelReader r, int max) throws IOException {
        long n = r.u64();
        if (n > max) {
            throw new InvalidInputException("gguf: string of " + n + " bytes over the " + max + "-byte cap");
        }
        return ChannelReader.utf8(r.bytes((int) n));
    }

    private static int fixedSize(int type) {
        return switch (type) {
            case 0, 1, 7 -> 1; // u8, i8, bool
            case 2, 3 -> 2;
            case 4, 5, 6 -> 4;
            case 10, 11, 12 -> 8;
            default -> -1;
        };
    }

    private static void skipValue(ChannelReader r, int type, int depth) throws IOException {
        int fixed = fixedSize(type);
        if (fixed > 0) {
            r.skip(fixed);
        } else if (type == T_STRING) {
            r.skip(r.u64());
        } else if (type == T_ARRAY) {
            if (depth >= MAX_DEPTH) {
                throw new InvalidInputException("gguf: arrays nested deeper than " + MAX_DEPTH);
            }
            int elem = (int) r.u32();
            long count = r.u64();
            int ef = fixedSize(elem);
            if (ef > 0) {
                if (count > r.remaining() / ef) {
                    throw new InvalidInputException("gguf: array of " + count + " elements runs past the end of the file");
                }
                r.skip(count * ef);
            } else if (elem == T_STRING || elem == T_ARRAY) {
                // Every element takes at least 8 bytes, so the file size bounds the loop.
                if (count > r.remaining() / 8) {
                    throw new InvalidInputException("gguf: array of " + count + " elements runs past the end of the file");
                }
                for (long i = 0; i < count; i++) {
                    skipValue(r, elem, depth + 1);
                }
            } else {
                throw new InvalidInputException("gguf: unknown array element type " + elem);
            }
        } else {
            throw new InvalidInputException("gguf: unknown value type " + type);
        }
    }

    static DType ggmlType(long t) {
        return switch ((int) Math.min(t, 1000)) {
            case 0 -> DType.F32;
            case 1 -> DType.F16;
            case 2 -> DType.Q4_0;
            case 3 -> DType.Q4_1;
            case 6 -> DType.Q5_0;
            case 7 -> DType.Q5_1;
            case 8 -> DType.Q8_0;
            case 9 -> DType.Q8_1;
            case 10 -> DType.Q2_K;
            case 11 -> DType.Q3_K;
            case 12 -> DType.Q4_K;
            case 13 -> DType.Q5_K;
            case 14 -> DType.Q6_K;
            case 15 -> DType.Q8_K;
            case 16 -> DType.IQ2_XXS;
            case 17 -> DType.IQ2_XS;
            case 18 -> DType.IQ3_XXS;
            case 19 -> DType.IQ1_S;
            case 20 -> DType.IQ4_NL;
            case 21 -> DType.IQ3_S;
            case 22 -> DType.IQ2_S;
            case 23 -> DType.IQ4_XS;
            case 24 -> DType.I8;
            case 25 -> DType.I16;
            case 26 -> DType.I32;
            case 27 -> DType.I64;
            case 28 -> DType.F64;
            case 29 -> DType.IQ1_M;
            case 30 -> DType.BF16;
            case 34 -> DType.TQ1_0;
            case 35 -> DType.TQ2_0;
            case 39 -> DType.MXFP4;
            default -> throw new InvalidInputException("gguf: unknown ggml type " + t);
        };
    }
}
