package dev.strata.service;

import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.store.ChunkStore;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Streams a byte range of a file from its manifest, chunk by chunk, every chunk verified against
 * its id by the store. Memory stays bounded by the read-ahead window ({@link #WINDOW} chunks,
 * at most 256 KiB each), whatever the file size; the window lets chunk reads and verification
 * run on other cores while earlier chunks are being sent.
 */
public final class ContentReader {
    static final int WINDOW = 8;
    private final ChunkStore store;
    private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();

    public ContentReader(ChunkStore store) {
        this.store = store;
    }

    /** Writes bytes [start, end) of the file described by {@code m} to {@code out}. */
    public void write(FileManifest m, long start, long end, OutputStream out) throws IOException {
        List<ChunkRef> chunks = m.chunks();
        int i = 0;
        long pos = 0;
        while (i < chunks.size() && pos + chunks.get(i).length() <= start) {
            pos += chunks.get(i).length();
            i++;
        }
        ArrayDeque<CompletableFuture<byte[]>> window = new ArrayDeque<>();
        int next = i;
        while (pos < end) {
            while (window.size() < WINDOW && next < chunks.size()) {
                ContentHash id = chunks.get(next++).id();
                window.add(CompletableFuture.supplyAsync(() -> store.get(id), pool));
            }
            byte[] data;
            try {
                data = window.poll().join();
            } catch (CompletionException e) {
                if (e.getCause() instanceof RuntimeException re) {
                    throw re;
                }
                throw e;
            }
            int from = (int) Math.max(0, start - pos);
            int to = (int) Math.min(data.length, end - pos);
            out.write(data, from, to - from);
            pos += data.length;
        }
        window.forEach(f -> f.cancel(false));
    }
}
