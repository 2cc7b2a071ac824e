/**
 * Chunk codecs: how a chunk's bytes are encoded at rest and on the wire ({@link dev.strata.core.Codec}).
 *
 * <p>Start at {@link dev.strata.core.codec.Codecs}: {@code compressOrRaw} picks the codec for fresh
 * bytes, {@code decode} turns stored bytes back into raw bytes without trusting their declared
 * sizes, and {@code verify} adds the id check every read path needs (ARCHITECTURE invariant 1).
 * Float tensors: {@code compressFloat} (codec FLOAT, {@link dev.strata.core.codec.FloatFormat}) and
 * {@code encodeDelta} (codec DELTA against a base chunk; decode with
 * {@link dev.strata.core.codec.DeltaBases}); decision 0015. FLOAT has two versions: rANS-coded
 * exponents and byte planes ({@code FloatCodec}, version 1) and Huffman-coded exponent plus top
 * mantissa bits with packed fields ({@code HuffmanFloat}, {@code Huffman}, version 2, decision 0020).
 */
package dev.strata.core.codec;
