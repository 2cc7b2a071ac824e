package dev.strata.core.tensor;

import dev.strata.core.InvalidInputException;

/**
 * Element types of tensors found in model files. Plain types have one element per "block";
 * GGML's quantised types store {@link #blockSize()} elements in {@link #blockBytes()} bytes and are
 * opaque to Strata (only their byte length matters). {@link #code()} is the stable number written
 * into version-2 manifests (docs/format.md, "Manifest version 2"): never renumber, only append.
 */
public enum DType {
    BF16(1, 2, 1, true),
    F16(2, 2, 1, true),
    F32(3, 4, 1, true),
    F64(4, 8, 1, true),
    I8(5, 1, 1, false),
    I16(6, 2, 1, false),
    I32(7, 4, 1, false),
    I64(8, 8, 1, false),
    U8(9, 1, 1, false),
    U16(10, 2, 1, false),
    U32(11, 4, 1, false),
    U64(12, 8, 1, false),
    BOOL(13, 1, 1, false),
    F8_E4M3(14, 1, 1, true),
    F8_E5M2(15, 1, 1, true),
    /** complex64: two F32. */
    C64(16, 8, 1, false),
    /** complex128: two F64. */
    C128(17, 16, 1, false),
    // GGML block-quantised types (ggml-common.h): elements per block, bytes per block.
    Q4_0(64, 18, 32, false),
    Q4_1(65, 20, 32, false),
    Q5_0(66, 22, 32, false),
    Q5_1(67, 24, 32, false),
    Q8_0(68, 34, 32, false),
    Q8_1(69, 36, 32, false),
    Q2_K(70, 84, 256, false),
    Q3_K(71, 110, 256, false),
    Q4_K(72, 144, 256, false),
    Q5_K(73, 176, 256, false),
    Q6_K(74, 210, 256, false),
    Q8_K(75, 292, 256, false),
    IQ2_XXS(76, 66, 256, false),
    IQ2_XS(77, 74, 256, false),
    IQ3_XXS(78, 98, 256, false),
    IQ1_S(79, 50, 256, false),
    IQ4_NL(80, 18, 32, false),
    IQ3_S(81, 110, 256, false),
    IQ2_S(82, 82, 256, false),
    IQ4_XS(83, 136, 256, false),
    IQ1_M(84, 56, 256, false),
    TQ1_0(85, 54, 256, false),
    TQ2_0(86, 66, 256, false),
    MXFP4(87, 17, 32, false);

    private static final DType[] BY_CODE = new DType[256];

    static {
        for (DType t : values()) {
            if (BY_CODE[t.code] != null) {
                throw new ExceptionInInitializerError("duplicate dtype code " + t.code);
            }
            BY_CODE[t.code] = t;
        }
    }

    private final int code;
    private final int blockBytes;
    private final int blockSize;
    private final boolean isFloat;

    DType(int code, int blockBytes, int blockSize, boolean isFloat) {
        this.code = code;
        this.blockBytes = blockBytes;
        this.blockSize = blockSize;
        this.isFloat = isFloat;
    }

    /** Stable one-byte code used in manifests. */
    public int code() {
        return code;
    }

    /** Bytes per element for plain types; bytes per block for quantised types. */
    public int elementSize() {
        return blockBytes;
    }

    /** Bytes per block (equal to {@link #elementSize()}). */
    public int blockBytes() {
        return blockBytes;
    }

    /** Elements per block: 1 for plain types. */
    public int blockSize() {
        return blockSize;
    }

    public boolean isQuantized() {
        return blockSize > 1;
    }

    /** True for IEEE-like floating point element types (BF16, F16, F32, F64, F8 variants). */
    public boolean isFloat() {
        return isFloat;
    }

    /**
     * Bytes taken by {@code elements} elements.
     *
     * @throws InvalidInputException when negative, not a whole number of blocks, or overflowing a long
     */
    public long byteLength(long elements) {
        if (elements < 0 || elements % blockSize != 0) {
            throw new InvalidInputException(elements + " elements are not a whole number of " + this + " blocks");
        }
        try {
            return Math.multiplyExact(elements / blockSize, (long) blockBytes);
        } catch (ArithmeticException e) {
            throw new InvalidInputException("tensor of " + elements + " " + this + " elements is too large");
        }
    }

    public static DType fromCode(int code) {
        DType t = code >= 0 && code < BY_CODE.length ? BY_CODE[code] : null;
        if (t == null) {
            throw new InvalidInputException("unknown dtype code " + code);
        }
        return t;
    }

    /** Product of the dimensions, rejecting negative dimensions and overflow. */
    public static long elementCount(long[] shape) {
        long n = 1;
        for (long d : shape) {
            if (d < 0) {
                throw new InvalidInputException("negative tensor dimension " + d);
            }
            try {
                n = Math.multiplyExact(n, d);
            } catch (ArithmeticException e) {
                throw new InvalidInputException("tensor shape overflows a 64-bit element count");
            }
        }
        return n;
    }
}
