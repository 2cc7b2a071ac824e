package dev.strata.core.store.local;

import dev.strata.core.store.PackInfo;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Set;

/**
 * One open pack file. The channel is shared by all readers (positional reads are thread-safe);
 * {@code size}, {@code entries} and {@code sealed} change only under the store's write lock and are
 * volatile so readers and snapshots see them without taking it.
 */
final class Pack {
    final String id;
    final Path path;
    final boolean writable;
    /**
     * Replaced only by {@link #revive}: a FileChannel closes itself for every user when a thread
     * blocked in it is interrupted, and one cancelled read must not break the pack for the others.
     */
    volatile FileChannel channel;
    /** End of the last valid entry while unsealed; the file length once sealed. */
    volatile long size;
    volatile int entries;
    volatile boolean sealed;

    Pack(String id, Path path, FileChannel channel, boolean writable, long size, int entries, boolean sealed) {
        this.id = id;
        this.path = path;
        this.channel = channel;
        this.writable = writable;
        this.size = size;
        this.entries = entries;
        this.sealed = sealed;
    }

    /** Reopens the channel if an interrupt closed it. The caller checks the pack is still in use. */
    synchronized void revive(LocalPackStore.ChannelOpener opener) throws IOException {
        if (!channel.isOpen()) {
            Set<OpenOption> mode = writable
                    ? Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE)
                    : Set.of(StandardOpenOption.READ);
            channel = opener.open(path, mode);
        }
    }

    PackInfo info() {
        return new PackInfo(id, size, entries, sealed);
    }

    @Override
    public String toString() {
        return "pack " + id;
    }
}
