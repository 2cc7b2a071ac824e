/**
 * An erasure-coded {@link dev.strata.core.store.ChunkStore} over several data directories
 * (one per disk): Reed-Solomon stripes whose checksummed shards are appended to shard pack files. Format: docs/format.md,
 * "Erasure-coded shards"; rationale: docs/decisions/0010-erasure-coding.md.
 */
package dev.strata.core.store.erasure;
