/**
 * {@link dev.strata.core.store.local.LocalPackStore}: the chunk store over one local directory of
 * pack files (docs/format.md, "Pack files"; docs/decisions/0004-pack-format.md). {@code Pack} is one
 * open pack file; {@code PackScan} reads a pack's entries back when it has no trustworthy footer.
 */
package dev.strata.core.store.local;
