package dev.strata.core.codec;

import dev.strata.core.CorruptDataException;

/** How a {@link dev.strata.core.Codec#DELTA} residual is formed from chunk and base; the id is persisted. */
public enum DeltaTransform {
    /** residual = chunk XOR base, bit pattern by bit pattern. */
    XOR(0),
    /** residual = chunk − base as unsigned integers of the element width, wrapping. */
    SUB(1);

    private final int id;

    DeltaTransform(int id) {
        this.id = id;
    }

    public int id() {
        return id;
    }

    public static DeltaTransform fromId(int id) {
        for (DeltaTransform t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        throw new CorruptDataException("delta transform", "0 (XOR) or 1 (SUB)", Integer.toString(id));
    }
}
