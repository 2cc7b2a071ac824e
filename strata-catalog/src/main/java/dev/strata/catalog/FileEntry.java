package dev.strata.catalog;

import dev.strata.core.ContentHash;

/** One file of a commit's tree: its path, size, whole-file SHA-256 and the id of its chunk manifest. */
public record FileEntry(String path, long size, ContentHash sha256, ContentHash manifestId) {}
