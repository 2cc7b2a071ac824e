package dev.strata.core.chunk;

import dev.strata.core.ContentHash;
import dev.strata.core.tensor.TensorEntry;
import dev.strata.core.tensor.TensorFormats;
import dev.strata.core.tensor.TensorLayout;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Cuts a whole file into {@link GearChunker} chunks, hashes each chunk and the whole file.
 *
 * <p>To use several cores on one large file, the file is split into fixed {@link #SEGMENT_SIZE}
 * segments and every segment boundary is also a chunk boundary (docs/chunking.md, "Segments").
 * Segments are chunked and hashed independently on {@code threads} workers while one more thread
 * runs the whole-file SHA-256 over the same buffers in file order. At most {@code threads + 2}
 * segment buffers exist at a time, so memory stays bounded whatever the file size.
 *
 * <p>A file that {@link TensorFormats#detect} recognises as a model file (safetensors, torch.save,
 * GGUF) is cut along its layout instead (docs/chunking.md, "Tensor-aligned segments"): every
 * tensor starts a chunk and is cut into fixed {@link #TENSOR_SLICE} slices from its first byte;
 * the bytes between tensors are chunked as above, each run from its own start. The same workers
 * read and hash the slices, in read units of at most one segment buffer.
 *
 * <p>{@link #chunk(InputStream, LongConsumer)} applies the same segment rule to a stream, so the
 * same bytes give the same chunks whichever way they arrive. Instances are immutable and
 * thread-safe; each call uses its own short-lived threads.
 */
public final class FileChunker {
    /** Distance between forced chunk boundaries; part of the format, like the chunker constants. */
    public static final int SEGMENT_SIZE = 16 << 20;
    /** Length of the fixed slices a tensor is cut into (the last one shorter); part of the format. */
    public static final int TENSOR_SLICE = 1 << 20;
    /** Positional reads are issued in slices so the JDK's per-thread temporary direct buffer stays small. */
    private static final int READ_SLICE = 1 << 20;
    private static final LongConsumer NO_PROGRESS = bytes -> {};

    private final int threads;
    private final int segmentSize;
    private final int tensorSlice;

    /** One worker per available processor. */
    public FileChunker() {
        this(Runtime.getRuntime().availableProcessors());
    }

    public FileChunker(int threads) {
        this(threads, SEGMENT_SIZE);
    }

    /** A non-standard segment size gives non-standard chunks: for tests only. */
    FileChunker(int threads, int segmentSize) {
        this(threads, segmentSize, Math.min(TENSOR_SLICE, segmentSize));
    }

    /** Non-standard segment and slice sizes give non-standard chunks: for tests only. */
    FileChunker(int threads, int segmentSize, int tensorSlice) {
        if (tensorSlice < 1 || tensorSlice > segmentSize) {
            throw new IllegalArgumentException("tensorSlice must be in 1..segmentSize, got " + tensorSlice);
        }
        this.tensorSlice = tensorSlice;
        if (threads < 1) {
            throw new IllegalArgumentException("threads must be >= 1, got " + threads);
        }
        if (segmentSize < 1) {
            throw new IllegalArgumentException("segmentSize must be >= 1, got " + segmentSize);
        }
        this.threads = threads;
        this.segmentSize = segmentSize;
    }

    public int threads() {
        return threads;
    }

    public ChunkedFile chunk(Path file) throws IOException {
        return chunk(file, NO_PROGRESS);
    }

    /**
     * Chunks {@code file} as it is when opened: its size is read once, and a file that shrinks while
     * being read fails with {@link EOFException} (bytes appended meanwhile are ignored).
     *
     * @param progress receives the byte count of each finished segment (deltas, summing to the size);
     *     called from worker threads, so it must be thread-safe
     */
    public ChunkedFile chunk(Path file, LongConsumer progress) throws IOException {
        return chunk(file, progress, spans -> {});
    }

    /**
     * As {@link #chunk(Path, LongConsumer)}, and hands each segment's chunks to {@code onSegment} as
     * soon as they are known, so a caller can start sending them while later segments are still
     * being read. Segments may arrive out of order and from worker threads: {@code onSegment} must
     * be thread-safe. An exception it throws fails the chunking.
     */
    public ChunkedFile chunk(Path file, LongConsumer progress, Consumer<List<ChunkSpan>> onSegment) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            long size = ch.size();
            Optional<TensorLayout> layout = TensorFormats.detect(ch, size);
            List<Unit> units = plan(layout.orElse(null), size);
            ChunkedFile plain;
            if (units.size() <= 1) {
                byte[] buf = new byte[(int) size];
                readFully(ch, buf, buf.length, 0);
                MessageDigest whole = ContentHash.sha256();
                whole.update(buf, 0, buf.length);
                List<ChunkSpan> spans = units.isEmpty() ? List.of() : chunkUnit(buf, units.getFirst(), tensorSlice);
                if (size > 0) {
                    progress.accept(size);
                }
                onSegment.accept(spans);
                plain = new ChunkedFile(size, ContentHash.ofDigest(whole), spans);
            } else {
                plain = parallel(ch, size, units, progress, onSegment);
            }
            return layout.isEmpty() ? plain : withTensors(plain, layout.get());
        }
    }

    /**
     * A piece of the file cut one way: content-defined from its start ({@code fixed} false), or in
     * fixed slices from its start. At most one segment long.
     */
    private record Piece(long offset, int length, boolean fixed) {}

    /** A read unit: consecutive pieces read into one buffer, at most one segment long in all. */
    private record Unit(long position, int length, List<Piece> pieces) {}

    /**
     * Cuts the file into pieces and packs consecutive pieces into read units. A plain file is one
     * content-defined region, so its pieces and units are exactly its segments. In a model file each
     * tensor is a fixed-slice region and each run of other segments a content-defined region; a
     * region's pieces start at its first byte and are a whole number of segments (or, for tensors,
     * of slices) long, so packing never moves a boundary.
     */
    private List<Unit> plan(TensorLayout layout, long size) {
        List<long[]> regions = new ArrayList<>(); // {start, end, fixed ? 1 : 0}
        if (layout == null) {
            if (size > 0) {
                regions.add(new long[] {0, size, 0});
            }
        } else {
            for (TensorLayout.Segment s : layout.segments()) {
                boolean fixed = s.kind() == TensorLayout.Kind.TENSOR;
                long[] last = regions.isEmpty() ? null : regions.getLast();
                if (!fixed && last != null && last[2] == 0) {
                    last[1] = s.end();
                } else {
                    regions.add(new long[] {s.offset(), s.end(), fixed ? 1 : 0});
                }
            }
        }
        int fixedPiece = segmentSize - segmentSize % tensorSlice;
        List<Unit> units = new ArrayList<>();
        List<Piece> pieces = new ArrayList<>();
        long unitStart = 0;
        long unitLength = 0;
        for (long[] r : regions) {
            boolean fixed = r[2] == 1;
            int step = fixed ? fixedPiece : segmentSize;
            for (long p = r[0]; p < r[1]; p += step) {
                int len = (int) Math.min(step, r[1] - p);
                if (unitLength + len > segmentSize) {
                    units.add(new Unit(unitStart, (int) unitLength, List.copyOf(pieces)));
                    pieces.clear();
                    unitLength = 0;
                }
                if (pieces.isEmpty()) {
                    unitStart = p;
                }
                pieces.add(new Piece(p, len, fixed));
                unitLength += len;
            }
        }
        if (!pieces.isEmpty()) {
            units.add(new Unit(unitStart, (int) unitLength, List.copyOf(pieces)));
        }
        return units;
    }

    /** Cuts a unit held in {@code buf[0, unit.length)} and computes each chunk's id. */
    private static List<ChunkSpan> chunkUnit(byte[] buf, Unit unit, int slice) {
        List<ChunkSpan> spans = new ArrayList<>();
        int[] lengths = null;
        for (Piece p : unit.pieces()) {
            int at = (int) (p.offset() - unit.position());
            if (p.fixed()) {
                for (int pos = 0; pos < p.length(); pos += slice) {
                    int n = Math.min(slice, p.length() - pos);
                    spans.add(new ChunkSpan(p.offset() + pos, n, ContentHash.of(buf, at + pos, n)));
                }
            } else {
                if (lengths == null || lengths.length < GearChunker.maxChunks(p.length())) {
                    lengths = new int[GearChunker.maxChunks(p.length())];
                }
                int count = GearChunker.chunkLengths(buf, at, p.length(), lengths);
                int pos = 0;
                for (int i = 0; i < count; i++) {
                    spans.add(new ChunkSpan(p.offset() + pos, lengths[i], ContentHash.of(buf, at + pos, lengths[i])));
                    pos += lengths[i];
                }
            }
        }
        return spans;
    }

    /** Adds the tensor table: each tensor's chunk range (it starts and ends on boundaries) and digest. */
    private static ChunkedFile withTensors(ChunkedFile f, TensorLayout layout) {
        List<ChunkSpan> chunks = f.chunks();
        List<TensorEntry> tensors = new ArrayList<>();
        int i = 0;
        for (TensorLayout.Segment s : layout.segments()) {
            if (s.tensor() == null) {
                continue;
            }
            while (chunks.get(i).offset() < s.offset()) {
                i++;
            }
            int first = i;
            while (i < chunks.size() && chunks.get(i).offset() < s.end()) {
                i++;
            }
            var t = s.tensor();
            tensors.add(new TensorEntry(t.name(), t.dtype(), t.shape(), t.offset(), t.length(), first, i - first,
                    TensorEntry.digestOf(k -> chunks.get(k).id(), first, i - first)));
        }
        return new ChunkedFile(f.size(), f.sha256(), chunks, tensors);
    }

    public ChunkedFile chunk(InputStream in) throws IOException {
        return chunk(in, NO_PROGRESS);
    }

    /**
     * Chunks a stream of unknown length on the calling thread, segment by segment, with the same
     * boundaries as {@link #chunk(Path, LongConsumer)} gives for a file of the same bytes. Reads to
     * the end of the stream but does not close it. Holds one segment buffer, grown as data arrives.
     */
    public ChunkedFile chunk(InputStream in, LongConsumer progress) throws IOException {
        MessageDigest whole = ContentHash.sha256();
        int[] lengths = new int[GearChunker.maxChunks(segmentSize)];
        byte[] buf = new byte[Math.min(segmentSize, 64 << 10)];
        List<ChunkSpan> spans = new ArrayList<>();
        long base = 0;
        boolean eof = false;
        while (!eof) {
            int n = 0;
            while (n < segmentSize) {
                if (n == buf.length) {
                    buf = Arrays.copyOf(buf, (int) Math.min(segmentSize, 2L * buf.length));
                }
                int r = in.read(buf, n, buf.length - n);
                if (r < 0) {
                    eof = true;
                    break;
                }
                n += r;
            }
            if (n == 0) {
                break;
            }
            whole.update(buf, 0, n);
            spans.addAll(chunkSegment(buf, n, base, lengths));
            base += n;
            progress.accept(n);
        }
        return new ChunkedFile(base, ContentHash.ofDigest(whole), spans);
    }

    /** Cuts one segment and computes each chunk's id (BLAKE3 of its bytes). */
    private static List<ChunkSpan> chunkSegment(byte[] buf, int length, long base, int[] lengths) {
        int count = GearChunker.chunkLengths(buf, 0, length, lengths);
        List<ChunkSpan> spans = new ArrayList<>(count);
        int pos = 0;
        for (int i = 0; i < count; i++) {
            spans.add(new ChunkSpan(base + pos, lengths[i], ContentHash.of(buf, pos, lengths[i])));
            pos += lengths[i];
        }
        return spans;
    }

    /** A segment buffer shared by its chunking worker and the whole-file digester; freed when both are done. */
    private static final class Segment {
        final long position;
        final int length;
        final byte[] buffer;
        final CompletableFuture<Void> read = new CompletableFuture<>();
        private final AtomicInteger holders = new AtomicInteger(2);

        Segment(long position, int length, byte[] buffer) {
            this.position = position;
            this.length = length;
            this.buffer = buffer;
        }

        void release(BlockingQueue<byte[]> free) {
            if (holders.decrementAndGet() == 0) {
                free.add(buffer);
            }
        }
    }

    private static final Segment END = new Segment(0, 0, new byte[0]);

    private ChunkedFile parallel(FileChannel ch, long size, List<Unit> units, LongConsumer progress,
                                 Consumer<List<ChunkSpan>> onSegment) throws IOException {
        int segments = units.size();
        int workers = Math.min(threads, segments);
        int maxBuffers = workers + 2;
        BlockingQueue<byte[]> free = new ArrayBlockingQueue<>(maxBuffers);
        BlockingQueue<Segment> toDigest = new LinkedBlockingQueue<>();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        MessageDigest whole = ContentHash.sha256();
        List<Future<List<ChunkSpan>>> results = new ArrayList<>(segments);
        boolean interrupted = false;

        Thread digester = Thread.ofPlatform().name("strata-file-sha256").daemon().start(() -> {
            // Runs until END even after a failure, releasing every buffer, so the producer never blocks forever.
            for (Segment seg = takeUninterruptibly(toDigest); seg != END; seg = takeUninterruptibly(toDigest)) {
                try {
                    seg.read.join();
                    if (failure.get() == null) {
                        whole.update(seg.buffer, 0, seg.length);
                    }
                } catch (CompletionException e) {
                    // The worker that read this segment recorded the failure.
                } finally {
                    seg.release(free);
                }
            }
        });
        try {
            try (ExecutorService pool = Executors.newFixedThreadPool(workers, Thread.ofPlatform().name("strata-chunker-", 0).daemon().factory())) {
                try {
                    int allocated = 0;
                    for (int k = 0; k < segments && failure.get() == null; k++) {
                        byte[] buf = free.poll();
                        if (buf == null) {
                            if (allocated < maxBuffers) {
                                buf = new byte[segmentSize];
                                allocated++;
                            } else {
                                buf = free.take();
                            }
                        }
                        Unit unit = units.get(k);
                        Segment seg = new Segment(unit.position(), unit.length(), buf);
                        results.add(pool.submit(() -> chunkSegment(ch, seg, unit, free, failure, progress, onSegment)));
                        toDigest.add(seg);
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                    failure.compareAndSet(null, new InterruptedIOException("interrupted while chunking"));
                } finally {
                    toDigest.add(END);
                }
            } // close() waits for the submitted segments, at most maxBuffers of them still running
        } finally {
            while (true) {
                try {
                    digester.join();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        Throwable t = failure.get();
        if (t != null) {
            switch (t) {
                case IOException io -> throw io;
                case RuntimeException re -> throw re;
                case Error err -> throw err;
                default -> throw new IOException(t);
            }
        }
        List<ChunkSpan> spans = new ArrayList<>();
        for (Future<List<ChunkSpan>> f : results) {
            try {
                spans.addAll(f.get());
            } catch (InterruptedException | ExecutionException e) {
                throw new IllegalStateException("segment finished without a result", e);
            }
        }
        return new ChunkedFile(size, ContentHash.ofDigest(whole), spans);
    }

    private List<ChunkSpan> chunkSegment(FileChannel ch, Segment seg, Unit unit, BlockingQueue<byte[]> free,
                                         AtomicReference<Throwable> failure, LongConsumer progress,
                                         Consumer<List<ChunkSpan>> onSegment) throws IOException {
        try {
            readFully(ch, seg.buffer, seg.length, seg.position);
            seg.read.complete(null);
            List<ChunkSpan> spans = chunkUnit(seg.buffer, unit, tensorSlice);
            onSegment.accept(spans);
            progress.accept(seg.length);
            return spans;
        } catch (Throwable t) {
            failure.compareAndSet(null, t);
            seg.read.completeExceptionally(t);
            throw t;
        } finally {
            seg.release(free);
        }
    }

    private static void readFully(FileChannel ch, byte[] buf, int length, long position) throws IOException {
        ByteBuffer bb = ByteBuffer.wrap(buf, 0, length);
        while (bb.hasRemaining()) {
            int start = bb.position();
            bb.limit(Math.min(length, start + READ_SLICE));
            int n = ch.read(bb, position + start);
            if (n < 0) {
                throw new EOFException("file shrank while being chunked: no data at offset " + (position + start));
            }
            bb.limit(length);
        }
    }

    private static Segment takeUninterruptibly(BlockingQueue<Segment> queue) {
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return queue.take();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
