package dev.strata.cli;

import dev.strata.core.ContentHash;
import dev.strata.core.chunk.ChunkSpan;
import dev.strata.core.chunk.ChunkedFile;
import dev.strata.core.chunk.FileChunker;
import dev.strata.core.tensor.DType;
import dev.strata.core.tensor.TensorEntry;
import dev.strata.core.tensor.TensorInfo;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import java.util.function.LongConsumer;

/**
 * Remembers how local files were chunked, keyed by path and checked against size, modification
 * time, change time and inode (as git's index, borg's files cache and restic's parent snapshot
 * do), so pushing a file that has not changed since it was last chunked costs no reading or
 * hashing. The server still answers which chunks it lacks, so a stale entry can never make a
 * commit point at missing data; a file modified without changing any of those attributes is the
 * accepted risk, as in those tools ({@code --no-cache} turns the cache off).
 *
 * <p>Location: {@code $STRATA_CACHE_DIR}, else {@code $XDG_CACHE_HOME/strata}, else
 * {@code ~/.cache/strata}; one small file per source file under {@code files/}.
 */
final class FileIndexCache {
    private static final int MAGIC = 0x53544643; // "STFC"
    /** 2: entries end with the tensor table of model files; version-1 entries (no tensors) are misses. */
    private static final int VERSION = 2;
    /** Files modified this recently may still change within the timestamp's granularity: not cached. */
    private static final Duration SETTLE = Duration.ofSeconds(2);

    private final Path dir;
    private int hits;

    private FileIndexCache(Path dir) {
        this.dir = dir;
    }

    static FileIndexCache open(boolean enabled) {
        if (!enabled) {
            return new FileIndexCache(null);
        }
        String env = System.getenv("STRATA_CACHE_DIR");
        String xdg = System.getenv("XDG_CACHE_HOME");
        Path base = env != null ? Path.of(env)
                : xdg != null ? Path.of(xdg, "strata") : Path.of(System.getProperty("user.home"), ".cache", "strata");
        return new FileIndexCache(base.resolve("files"));
    }

    /** The file's chunking from the cache if its attributes are unchanged, else freshly computed (and cached). */
    ChunkedFile chunk(FileChunker chunker, Path file, LongConsumer progress) throws IOException {
        return chunk(chunker, file, progress, spans -> {});
    }

    /** As {@link #chunk(FileChunker, Path, LongConsumer)}, handing chunks to {@code onSegment} as they are known. */
    ChunkedFile chunk(FileChunker chunker, Path file, LongConsumer progress, Consumer<List<ChunkSpan>> onSegment) throws IOException {
        return chunk(chunker, file, progress, onSegment, f -> false);
    }

    /**
     * As {@link #chunk(FileChunker, Path, LongConsumer, Consumer)}; a cached file that {@code known}
     * accepts (the server already has it: the parent commit holds the same size and SHA-256) is not
     * handed to {@code onSegment}, so a push of unchanged files asks the server about none of their chunks.
     */
    ChunkedFile chunk(FileChunker chunker, Path file, LongConsumer progress, Consumer<List<ChunkSpan>> onSegment,
                      java.util.function.Predicate<ChunkedFile> known) throws IOException {
        if (dir == null) {
            return chunker.chunk(file, progress, onSegment);
        }
        Path real = file.toRealPath();
        Stamp before = Stamp.of(real);
        Path entry = dir.resolve(ContentHash.sha256Of(real.toString().getBytes(StandardCharsets.UTF_8)).hex());
        ChunkedFile cached = read(entry, before);
        if (cached != null) {
            hits++;
            if (!known.test(cached)) {
                onSegment.accept(cached.chunks());
            }
            progress.accept(cached.size());
            return cached;
        }
        ChunkedFile fresh = chunker.chunk(file, progress, onSegment);
        Stamp after = Stamp.of(real);
        if (after.equals(before) && after.size() == fresh.size()
                && Instant.ofEpochSecond(0, after.mtimeNanos()).isBefore(Instant.now().minus(SETTLE))) {
            write(entry, after, fresh);
        }
        return fresh;
    }

    /** How many lookups the cache answered (for tests and diagnostics). */
    int hits() {
        return hits;
    }

    private record Stamp(long size, long mtimeNanos, long ctimeNanos, long inode) {
        static Stamp of(Path p) throws IOException {
            Map<String, Object> a = Files.readAttributes(p, "unix:size,lastModifiedTime,ctime,ino");
            return new Stamp((Long) a.get("size"), nanos((FileTime) a.get("lastModifiedTime")), nanos((FileTime) a.get("ctime")),
                    (Long) a.get("ino"));
        }

