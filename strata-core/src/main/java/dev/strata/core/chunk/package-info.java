/**
 * Content-defined chunking, normative in docs/chunking.md.
 *
 * <p>Tour: {@link dev.strata.core.chunk.GearChunker} finds chunk boundaries in a byte region
 * (normalized FastCDC, 16/64/256 KiB); {@link dev.strata.core.chunk.FileChunker} applies it to a
 * whole file or stream in fixed 16 MiB segments, hashing chunks in parallel and the whole file
 * alongside, and returns a {@link dev.strata.core.chunk.ChunkedFile} of
 * {@link dev.strata.core.chunk.ChunkSpan}s. Recognised model files are cut along their tensors
 * instead (fixed 1 MiB slices per tensor, {@link dev.strata.core.tensor}). Why these choices:
 * docs/decisions/0003-chunking.md, docs/decisions/0014-tensor-aligned-chunking.md.
 */
package dev.strata.core.chunk;
