package dev.strata.core;

/**
 * How a chunk's bytes are encoded at rest and on the wire. The ids are persisted in pack entry
 * headers and the transfer protocol (docs/format.md): never renumber, only add. Unknown ids are
 * rejected, never guessed.
 */
public enum Codec {
    /** Stored as is. */
    RAW(0),
    /** zstd frame (zstd-jni), level chosen by the writer. */
    ZSTD(1),
    /**
     * Byte planes of 2-byte little-endian elements (BF16, FP16): byte k of every element grouped
     * into plane k, each plane stored raw, zstd or as an all-zero run (docs/format.md, "Byte planes").
     */
    BYTE_PLANES_2(2),
    /** Byte planes of 4-byte little-endian elements (FP32); same layout as {@link #BYTE_PLANES_2}. */
    BYTE_PLANES_4(3),
    /**
     * Float elements split into an rANS-coded exponent stream (with ±0 as extra symbols) and
     * sign/mantissa planes; the header names the {@code FloatFormat} (docs/format.md, "Float").
     */
    FLOAT(4),
    /**
     * A residual against a base chunk named in the header (XOR or SUB per float element), itself
     * stored RAW, ZSTD or FLOAT; decoding needs the base (docs/format.md, "Delta").
     */
    DELTA(5);

    private final int id;

    Codec(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    public static Codec fromId(int id) {
        for (Codec c : values()) {
            if (c.id == id) {
                return c;
            }
        }
        throw new CorruptDataException("codec id", "one of 0..5", Integer.toString(id));
    }
}