        private static long nanos(FileTime t) {
            Instant i = t.toInstant();
            return i.getEpochSecond() * 1_000_000_000L + i.getNano();
        }
    }

    private static ChunkedFile read(Path entry, Stamp want) {
        if (!Files.isRegularFile(entry)) {
            return null;
        }
        try (InputStream raw = Files.newInputStream(entry);
             DataInputStream in = new DataInputStream(new java.io.BufferedInputStream(raw, 1 << 16))) {
            if (in.readInt() != MAGIC || in.readInt() != VERSION) {
                return null;
            }
            Stamp got = new Stamp(in.readLong(), in.readLong(), in.readLong(), in.readLong());
            if (!got.equals(want)) {
                return null;
            }
            byte[] sha = new byte[ContentHash.LENGTH];
            in.readFully(sha);
            int n = in.readInt();
            if (n < 0 || n > dev.strata.core.FileManifest.MAX_CHUNKS) {
                return null;
            }
            List<ChunkSpan> spans = new ArrayList<>(n);
            byte[] id = new byte[ContentHash.LENGTH];
            long offset = 0;
            for (int i = 0; i < n; i++) {
                int len = in.readInt();
                in.readFully(id);
                spans.add(new ChunkSpan(offset, len, ContentHash.fromBytes(id)));
                offset += len;
            }
            int t = in.readInt();
            if (t < 0 || t > n) {
                return null;
            }
            List<TensorEntry> tensors = new ArrayList<>(t);
            for (int i = 0; i < t; i++) {
                int nameLen = in.readInt();
                if (nameLen < 0 || nameLen > TensorInfo.MAX_NAME_BYTES) {
                    return null;
                }
                byte[] name = new byte[nameLen];
                in.readFully(name);
                DType dtype = DType.fromCode(in.readUnsignedByte());
                long[] shape = new long[in.readUnsignedByte()];
                if (shape.length > TensorInfo.MAX_RANK) {
                    return null;
                }
                for (int d = 0; d < shape.length; d++) {
                    shape[d] = in.readLong();
                }
                long tensorOffset = in.readLong();
                long length = in.readLong();
                int first = in.readInt();
                int count = in.readInt();
                in.readFully(id);
                tensors.add(new TensorEntry(new String(name, StandardCharsets.UTF_8), dtype, shape, tensorOffset, length, first, count,
                        ContentHash.fromBytes(id)));
            }
            if (in.read() != -1) {
                return null;
            }
            // The constructor checks the tensors against the chunks (offsets, ranges, digests).
            return new ChunkedFile(got.size(), ContentHash.fromBytes(sha), spans, tensors);
        } catch (IOException | RuntimeException e) {
            return null; // a damaged cache entry is a cache miss
        }
    }

    private static void write(Path entry, Stamp stamp, ChunkedFile f) {
        try {
            Files.createDirectories(entry.getParent());
            Path tmp = Files.createTempFile(entry.getParent(), ".entry", ".tmp");
            try (OutputStream raw = Files.newOutputStream(tmp);
                 DataOutputStream out = new DataOutputStream(new java.io.BufferedOutputStream(raw, 1 << 16))) {
                out.writeInt(MAGIC);
                out.writeInt(VERSION);
                out.writeLong(stamp.size());
                out.writeLong(stamp.mtimeNanos());
                out.writeLong(stamp.ctimeNanos());
                out.writeLong(stamp.inode());
                out.write(f.sha256().toBytes());
                out.writeInt(f.chunks().size());
                for (ChunkSpan s : f.chunks()) {
                    out.writeInt(s.length());
                    out.write(s.id().toBytes());
                }
                out.writeInt(f.tensors().size());
                for (TensorEntry t : f.tensors()) {
                    byte[] name = t.name().getBytes(StandardCharsets.UTF_8);
                    out.writeInt(name.length);
                    out.write(name);
                    out.writeByte(t.dtype().code());
                    long[] shape = t.shape();
                    out.writeByte(shape.length);
                    for (long d : shape) {
                        out.writeLong(d);
                    }
                    out.writeLong(t.offset());
                    out.writeLong(t.length());
                    out.writeInt(t.firstChunk());
                    out.writeInt(t.chunkCount());
                    out.write(t.digest().toBytes());
                }
            }
            Files.move(tmp, entry, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException | RuntimeException e) {
            // The cache is an optimisation: failing to write it changes nothing else.
        }
    }
}
