package dev.strata.core.store;

/** A pack's identity and totals: its size on disk and the number of entries it holds. */
public record PackInfo(String packId, long bytes, int entries, boolean sealed) {}
