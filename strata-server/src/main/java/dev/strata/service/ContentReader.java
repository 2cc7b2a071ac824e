package dev.strata.service;

import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.store.ChunkStore;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Streams a byte range of a file from its manifest, chunk by chunk, every chunk verified against
 * its id by the store. Memory stays bounded by the read-ahead window ({@link #WINDOW} chunks,
 * typically 1 MiB tensor slices or ~64 KiB content-defined chunks), whatever the file size; the
 * window lets chunk reads and verification run on other cores while earlier chunks are sent.
 *
 * <p>When the sink takes buffers ({@link Sink#write(ByteBuffer)}), chunks stored raw are read
 * straight into pooled direct buffers ({@link ChunkStore#readRawInto}) and handed to the socket
 * from there: no copy through the Java heap on either side (the JDK copies heap arrays through a
 * temporary direct buffer on every file read and socket write).
 */
public final class ContentReader {
    static final int WINDOW = 8;
    /**
     * Direct buffers for raw chunks: one tensor slice each; at most {@link #BUFFERS} exist (64 MiB:
     * the read-ahead of 8 concurrent streams, as many as the SDK's parallel loads open).
     */
    static final int BUFFER_BYTES = 1 << 20;
    static final int BUFFERS = 64;

    /** Where the bytes go. */
    public interface Sink {
        void write(byte[] b, int off, int len) throws IOException;

        /** Writes the buffer's remaining bytes; the buffer may be reused once this returns. */
        void write(ByteBuffer b) throws IOException;
    }

    private final ChunkStore store;
    private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    private final ArrayBlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(BUFFERS);
    private final AtomicInteger allocated = new AtomicInteger();

    public ContentReader(ChunkStore store) {
        this.store = store;
    }

    /** Writes bytes [start, end) of the file described by {@code m} to {@code out}. */
    public void write(FileManifest m, long start, long end, OutputStream out) throws IOException {
        write(m, start, end, out, null);
    }

    /** As {@link #write(FileManifest, long, long, OutputStream)}, raw chunks through direct buffers into {@code buffers}. */
    public void write(FileManifest m, long start, long end, Sink buffers) throws IOException {
        write(m, start, end, null, buffers);
    }

    /** A chunk's bytes: a heap array, or a pooled direct buffer (position 0, limit the chunk's length). */
    private record Piece(byte[] array, ByteBuffer buffer) {
        int length() {
            return array != null ? array.length : buffer.limit();
        }
    }

    private void write(FileManifest m, long start, long end, OutputStream out, Sink sink) throws IOException {
        List<ChunkRef> chunks = m.chunks();
        int i = 0;
        long pos = 0;
        while (i < chunks.size() && pos + chunks.get(i).length() <= start) {
            pos += chunks.get(i).length();
            i++;
        }
        ArrayDeque<CompletableFuture<Piece>> window = new ArrayDeque<>();
        int next = i;
        long nextStart = pos; // file offset of chunk `next`: read ahead only within the range
        try {
            while (pos < end) {
                while (window.size() < WINDOW && next < chunks.size() && nextStart < end) {
                    ContentHash id = chunks.get(next).id();
                    nextStart += chunks.get(next++).length();
                    window.add(CompletableFuture.supplyAsync(() -> read(id, sink != null), pool));
                }
                Piece p;
                try {
                    p = window.poll().join();
                } catch (CompletionException e) {
                    if (e.getCause() instanceof RuntimeException re) {
                        throw re;
                    }
                    throw e;
                }
                int length = p.length(); // before the buffer goes back to the pool
                int from = (int) Math.max(0, start - pos);
                int to = (int) Math.min(length, end - pos);
                if (p.array() != null) {
                    if (sink != null) {
                        sink.write(p.array(), from, to - from);
                    } else {
                        out.write(p.array(), from, to - from);
                    }
                } else {
                    try {
                        sink.write(p.buffer().limit(to).position(from));
                    } finally {
                        release(p.buffer());
                    }
                }
                pos += length;
            }
        } finally {
            // Read-ahead nobody will send: its buffers go back to the pool when the reads finish.
            for (CompletableFuture<Piece> f : window) {
                f.thenAccept(p -> release(p.buffer()));
            }
        }
    }

    private Piece read(ContentHash id, boolean direct) {
        ByteBuffer b = direct ? take() : null;
        if (b != null) {
            boolean done = false;
            try {
                if (store.readRawInto(id, b)) {
                    done = true;
                    return new Piece(null, b.flip());
                }
            } finally {
                if (!done) {
                    release(b);
                }
            }
        }
        return new Piece(store.get(id), null);
    }

    private ByteBuffer take() {
        ByteBuffer b = free.poll();
        if (b == null && allocated.getAndUpdate(n -> n < BUFFERS ? n + 1 : n) < BUFFERS) {
            try {
                b = ByteBuffer.allocateDirect(BUFFER_BYTES);
            } catch (OutOfMemoryError e) {
                allocated.decrementAndGet(); // direct memory is short (-XX:MaxDirectMemorySize): use the heap path
            }
        }
        return b; // null when every buffer is in use: that read takes the heap path
    }

    private void release(ByteBuffer b) {
        if (b != null) {
            free.offer(b.clear());
        }
    }
}
