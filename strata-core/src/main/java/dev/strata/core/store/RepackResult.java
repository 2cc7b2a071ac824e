package dev.strata.core.store;

/** What a repack did: packs removed, chunks kept (copied) and dropped, bytes freed on disk. */
public record RepackResult(int packsDeleted, long chunksKept, long chunksDropped, long bytesFreed) {}
