package dev.strata.core.store;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Starts fsyncs of finished files on one background thread, so their bytes reach the disk while
 * the transfer goes on instead of all at the end. Only a head start: whoever needs durability still
 * forces the file itself (then it finds little left to write), so a failed or skipped early sync
 * (a channel closed meanwhile, a failing disk) is ignored here and reported by that real fsync.
 */
public final class EarlySync implements AutoCloseable {
    private final ExecutorService thread;

    public EarlySync(String threadName) {
        thread = Executors.newSingleThreadExecutor(Thread.ofPlatform().name(threadName).daemon().factory());
    }

    /** Queues an fsync (data only) of each channel, in order. */
    public void start(List<FileChannel> channels) {
        thread.execute(() -> {
            for (FileChannel ch : channels) {
                try {
                    ch.force(false);
                } catch (IOException | RuntimeException e) {
                    // the real fsync reports it
                }
            }
        });
    }

    /** A written byte range of a file. */
    public record Range(long offset, long length) {}

    /**
     * Queues an fsync (data only) of the channel, then lets the given ranges of its file, all
     * written before this call, leave the page cache ({@link PageCache}). A failed sync releases nothing.
     */
    public void startAndRelease(FileChannel ch, Path file, List<Range> ranges) {
        thread.execute(() -> {
            try {
                ch.force(false);
            } catch (IOException | RuntimeException e) {
                return; // the real fsync reports it
            }
            for (Range r : ranges) {
                PageCache.release(file, r.offset(), r.length());
            }
        });
    }

    /** Lets queued syncs finish on their own; takes no new ones. */
    @Override
    public void close() {
        thread.shutdown();
    }
}
