package dev.strata.service;

import dev.strata.core.ChunkRef;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.codec.Codecs;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.DeltaChains;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.ReadCheck;
import dev.strata.core.wire.ChunkFrames;
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
import java.util.function.Function;

/**
 * Streams a file's bytes, or its chunks as frames, from the store. Chunks are read ahead in a
 * window ({@link #WINDOW} chunks, typically 1 MiB tensor slices or ~64 KiB content-defined
 * chunks) so that reads and verification run on other cores while earlier chunks are sent;
 * memory stays bounded by that window whatever the file size.
 *
 * <p>Chunks stored raw are read straight into pooled direct buffers ({@link
 * ChunkStore#readRawInto}), checked there and handed to the sink as they are: no copy through
 * the Java heap on either side (the JDK copies heap arrays through a temporary direct buffer on
 * every file read and socket write). Measured on a 1 GiB file: half the server's CPU per GiB.
 * What is checked there is the caller's {@link ReadCheck}: the id, or only the stored checksum
 * when the client verifies every chunk's id itself (decision 0019). Chunks on the heap path
 * (small, or encoded) are checked as they always were.
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

        /** A sink over any stream: buffers are copied out (no gain, but the same bytes). */
        static Sink of(OutputStream out) {
            return new Sink() {
                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                }

                @Override
                public void write(ByteBuffer b) throws IOException {
                    byte[] copy = new byte[b.remaining()];
                    b.get(copy);
                    out.write(copy);
                }
            };
        }
    }

    private final ChunkStore store;
    private final ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor();
    private final ArrayBlockingQueue<ByteBuffer> free = new ArrayBlockingQueue<>(BUFFERS);
    private final AtomicInteger allocated = new AtomicInteger();

    public ContentReader(ChunkStore store) {
        this.store = store;
    }

    /**
     * A chunk as read: a direct buffer (raw, position 0, limit its length), or else its decoded
     * bytes ({@link #write}) or its self-contained encoding ({@link #writeFrames}).
     */
    private record Piece(ContentHash id, ByteBuffer buffer, byte[] decoded, EncodedChunk encoded) {
        int length() {
            return buffer != null ? buffer.limit() : decoded != null ? decoded.length : encoded.rawLength();
        }
    }

    private interface Send {
        void accept(Piece p) throws IOException;
    }

    /**
     * Writes bytes [start, end) of the file described by {@code m}, every chunk checked first: by
     * its id, or with {@link ReadCheck#CHECKSUM} the raw ones read into direct buffers by their
     * stored checksum only.
     */
    public void write(FileManifest m, long start, long end, ReadCheck check, Sink sink) throws IOException {
        List<ChunkRef> chunks = m.chunks();
        int first = 0;
        long pos = 0;
        while (first < chunks.size() && pos + chunks.get(first).length() <= start) {
            pos += chunks.get(first).length();
            first++;
        }
        int last = first; // chunks [first, last) cover the range: no read-ahead past its end
        for (long p = pos; last < chunks.size() && p < end; last++) {
            p += chunks.get(last).length();
        }
        long[] at = {pos}; // file offset of the chunk being sent
        stream(chunks.subList(first, last).stream().map(ChunkRef::id).toList(), check,
                id -> new Piece(id, null, store.get(id), null), piece -> {
                    int length = piece.length();
                    int from = (int) Math.max(0, start - at[0]);
                    int to = (int) Math.min(length, end - at[0]);
                    if (piece.buffer() != null) {
                        sink.write(piece.buffer().limit(to).position(from));
                    } else {
                        sink.write(piece.decoded(), from, to - from);
                    }
                    at[0] += length;
                });
    }

    /**
     * Writes the chunks as frames (docs/api.md, "Chunk frames"), in order: each as stored, deltas
     * resolved (the client may not hold their base), and FLOAT chunks decoded unless
     * {@code floatFrames} (the client reads every FLOAT version up to {@link Codecs#FLOAT_VERSION}).
     * Raw chunks going through direct buffers are checked as {@code check} says; the others carry
     * their pack checksum, and the client verifies.
     */
    public void writeFrames(List<ContentHash> ids, ReadCheck check, boolean floatFrames, Sink sink) throws IOException {
        byte[] header = new byte[ChunkFrames.HEADER];
        stream(ids, check, id -> new Piece(id, null, null, DeltaChains.selfContained(store, id)), piece -> {
            if (piece.buffer() != null) {
                int n = piece.buffer().remaining();
                ChunkFrames.writeHeader(header, 0, piece.id(), Codec.RAW, n, n);
                sink.write(header, 0, header.length);
                sink.write(piece.buffer());
            } else {
                EncodedChunk e = piece.encoded();
                if (e.codec() == Codec.FLOAT && !floatFrames) {
                    e = new EncodedChunk(Codec.RAW, e.rawLength(), Codecs.decode(e));
                }
                ChunkFrames.writeHeader(header, 0, piece.id(), e.codec(), e.rawLength(), e.data().length);
                sink.write(header, 0, header.length);
                sink.write(e.data(), 0, e.data().length);
            }
        });
    }

    /** Reads {@code ids} with read-ahead and hands the pieces to {@code send} in order. */
    private void stream(List<ContentHash> ids, ReadCheck check, Function<ContentHash, Piece> heapRead, Send send) throws IOException {
        ArrayDeque<CompletableFuture<Piece>> window = new ArrayDeque<>();
        int next = 0;
        try {
            for (int k = 0; k < ids.size(); k++) {
                while (window.size() < WINDOW && next < ids.size()) {
                    ContentHash id = ids.get(next++);
                    window.add(CompletableFuture.supplyAsync(() -> read(id, check, heapRead), pool));
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
                try {
                    send.accept(p);
                } finally {
                    release(p.buffer());
                }
            }
        } finally {
            // Read-ahead nobody will send: its buffers go back to the pool when the reads finish.
            for (CompletableFuture<Piece> f : window) {
                f.thenAccept(p -> release(p.buffer()));
            }
        }
    }

    private Piece read(ContentHash id, ReadCheck check, Function<ContentHash, Piece> heapRead) {
        ByteBuffer b = take();
        if (b != null) {
            boolean done = false;
            try {
                if (store.readRawInto(id, b, check)) {
                    done = true;
                    return new Piece(id, b.flip(), null, null);
                }
            } finally {
                if (!done) {
                    release(b);
                }
            }
        }
        return heapRead.apply(id);
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
