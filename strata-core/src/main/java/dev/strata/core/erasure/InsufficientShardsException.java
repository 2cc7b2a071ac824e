package dev.strata.core.erasure;

/** Fewer than k shards of a stripe are available: the stripe cannot be reconstructed. */
public class InsufficientShardsException extends RuntimeException {
    private final int present;
    private final int needed;

    public InsufficientShardsException(int present, int needed) {
        super("cannot reconstruct: " + present + " shard(s) present, " + needed + " needed");
        this.present = present;
        this.needed = needed;
    }

    public int present() {
        return present;
    }

    public int needed() {
        return needed;
    }
}
