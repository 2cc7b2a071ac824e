package dev.strata.cli;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.chunk.ChunkSpan;
import dev.strata.core.codec.Codecs;
import dev.strata.core.wire.ChunkFrames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Sends chunks while the files are still being chunked (docs/api.md, "Push"): chunk ids arrive
 * segment by segment from the chunker; every {@link #IDS_PER_ROUND} new ids, or
 * {@link #BYTES_PER_ROUND} of new chunk bytes (model files have few, large chunks), the pipeline
 * asks the server which it lacks and uploads those in batches of about {@link #BATCH_BYTES},
 * sending them from the files (still in the page cache; raw frames by {@code sendfile}). One
 * thread negotiates round after round; {@code inFlight} threads send the batches of all rounds,
 * so hashing, negotiation, upload and the server's writes and fsyncs overlap.
 *
 * <p>Platform threads, not virtual ones: socket I/O from a virtual thread leaves the JDK's poller
 * thread in native code, and {@code System.exit} then waits 300 ms for it (JDK 25), a toll on
 * every push.
 */
final class UploadPipeline implements AutoCloseable {
    static final int IDS_PER_ROUND = 2048;
    static final int BATCH_BYTES = 32 << 20;
    static final long BYTES_PER_ROUND = 2L * BATCH_BYTES;

    record Source(Path file, long offset, int length) {}

    private final StrataClient client;
    private final String sessionPath;
    private final boolean compress;
    private final Progress bar;
    private final ExecutorService negotiator = Executors.newSingleThreadExecutor(
            Thread.ofPlatform().name("strata-push-negotiate").daemon().factory());
    private final ExecutorService senders;
    private final Set<ContentHash> seen = new HashSet<>();
    private final List<Future<?>> rounds = new ArrayList<>();
    private final List<Future<?>> sends = java.util.Collections.synchronizedList(new ArrayList<>());
    private Map<ContentHash, Source> pending = new java.util.LinkedHashMap<>();
    private long pendingBytes;
    private final AtomicLong sentBytes = new AtomicLong();
    private final AtomicLong sentChunks = new AtomicLong();
    private final AtomicLong knownChunks = new AtomicLong();

    UploadPipeline(StrataClient client, String sessionPath, int inFlight, boolean compress, Progress bar) {
        this.client = client;
        this.sessionPath = sessionPath;
        this.compress = compress;
        this.bar = bar;
        this.senders = Executors.newFixedThreadPool(Math.max(1, inFlight),
                Thread.ofPlatform().name("strata-push-send-", 0).daemon().factory());
    }

    /** Takes one segment's chunks of {@code file}; thread-safe. */
    synchronized void offer(Path file, List<ChunkSpan> spans) {
        for (ChunkSpan s : spans) {
            if (seen.add(s.id())) {
                pending.put(s.id(), new Source(file, s.offset(), s.length()));
                pendingBytes += s.length();
            }
        }
        if (pending.size() >= IDS_PER_ROUND || pendingBytes >= BYTES_PER_ROUND) {
            dispatch();
        }
    }

    private void dispatch() {
        Map<ContentHash, Source> round = pending;
        pending = new java.util.LinkedHashMap<>();
        pendingBytes = 0;
        rounds.add(negotiator.submit(() -> {
            runRound(round);
            return null;
        }));
    }

    /** Sends what is left and waits for every round and batch; rethrows the first failure. */
    void finish() throws IOException {
        List<Future<?>> all;
        synchronized (this) {
            if (!pending.isEmpty()) {
                dispatch();
            }
            all = List.copyOf(rounds);
        }
        awaitAll(all);
        // Every round has queued its batches by now.
        awaitAll(List.copyOf(sends));
    }

    private static void awaitAll(List<Future<?>> tasks) throws IOException {
        for (Future<?> f : tasks) {
            try {
                f.get();
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                if (c instanceof IOException io) {
                    throw io;
                }
                if (c instanceof RuntimeException re) {
                    throw re;
                }
                throw new IOException(c);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("interrupted while uploading", e);
            }
        }
    }

    private void runRound(Map<ContentHash, Source> round) throws Exception {
        ArrayNode q = StrataClient.JSON.createArrayNode();
        round.keySet().forEach(id -> q.add(id.hex()));
        ObjectNode body = StrataClient.JSON.createObjectNode();
        body.set("ids", q);
        Set<ContentHash> missing = new HashSet<>();
        client.post(sessionPath + "/missing", body).path("missing").forEach(n -> missing.add(ContentHash.fromHex(n.asText())));
        knownChunks.addAndGet(round.size() - missing.size());
        List<ContentHash> batch = new ArrayList<>();
        long size = 0;
        for (Map.Entry<ContentHash, Source> e : round.entrySet()) {
            if (!missing.contains(e.getKey())) {
                continue;
            }
            batch.add(e.getKey());
            size += e.getValue().length();
            if (size >= BATCH_BYTES) {
                queueSend(batch, round);
                batch = new ArrayList<>();
                size = 0;
            }
        }
        if (!batch.isEmpty()) {
            queueSend(batch, round);
        }
    }

    private void queueSend(List<ContentHash> batch, Map<ContentHash, Source> sources) {
        sends.add(senders.submit(() -> {
            send(batch, sources);
            return null;
        }));
    }

    private void send(List<ContentHash> batch, Map<ContentHash, Source> sources) throws Exception {
        long length;
        if (compress) {
            byte[] body = encode(batch, sources, true);
            client.postBytes(sessionPath + "/chunks", body);
            length = body.length;
        } else {
            RawFrames body = new RawFrames(batch, sources);
            client.post(sessionPath + "/chunks", "application/octet-stream", body);
            length = body.length();
        }
        sentBytes.addAndGet(length);
        sentChunks.addAndGet(batch.size());
        bar.add(batch.stream().mapToLong(id -> sources.get(id).length()).sum());
    }

    long sentBytes() {
        return sentBytes.get();
    }

    long sentChunks() {
        return sentChunks.get();
    }

    long knownChunks() {
        return knownChunks.get();
    }

    @Override
    public void close() {
        negotiator.shutdownNow();
        senders.shutdownNow();
    }

    /**
     * A request body of raw chunk frames written from the files to the connection: each frame's
     * header, then its bytes by {@link FileChannel#transferTo} ({@code sendfile} to a socket: the
     * chunk goes from the page cache to the socket without a copy in this process).
     */
    record RawFrames(List<ContentHash> batch, Map<ContentHash, Source> sources) implements DirectHttp.Body {
        @Override
        public long length() {
            long total = 0;
            for (ContentHash id : batch) {
                total += ChunkFrames.HEADER + sources.get(id).length();
            }
            return total;
        }

        @Override
        public void writeTo(WritableByteChannel out) throws IOException {
            Map<Path, FileChannel> open = new TreeMap<>();
            try {
                byte[] header = new byte[ChunkFrames.HEADER];
                for (ContentHash id : batch) {
                    Source s = sources.get(id);
                    ChunkFrames.writeHeader(header, 0, id, Codec.RAW, s.length(), s.length());
                    DirectHttp.writeFully(out, ByteBuffer.wrap(header));
                    FileChannel ch = channel(open, s.file());
                    for (long done = 0; done < s.length(); ) {
                        long n = ch.transferTo(s.offset() + done, s.length() - done, out);
                        if (n <= 0 && ch.size() < s.offset() + s.length()) {
                            throw new IOException(s.file() + " changed while pushing (shorter than when it was hashed)");
                        }
                        done += n;
                    }
                }
            } finally {
                for (FileChannel ch : open.values()) {
                    ch.close();
                }
            }
        }
    }

    /** One request body of zstd-compressed chunk frames (kept raw where compression does not pay). */
    static byte[] encode(List<ContentHash> batch, Map<ContentHash, Source> sources, boolean compress) throws IOException {
        Map<Path, FileChannel> open = new TreeMap<>();
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream(BATCH_BYTES + (1 << 20));
            for (ContentHash id : batch) {
                Source s = sources.get(id);
                byte[] raw = new byte[s.length()];
                readFully(channel(open, s.file()), ByteBuffer.wrap(raw), s);
                ChunkFrames.write(out, id, Codecs.compressOrRaw(raw));
            }
            return out.toByteArray();
        } finally {
            for (FileChannel ch : open.values()) {
                ch.close();
            }
        }
    }

    private static FileChannel channel(Map<Path, FileChannel> open, Path file) throws IOException {
        FileChannel ch = open.get(file);
        if (ch == null) {
            ch = FileChannel.open(file, StandardOpenOption.READ);
            open.put(file, ch);
        }
        return ch;
    }

    private static void readFully(FileChannel ch, ByteBuffer buf, Source s) throws IOException {
        long start = s.offset() - buf.position();
        while (buf.hasRemaining()) {
            if (ch.read(buf, start + buf.position()) < 0) {
                throw new IOException(s.file() + " changed while pushing (shorter than when it was hashed)");
            }
        }
    }
}
