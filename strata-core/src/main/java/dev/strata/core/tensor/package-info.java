/**
 * Model-file awareness: {@link dev.strata.core.tensor.TensorFormats} recognises safetensors,
 * {@code torch.save} zip archives and GGUF by content and returns their
 * {@link dev.strata.core.tensor.TensorLayout} (segments tiling the file, tensors with
 * {@link dev.strata.core.tensor.DType}, shape and byte range). Every parser treats its input as
 * hostile: bounded allocations, checked offsets, {@link dev.strata.core.InvalidInputException} for
 * anything malformed. {@link dev.strata.core.chunk.FileChunker} uses the layout to cut tensors into
 * fixed slices ({@link dev.strata.core.tensor.TensorEntry} in the chunk list and manifest v2).
 * Why: docs/decisions/0014-tensor-aligned-chunking.md.
 */
package dev.strata.core.tensor;
