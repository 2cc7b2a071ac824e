package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.core.ChunkRef;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.FileManifest;
import dev.strata.core.Names;
import dev.strata.core.chunk.ChunkSpan;
import dev.strata.core.chunk.ChunkedFile;
import dev.strata.core.chunk.FileChunker;
import dev.strata.core.codec.Codecs;
import dev.strata.core.store.EarlySync;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.PageCache;
import dev.strata.core.wire.ChunkFrames;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.ReadableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The client side of a pull (docs/api.md, "Reading"). For each file: fetch its manifest, reuse
 * the chunks a local copy of another version already has (the local file is chunked), fetch
 * the runs of chunks it lacks as chunk frames, several runs in parallel, decode and verify every
 * chunk against its id, and write it at its offset. The file is fsynced, then lands by atomic
 * rename, so a failed pull never leaves a half-written file in place and a finished one survives a
 * crash. Writeback starts while the pull runs (a background fsync every {@link #SYNC_BYTES}), so
 * the final fsync finds little left to write. With {@code verifySha256} the whole-file
 * SHA-256 recorded in the commit is checked too (chunk ids already prove every byte).
 */
final class PullOperation {
    /** Chunks fetched per request: about 16 MiB at the 64 KiB average... */
    static final int RUN_CHUNKS = 256;
    /** ...and at most this many bytes (tensor slices are 1 MiB), so runs spread evenly over the threads. */
    static final long RUN_BYTES = 16 << 20;
    /** Bytes written to a file between two background fsyncs. */
    static final long SYNC_BYTES = 32 << 20;
    private final StrataClient client;
    private final int threads;
    private final boolean verifySha256;

    PullOperation(StrataClient client, int threads, boolean verifySha256) {
        this.client = client;
        this.threads = Math.max(1, threads);
        this.verifySha256 = verifySha256;
    }

    record Result(String commit, int files, int skipped, long bytes, long fetchedBytes) {}

    Result run(String repo, String rev, Path outDir, boolean progress) throws Exception {
        String repoPath = StrataClient.repoPath(Names.repo(repo));
        JsonNode tree = client.get(repoPath + "/tree?rev=" + StrataClient.q(rev));
        String commit = tree.path("commit").path("id").asText();
        if (tree.path("commit").path("expired").asBoolean()) {
            throw new dev.strata.core.NotFoundException(repo + "@" + rev + " (" + commit + ") expired: its data was reclaimed");
        }
        long total = 0;
        for (JsonNode f : tree.path("files")) {
            total += f.path("size").asLong();
        }
        Files.createDirectories(outDir);
        Timing timing = new Timing();
        int files = 0, skipped = 0;
        long fetched = 0;
        try (Progress bar = progress ? Progress.start("pulling", total) : Progress.start("", 0);
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            for (JsonNode f : tree.path("files")) {
                String path = Names.path(f.path("path").asText());
                Path dest = outDir.resolve(path).normalize();
                if (!dest.startsWith(outDir.normalize())) {
                    throw new CorruptDataException("path from server", "inside " + outDir, dest.toString());
                }
                long size = f.path("size").asLong();
                ContentHash sha = ContentHash.fromHex(f.path("sha256").asText());
                files++;
                ChunkedFile local = null;
                if (Files.isRegularFile(dest)) {
                    local = FileIndexCache.open(true).chunk(new FileChunker(threads), dest, n -> {});
                    if (local.size() == size && local.sha256().equals(sha)) {
                        skipped++;
                        bar.add(size);
                        continue;
                    }
                }
                Files.createDirectories(dest.getParent());
                fetched += fetchFile(repoPath, commit, path, dest, local, size, sha, pool, bar);
            }
        }
        timing.mark("files");
        timing.report("pull");
        return new Result(commit, files, skipped, total, fetched);
    }

    private long fetchFile(String repoPath, String commit, String path, Path dest, ChunkedFile local, long size,
                           ContentHash sha, ExecutorService pool, Progress bar) throws Exception {
        String filePath = StrataClient.encodePath(path);
        FileManifest m = FileManifest.decode(client.getBytes(repoPath + "/manifest/" + filePath + "?rev=" + commit));
        if (m.size() != size) {
            throw new CorruptDataException("manifest of " + path, size + " bytes", m.size() + " bytes");
        }
        Map<ContentHash, ChunkSpan> have = new HashMap<>();
        if (local != null) {
            local.chunks().forEach(s -> have.putIfAbsent(s.id(), s));
        }
        List<ChunkRef> chunks = m.chunks();
        long[] offsets = new long[chunks.size() + 1];
        for (int i = 0; i < chunks.size(); i++) {
            offsets[i + 1] = offsets[i] + chunks.get(i).length();
        }
        Path tmp = dest.resolveSibling("." + dest.getFileName() + ".strata-partial");
        AtomicLong fetched = new AtomicLong();
        try (FileChannel out = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE, StandardOpenOption.READ);
             WritebackAhead sync = new WritebackAhead(out, tmp)) {
            List<Future<?>> work = new ArrayList<>();
            if (!have.isEmpty()) {
                try (FileChannel src = FileChannel.open(dest, StandardOpenOption.READ)) {
                    for (int i = 0; i < chunks.size(); i++) {
                        ChunkSpan s = have.get(chunks.get(i).id());
                        if (s != null) {
                            ByteBuffer buf = ByteBuffer.allocate(s.length());
                            while (buf.hasRemaining() && src.read(buf, s.offset() + buf.position()) > 0) {
                                // positional read until full
                            }
                            buf.flip();
                            writeFully(out, buf, offsets[i]);
                            bar.add(s.length());
                        }
                    }
                }
            }
            int i = 0;
            while (i < chunks.size()) {
                if (have.containsKey(chunks.get(i).id())) {
                    i++;
                    continue;
                }
                int j = i;
                long runBytes = 0;
                while (j < chunks.size() && j - i < RUN_CHUNKS && runBytes < RUN_BYTES && !have.containsKey(chunks.get(j).id())) {
                    runBytes += chunks.get(j).length();
                    j++;
                }
                int from = i, to = j;
                work.add(pool.submit(() -> {
                    fetched.addAndGet(fetchRun(repoPath, commit, filePath, path, chunks, offsets, from, to, out, bar));
                    sync.written(offsets[from], offsets[to] - offsets[from]);
                    return null;
                }));
                i = j;
            }
            for (Future<?> f : work) {
                f.get();
            }
            if (out.size() != size) {
                out.truncate(size);
            }
            sync.finish();
        } catch (Exception e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        if (verifySha256) {
            ContentHash got = ContentHash.sha256Of(tmp);
            if (!got.equals(sha)) {
                Files.deleteIfExists(tmp);
                throw new CorruptDataException("SHA-256 of " + path, sha.hex(), got.hex());
            }
        }
        Files.move(tmp, dest, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        return fetched.get();
    }

    /**
     * Fetches chunks [from, to) of a file as frames, verifies each against its id, writes it in
     * place. Raw frames (most of a model's bytes) go through one direct buffer per thread, read
     * from the connection, hashed and written without entering the heap ({@link DirectHttp}).
     */
    private long fetchRun(String repoPath, String commit, String filePath, String path, List<ChunkRef> chunks, long[] offsets,
                          int from, int to, FileChannel out, Progress bar) throws IOException {
        long fetched = 0;
        ByteBuffer buf = RAW_BUFFER.get();
        try (ReadableByteChannel in = client.channel(repoPath + "/chunks/" + filePath + "?rev=" + commit + "&from=" + from + "&to=" + to, true)) {
            for (int k = from; k < to; k++) {
                ChunkFrames.Header h = ChunkFrames.readHeader(in);
                ContentHash want = chunks.get(k).id();
                if (h == null || !h.id().equals(want)) {
                    throw new CorruptDataException("chunk " + k + " of " + path, want.hex(), h == null ? "end of stream" : h.id().hex());
                }
                // The end-to-end check the request promised the server (X-Strata-Verify: client).
                ByteBuffer chunk;
                if (h.codec() == Codec.RAW) {
                    buf.clear().limit(h.encodedLength());
                    ChunkFrames.readBody(in, buf);
                    ContentHash got = ContentHash.of(buf.flip().duplicate());
                    if (!got.equals(want)) {
                        throw new CorruptDataException("chunk id", want.hex(), got.hex());
                    }
                    chunk = buf;
                } else {
                    byte[] data = new byte[h.encodedLength()];
                    ChunkFrames.readBody(in, ByteBuffer.wrap(data));
                    chunk = ByteBuffer.wrap(Codecs.verify(want, new EncodedChunk(h.codec(), h.rawLength(), data)));
                }
                int n = chunk.remaining();
                writeFully(out, chunk, offsets[k]);
                fetched += h.encodedLength();
                bar.add(n);
            }
        }
        return fetched;
    }

    /** One raw chunk's buffer per pull thread: direct, so socket reads, hashing and file writes skip the heap. */
    private static final ThreadLocal<ByteBuffer> RAW_BUFFER = ThreadLocal.withInitial(() -> ByteBuffer.allocateDirect(ChunkFrames.MAX_RAW));

    /**
     * Starts an fsync of the file after every {@link #SYNC_BYTES} written, then lets the runs written
     * before it leave the page cache (decision 0008, item 11); {@link #finish} is the real fsync.
     */
    private static final class WritebackAhead implements AutoCloseable {
        private final FileChannel ch;
        private final Path file;
        private final List<EarlySync.Range> written = new ArrayList<>();
        private long unsynced;
        private final EarlySync sync = new EarlySync("strata-pull-sync");

        WritebackAhead(FileChannel ch, Path file) {
            this.ch = ch;
            this.file = file;
        }

        synchronized void written(long offset, long length) {
            written.add(new EarlySync.Range(offset, length));
            unsynced += length;
            if (unsynced >= SYNC_BYTES) {
                sync.startAndRelease(ch, file, List.copyOf(written));
                written.clear();
                unsynced = 0;
            }
        }

        /** The real fsync; then the whole file may leave the cache (releases still queued may find it renamed). */
        void finish() throws IOException {
            ch.force(false);
            PageCache.release(file, 0, ch.size());
        }

        @Override
        public void close() {
            sync.close();
        }
    }

    private static void writeFully(FileChannel ch, ByteBuffer buf, long position) throws IOException {
        long pos = position;
        while (buf.hasRemaining()) {
            pos += ch.write(buf, pos);
        }
    }
}
