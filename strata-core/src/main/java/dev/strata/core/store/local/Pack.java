package dev.strata.core.store.local;

import dev.strata.core.store.PackInfo;
import java.nio.channels.FileChannel;
import java.nio.file.Path;

/**
 * One open pack file. The channel is shared by all readers (positional reads are thread-safe);
 * {@code size}, {@code entries} and {@code sealed} change only under the store's write lock and are
 * volatile so readers and snapshots see them without taking it.
 */
final class Pack {
    final String id;
    final Path path;
    final FileChannel channel;
    /** End of the last valid entry while unsealed; the file length once sealed. */
    volatile long size;
    volatile int entries;
    volatile boolean sealed;

    Pack(String id, Path path, FileChannel channel, long size, int entries, boolean sealed) {
        this.id = id;
        this.path = path;
        this.channel = channel;
        this.size = size;
        this.entries = entries;
        this.sealed = sealed;
    }

    PackInfo info() {
        return new PackInfo(id, size, entries, sealed);
    }

    @Override
    public String toString() {
        return "pack " + id;
    }
}
