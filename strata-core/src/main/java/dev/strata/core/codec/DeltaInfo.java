package dev.strata.core.codec;

import dev.strata.core.ContentHash;

/**
 * The header of a {@link dev.strata.core.Codec#DELTA} chunk ({@link Codecs#deltaBase}): the base
 * chunk's id, the chain depth (1 when the base is not itself a delta), the transform, the float
 * format the residual was formed in, and the base's raw length.
 */
public record DeltaInfo(ContentHash baseId, int depth, DeltaTransform transform, FloatFormat format, int baseLength) {}
