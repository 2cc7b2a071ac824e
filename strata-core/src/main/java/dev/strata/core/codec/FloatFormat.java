package dev.strata.core.codec;

import dev.strata.core.CorruptDataException;

/**
 * IEEE-style binary floating-point element formats understood by {@link dev.strata.core.Codec#FLOAT}
 * and {@link dev.strata.core.Codec#DELTA}. Elements are little-endian. The {@link #id()} is persisted
 * in those encodings' headers (docs/format.md): never renumber, only add.
 */
public enum FloatFormat {
    /** bfloat16: 1 sign, 8 exponent, 7 mantissa bits. */
    BF16(0, 2, 8, 7),
    /** IEEE 754 binary16: 1 sign, 5 exponent, 10 mantissa bits. */
    FP16(1, 2, 5, 10),
    /** IEEE 754 binary32: 1 sign, 8 exponent, 23 mantissa bits. */
    FP32(2, 4, 8, 23);

    private final int id;
    private final int width;
    private final int exponentBits;
    private final int mantissaBits;

    FloatFormat(int id, int width, int exponentBits, int mantissaBits) {
        this.id = id;
        this.width = width;
        this.exponentBits = exponentBits;
        this.mantissaBits = mantissaBits;
    }

    /** Persisted id. */
    public int id() {
        return id;
    }

    /** Element width in bytes. */
    public int width() {
        return width;
    }

    public int exponentBits() {
        return exponentBits;
    }

    public int mantissaBits() {
        return mantissaBits;
    }

    /** Bytes needed for sign and mantissa together (1 for BF16, 2 for FP16, 3 for FP32). */
    int signMantissaBytes() {
        return (mantissaBits + 1 + 7) / 8;
    }

    /** The format with persisted id {@code id}; corruption when there is none. */
    public static FloatFormat fromId(int id) {
        for (FloatFormat f : values()) {
            if (f.id == id) {
                return f;
            }
        }
        throw new CorruptDataException("float format id", "0 (BF16), 1 (FP16) or 2 (FP32)", Integer.toString(id));
    }
}
