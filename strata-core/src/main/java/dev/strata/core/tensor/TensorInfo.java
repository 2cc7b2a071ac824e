package dev.strata.core.tensor;

import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import java.util.Arrays;

/**
 * One tensor found in a model file: its bytes are {@code [offset, offset + length)} of the file.
 * {@code length} always equals {@code dtype.byteLength(product of shape)}.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long offset, long length) {
    /** Rank cap for parsed and decoded tensors. */
    public static final int MAX_RANK = 16;
    /** Cap on a tensor name's UTF-8 length. */
    public static final int MAX_NAME_BYTES = 64 << 10;

    public TensorInfo {
        if (name == null || dtype == null || shape == null) {
            throw new InvalidInputException("tensor name, dtype and shape are required");
        }
        if (name.length() > MAX_NAME_BYTES || TensorFormats.utf8Length(name) > MAX_NAME_BYTES) {
            throw new InvalidInputException("tensor name longer than " + MAX_NAME_BYTES + " bytes");
        }
        if (shape.length > MAX_RANK) {
            throw new InvalidInputException("tensor rank " + shape.length + " over " + MAX_RANK);
        }
        shape = shape.clone();
        if (offset < 0 || length < 0 || offset > Long.MAX_VALUE - length) {
            throw new InvalidInputException("tensor " + Names.quote(name) + ": bad offset/length " + offset + "/" + length);
        }
        long want = dtype.byteLength(DType.elementCount(shape));
        if (want != length) {
            throw new InvalidInputException("tensor " + Names.quote(name) + ": " + length + " bytes, but shape "
                    + Arrays.toString(shape) + " of " + dtype + " needs " + want);
        }
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    public long end() {
        return offset + length;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && offset == t.offset && length == t.length;
    }

    @Override
    public int hashCode() {
        return name.hashCode() * 31 + Arrays.hashCode(shape) + Long.hashCode(offset);
    }

    @Override
    public String toString() {
        return name + ":" + dtype + Arrays.toString(shape) + "@" + offset + "+" + length;
    }
}
