/**
 * The pack file format, normative in docs/format.md ("Pack files"): a file header, framed entries,
 * then (once sealed) a footer index and a fixed-size trailer. Only encoding and decoding live here,
 * with no I/O, so every chunk store that keeps packs (local directory, S3 objects) shares one codec
 * of the format and one set of checks.
 *
 * <p>Tour: {@link dev.strata.core.pack.PackFormat} (constants, file header, trailer),
 * {@link dev.strata.core.pack.EntryHeader} (one per chunk), {@link dev.strata.core.pack.PackFooter}
 * (the index of a sealed pack, a list of {@link dev.strata.core.pack.IndexEntry}).
 */
package dev.strata.core.pack;
