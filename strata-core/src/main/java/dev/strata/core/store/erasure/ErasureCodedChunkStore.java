package dev.strata.core.store.erasure;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.InvalidInputException;
import dev.strata.core.NotFoundException;
import dev.strata.core.StorageException;
import dev.strata.core.codec.Codecs;
import dev.strata.core.erasure.ReedSolomon;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.RepackResult;
import dev.strata.core.store.ScrubOptions;
import dev.strata.core.store.ScrubReport;
import dev.strata.core.store.ScrubRun;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.Predicate;
import java.util.regex.Pattern;

/**
 * A chunk store spread over N data directories (one per disk): each chunk is one Reed-Solomon stripe
 * of k data + m parity shards, each shard a file with a checksummed header (docs/format.md,
 * "Erasure-coded shards"; decision 0010). Shard i of a chunk lives in directory
 * {@code (start + i) mod N}, start derived from the chunk id, so no two shards of a stripe share a
 * directory. A read needs any k intact shards: up to m directories may be missing or corrupt.
 *
 * <p>With fewer than k+m directories the store falls back to plain replication: k = 1 and
 * min(m + 1, N) copies (RS with k = 1 is a copy). The geometry is recorded per shard, so a store
 * reopened with other settings still reads what it wrote.
 *
 * <p>A "pack" is a group of stripes: a subdirectory {@code shards/<pack id>/} in every data
 * directory, sealed once it holds {@code packBytes} of shard bytes. Repack writes the kept chunks
 * into a new pack, flushes, then deletes the old pack directories (a crash leaves duplicates).
 *
 * <p>A put writes every shard; if any directory fails, the put fails with
 * {@link StorageException} and its shards are removed (the store never accepts a chunk below its
 * redundancy).
 */
public final class ErasureCodedChunkStore implements ChunkStore {
    public static final int DEFAULT_DATA_SHARDS = 4;
    public static final int DEFAULT_PARITY_SHARDS = 2;
    public static final long DEFAULT_PACK_BYTES = 256L << 20;

    private static final Pattern PACK_NAME = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern SHARD_NAME = Pattern.compile("([0-9a-f]{64})\\.([0-9]{1,3})");
    private static final SecureRandom RANDOM = new SecureRandom();

    private record Entry(String pack, Codec codec, int rawLength, int encodedLength, int k, int m) {}

    private static final class Pack {
        long bytes;
        final Set<ContentHash> ids = new HashSet<>();
    }

    private final List<Path> dirs;
    private final int k;
    private final int m;
    private final long packBytes;
    private final Map<ContentHash, Entry> index = new ConcurrentHashMap<>();
    private final Map<Integer, ReedSolomon> codes = new ConcurrentHashMap<>();
    private final Object lock = new Object();
    // guarded by lock
    private final Map<String, Pack> packs = new HashMap<>();
    private final Set<Path> pendingFiles = new LinkedHashSet<>();
    private final Set<Path> pendingDirs = new LinkedHashSet<>();
    private String current;
    private volatile boolean closed;

    private ErasureCodedChunkStore(List<Path> dirs, int k, int m, long packBytes) {
        this.dirs = dirs;
        this.k = k;
        this.m = m;
        this.packBytes = packBytes;
    }

    /** Opens (creating what is missing) a store over {@code dirs} with the default 4+2 code. */
    public static ErasureCodedChunkStore open(List<Path> dirs) {
        return open(dirs, DEFAULT_DATA_SHARDS, DEFAULT_PARITY_SHARDS, DEFAULT_PACK_BYTES);
    }

    /**
     * Opens a store over {@code dirs} writing k data + m parity shards per chunk (replication with
     * min(m + 1, N) copies when there are fewer than k + m directories). Missing directories are
     * created; unreadable ones are skipped (their shards count as missing).
     */
    public static ErasureCodedChunkStore open(List<Path> dirs, int dataShards, int parityShards, long packBytes) {
        if (dirs == null || dirs.isEmpty()) {
            throw new InvalidInputException("an erasure-coded store needs at least one directory");
        }
        if (dataShards < 1 || parityShards < 0 || dataShards + parityShards > 255) {
            throw new InvalidInputException("bad erasure code " + dataShards + "+" + parityShards + ": need k ≥ 1, m ≥ 0, k + m ≤ 255");
        }
        if (packBytes < 1) {
            throw new InvalidInputException("pack size must be positive: " + packBytes);
        }
        List<Path> norm = dirs.stream().map(p -> p.toAbsolutePath().normalize()).toList();
        if (new HashSet<>(norm).size() != norm.size()) {
            throw new InvalidInputException("data directories must be distinct: " + norm);
        }
        int k = dataShards;
        int m = parityShards;
        if (norm.size() < k + m) {
            k = 1;
            m = Math.min(parityShards + 1, norm.size()) - 1;
        }
        ErasureCodedChunkStore s = new ErasureCodedChunkStore(norm, k, m, packBytes);
        s.scan();
        return s;
    }

    /** The code new chunks are written with: {data shards, parity shards}. */
    public int[] geometry() {
        return new int[] {k, m};
    }

    public List<Path> directories() {
        return dirs;
    }

    // ---- opening ---------------------------------------------------------------------------------

    private void scan() {
        for (Path d : dirs) {
            Path shards = d.resolve("shards");
            try {
                Files.createDirectories(shards);
                pendingDirs.add(shards); // the first flush makes a fresh layout durable
                pendingDirs.add(d);
            } catch (IOException e) {
                continue; // a dead disk: its shards are missing, the others still serve
            }
            try (DirectoryStream<Path> ps = Files.newDirectoryStream(shards)) {
                for (Path packDir : ps) {
                    String pack = packDir.getFileName().toString();
                    if (!PACK_NAME.matcher(pack).matches() || !Files.isDirectory(packDir)) {
                        continue;
                    }
                    Pack p = packs.computeIfAbsent(pack, x -> new Pack());
                    scanPack(packDir, pack, p);
                }
            } catch (IOException e) {
                // unreadable directory: treated as missing
            }
        }
    }

    private void scanPack(Path packDir, String pack, Pack p) throws IOException {
        try (DirectoryStream<Path> fs = Files.newDirectoryStream(packDir)) {
            for (Path f : fs) {
                var mt = SHARD_NAME.matcher(f.getFileName().toString());
                if (!mt.matches()) {
                    continue;
                }
                long size;
                byte[] head;
                try (InputStream in = Files.newInputStream(f)) {
                    size = Files.size(f);
                    head = in.readNBytes(ShardHeader.LENGTH);
                } catch (IOException e) {
                    continue;
                }
                p.bytes += size;
                ShardHeader h;
                try {
                    h = ShardHeader.decode(head, "shard " + f);
                } catch (CorruptDataException e) {
                    continue; // another shard of the stripe may still describe it
                }
                if (!h.id().hex().equals(mt.group(1)) || h.shardIndex() != Integer.parseInt(mt.group(2))) {
                    continue;
                }
                p.ids.add(h.id());
                index.putIfAbsent(h.id(), new Entry(pack, h.codec(), h.rawLength(), h.encodedLength(), h.k(), h.m()));
            }
        }
    }

    // ---- placement -------------------------------------------------------------------------------

    private int start(ContentHash id) {
        byte[] b = id.toBytes();
        int x = ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
        return Integer.remainderUnsigned(x, dirs.size());
    }

    private Path shardPath(Path dir, String pack, ContentHash id, int shard) {
        return dir.resolve("shards").resolve(pack).resolve(id.hex() + "." + shard);
    }

    private Path home(ContentHash id, String pack, int shard) {
        return shardPath(dirs.get((start(id) + shard) % dirs.size()), pack, id, shard);
    }

    private ReedSolomon code(int k, int m) {
        return codes.computeIfAbsent(k * 256 + m, x -> new ReedSolomon(k, m));
    }

    // ---- writes ----------------------------------------------------------------------------------

    @Override
    public boolean put(ContentHash id, EncodedChunk chunk) {
        ensureOpen();
        Codecs.requireStorable(id, chunk);
        if (index.containsKey(id)) {
            return false;
        }
        synchronized (lock) {
            ensureOpen();
            if (index.containsKey(id)) {
                return false;
            }
            write(id, chunk);
            return true;
        }
    }

    private String currentPack() {
        if (current == null) {
            byte[] b = new byte[16];
            RANDOM.nextBytes(b);
            current = HexFormat.of().formatHex(b);
            packs.put(current, new Pack());
        }
        return current;
    }

    /** Writes one stripe into the current pack and indexes it; returns the bytes written. Holds lock. */
    private long write(ContentHash id, EncodedChunk chunk) {
        String pack = currentPack();
        ReedSolomon rs = code(k, m);
        byte[] enc = chunk.data();
        int shardLen = ShardHeader.shardLength(enc.length, k);
        byte[][] shards = new byte[k + m][];
        for (int i = 0; i < k; i++) {
            shards[i] = Arrays.copyOfRange(enc, Math.min(enc.length, i * shardLen), Math.min(enc.length, i * shardLen) + shardLen);
        }
        byte[][] parity = new byte[m][shardLen];
        rs.encode(Arrays.copyOf(shards, k), parity);
        System.arraycopy(parity, 0, shards, k, m);

        List<Path> written = new ArrayList<>();
        long bytes = 0;
        try {
            for (int i = 0; i < k + m; i++) {
                Path f = home(id, pack, i);
                Path packDir = f.getParent();
                if (!Files.isDirectory(packDir)) {
                    Files.createDirectories(packDir);
                    pendingDirs.add(packDir.getParent());
                    pendingDirs.add(packDir.getParent().getParent());
                }
                byte[] header = new ShardHeader(k, m, i, chunk.codec(), chunk.rawLength(), enc.length, shardLen, id,
                        ShardHeader.crc(shards[i], 0, shardLen)).encode();
                written.add(f);
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                        StandardOpenOption.WRITE)) {
                    ByteBuffer[] bufs = {ByteBuffer.wrap(header), ByteBuffer.wrap(shards[i])};
                    long want = header.length + (long) shardLen;
                    long done = 0;
                    while (done < want) {
                        done += ch.write(bufs);
                    }
                }
                pendingFiles.add(f);
                pendingDirs.add(packDir);
                bytes += ShardHeader.LENGTH + shardLen;
            }
        } catch (IOException | RuntimeException e) {
            for (Path f : written) {
                pendingFiles.remove(f);
                try {
                    Files.deleteIfExists(f);
                } catch (IOException ignored) {
                    // best effort; a partial stripe is ignored or repaired by readers
                }
            }
            throw new StorageException("writing the shards of chunk " + id + " failed: " + e.getMessage(), e);
        }
        Pack p = packs.get(pack);
        p.bytes += bytes;
        p.ids.add(id);
        index.put(id, new Entry(pack, chunk.codec(), chunk.rawLength(), enc.length, k, m));
        if (p.bytes >= packBytes) {
            current = null; // sealed
        }
        return bytes;
    }

    @Override
    public void flush() {
        synchronized (lock) {
            ensureOpen();
            flushLocked();
        }
    }

    private void flushLocked() {
        try {
            for (Path f : pendingFiles) {
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
                    ch.force(true);
                } catch (NoSuchFileException gone) {
                    // deleted since (deletePack, repack)
                }
            }
            pendingFiles.clear();
            for (Path d : pendingDirs) {
                try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
                    ch.force(true);
                } catch (NoSuchFileException gone) {
                    // deleted since
                }
            }
            pendingDirs.clear();
        } catch (IOException e) {
            throw new StorageException("flushing the erasure-coded store failed: " + e.getMessage(), e);
        }
    }

    // ---- reads -----------------------------------------------------------------------------------

    @Override
    public EncodedChunk getEncoded(ContentHash id) {
        ensureOpen();
        for (int attempt = 0; ; attempt++) {
            Entry e = index.get(id);
            if (e == null) {
                throw new NotFoundException("chunk " + id + " not in store");
            }
            try {
                return readStripe(id, e);
            } catch (CorruptDataException ex) {
                if (attempt == 0 && index.get(id) != e) {
                    continue; // moved by a concurrent repack or deleted: look again
                }
                throw ex;
            }
        }
    }

    private EncodedChunk readStripe(ContentHash id, Entry e) {
        int n = e.k() + e.m();
        byte[][] shards = new byte[n][];
        boolean[] present = new boolean[n];
        int valid = 0;
        List<String> problems = new ArrayList<>();
        // Pass 1: each shard where placement puts it, data shards first; stop at k intact shards.
        for (int i = 0; i < n && valid < e.k(); i++) {
            byte[] s = readShard(home(id, e.pack(), i), id, e, i, problems);
            if (s != null) {
                shards[i] = s;
                present[i] = true;
                valid++;
            }
        }
        // Pass 2: the directory list changed since the write? Look for missing shards everywhere.
        for (int i = 0; i < n && valid < e.k(); i++) {
            if (present[i]) {
                continue;
            }
            Path home = home(id, e.pack(), i);
            for (Path d : dirs) {
                Path f = shardPath(d, e.pack(), id, i);
                if (f.equals(home) || !Files.exists(f)) {
                    continue;
                }
                byte[] s = readShard(f, id, e, i, problems);
                if (s != null) {
                    shards[i] = s;
                    present[i] = true;
                    valid++;
                    break;
                }
            }
        }
        if (valid < e.k()) {
            throw new CorruptDataException("chunk " + id + " in pack " + e.pack() + " (" + e.k() + "+" + e.m() + "): "
                    + String.join("; ", problems), e.k() + " intact shards", valid + " intact");
        }
        boolean dataComplete = true;
        for (int i = 0; i < e.k(); i++) {
            dataComplete &= present[i];
        }
        if (!dataComplete) {
            code(e.k(), e.m()).decode(shards, present);
        }
        return assemble(e, shards);
    }

    /** The stripe's payload from its k data shards. */
    private static EncodedChunk assemble(Entry e, byte[][] shards) {
        byte[] out = new byte[e.encodedLength()];
        int shardLen = ShardHeader.shardLength(e.encodedLength(), e.k());
        for (int i = 0, off = 0; i < e.k() && off < out.length; i++, off += shardLen) {
            System.arraycopy(shards[i], 0, out, off, Math.min(shardLen, out.length - off));
        }
        return new EncodedChunk(e.codec(), e.rawLength(), out);
    }

    /** The shard bytes of an intact shard file, or null (with the reason added to problems). */
    private byte[] readShard(Path f, ContentHash id, Entry e, int index, List<String> problems) {
        ShardCheck c = checkShard(f, id, e, index);
        if (c.data() == null) {
            problems.add(c.problem());
        }
        return c.data();
    }

    /** One shard file checked: its shard bytes when intact, else null and what is wrong; the bytes read. */
    private record ShardCheck(byte[] data, String problem, long bytesRead) {}

    private ShardCheck checkShard(Path f, ContentHash id, Entry e, int index) {
        byte[] file;
        try {
            file = Files.readAllBytes(f);
        } catch (NoSuchFileException ex) {
            return new ShardCheck(null, "shard " + index + " missing", 0);
        } catch (IOException ex) {
            return new ShardCheck(null, "shard " + index + " unreadable: " + ex.getMessage(), 0);
        }
        try {
            ShardHeader h = ShardHeader.decode(file, "shard " + index);
            int shardLen = ShardHeader.shardLength(e.encodedLength(), e.k());
            if (!h.id().equals(id) || h.shardIndex() != index || h.k() != e.k() || h.m() != e.m()
                    || h.codec() != e.codec() || h.rawLength() != e.rawLength() || h.encodedLength() != e.encodedLength()) {
                return new ShardCheck(null, "shard " + index + " header describes another stripe", file.length);
            }
            if (file.length != ShardHeader.LENGTH + shardLen) {
                return new ShardCheck(null, "shard " + index + " is " + file.length + " bytes, expected " + (ShardHeader.LENGTH + shardLen),
                        file.length);
            }
            int crc = ShardHeader.crc(file, ShardHeader.LENGTH, shardLen);
            if (crc != h.shardCrc()) {
                return new ShardCheck(null, "shard " + index + " CRC32C mismatch", file.length);
            }
            return new ShardCheck(Arrays.copyOfRange(file, ShardHeader.LENGTH, file.length), null, file.length);
        } catch (CorruptDataException ex) {
            return new ShardCheck(null, ex.getMessage(), file.length);
        }
    }

    @Override
    public boolean exists(ContentHash id) {
        return index.containsKey(id);
    }

    @Override
    public ChunkInfo info(ContentHash id) {
        Entry e = index.get(id);
        return e == null ? null : new ChunkInfo(id, e.pack(), e.codec(), e.rawLength(), e.encodedLength());
    }

    @Override
    public List<ChunkInfo> list() {
        List<ChunkInfo> out = new ArrayList<>(index.size());
        index.forEach((id, e) -> out.add(new ChunkInfo(id, e.pack(), e.codec(), e.rawLength(), e.encodedLength())));
        return out;
    }

    @Override
    public List<PackInfo> packs() {
        synchronized (lock) {
            List<PackInfo> out = new ArrayList<>();
            packs.forEach((id, p) -> out.add(new PackInfo(id, p.bytes, p.ids.size(), !id.equals(current))));
            return out;
        }
    }

    // ---- repack and deletion ---------------------------------------------------------------------

    @Override
    public RepackResult repack(Collection<String> packIds, Predicate<ContentHash> keep,
                               BiFunction<ContentHash, EncodedChunk, EncodedChunk> reencode) {
        synchronized (lock) {
            ensureOpen();
            Set<String> old = new LinkedHashSet<>(packIds);
            for (String p : old) {
                requirePack(p);
            }
            if (current != null && old.contains(current)) {
                current = null; // never write the copies into a pack being deleted
            }
            long freed = 0;
            for (String p : old) {
                freed += packs.get(p).bytes;
            }
            long copied = 0;
            long kept = 0;
            long dropped = 0;
            for (Map.Entry<ContentHash, Entry> en : new ArrayList<>(index.entrySet())) {
                if (!old.contains(en.getValue().pack())) {
                    continue;
                }
                ContentHash id = en.getKey();
                if (keep.test(id)) {
                    EncodedChunk chunk = reencode.apply(id, readStripe(id, en.getValue()));
                    copied += write(id, chunk);
                    kept++;
                } else {
                    dropped++;
                }
            }
            flushLocked(); // the copies are durable before the originals go
            index.values().removeIf(e -> old.contains(e.pack()));
            for (String p : old) {
                deletePackFiles(p);
                packs.remove(p);
            }
            return new RepackResult(old.size(), kept, dropped, freed - copied);
        }
    }

    @Override
    public void deletePack(String packId) {
        synchronized (lock) {
            ensureOpen();
            requirePack(packId);
            index.values().removeIf(e -> e.pack().equals(packId));
            deletePackFiles(packId);
            packs.remove(packId);
            if (packId.equals(current)) {
                current = null;
            }
        }
    }

    private void requirePack(String packId) {
        if (packId == null || !packs.containsKey(packId)) {
            throw new NotFoundException("pack " + packId + " not in store");
        }
    }

    private void deletePackFiles(String pack) {
        for (Path d : dirs) {
            Path packDir = d.resolve("shards").resolve(pack);
            if (!Files.isDirectory(packDir)) {
                continue;
            }
            try {
                try (DirectoryStream<Path> fs = Files.newDirectoryStream(packDir)) {
                    for (Path f : fs) {
                        Files.deleteIfExists(f);
                        pendingFiles.remove(f);
                    }
                }
                Files.deleteIfExists(packDir);
                pendingDirs.remove(packDir);
            } catch (IOException e) {
                throw new StorageException("deleting pack " + pack + " in " + d + " failed: " + e.getMessage(), e);
            }
        }
    }

    // ---- scrub and repair ------------------------------------------------------------------------

    /** One pass at a time: two passes repairing the same stripe would race on its files. */
    private final java.util.concurrent.locks.ReentrantLock scrubLock = new java.util.concurrent.locks.ReentrantLock();
    /** Rewritten shards between directory fsyncs: each file is fsynced before its rename, the renames in batches. */
    private static final int RENAMES_PER_DIRECTORY_SYNC = 256;

    /** Directories holding renames not yet fsynced (one scrub pass). */
    private static final class PendingSync {
        final Set<Path> dirs = new LinkedHashSet<>();
        int renames;
    }

    /**
     * Reads every shard of every stripe and checks each as a read does (header, length, CRC32C): every
     * stored byte is covered. A stripe with damaged or missing shards but at least k intact ones is
     * rebuilt, verified against its chunk id, and the bad shards written again where placement puts
     * them (temporary file, fsync, rename, directory fsync), recreating pack directories and the
     * data directory itself when they are gone. With fewer than k intact shards the chunk is reported
     * unrecoverable and nothing is written. Concurrent puts, reads and repacks go on; a stripe that
     * a repack moved or deleted meanwhile is skipped.
     */
    @Override
    public ScrubReport scrub(ScrubOptions options) {
        return scrubWhere(options, -1);
    }

    /**
     * Rebuilds a replaced directory: {@code dir} (one of {@link #directories()}) may be empty or
     * missing altogether; every shard that placement puts there is recreated from the other
     * directories. The stripes touched are verified and repaired as by {@link #scrub}; stripes with
     * no shard in {@code dir} are not read.
     */
    public ScrubReport rebuild(Path dir, ScrubOptions options) {
        int d = dirs.indexOf(dir.toAbsolutePath().normalize());
        if (d < 0) {
            throw new InvalidInputException(dir + " is not one of this store's directories " + dirs);
        }
        Path shards = dirs.get(d).resolve("shards");
        try {
            boolean fresh = !Files.isDirectory(shards);
            Files.createDirectories(shards);
            if (fresh) {
                fsyncDirectory(shards);
                fsyncDirectory(shards.getParent());
                if (shards.getParent().getParent() != null) {
                    fsyncDirectory(shards.getParent().getParent());
                }
            }
        } catch (IOException e) {
            throw new StorageException("cannot recreate " + shards + ": " + e.getMessage(), e);
        }
        return scrubWhere(options, d);
    }

    /** Rebuilds every directory: a scrub as fast as the disks go. */
    public ScrubReport rebuild() {
        return scrub(ScrubOptions.unlimited());
    }

    private ScrubReport scrubWhere(ScrubOptions options, int onlyDir) {
        ensureOpen();
        scrubLock.lock();
        try {
            List<Map.Entry<ContentHash, Entry>> todo = new ArrayList<>();
            long total = 0;
            for (Map.Entry<ContentHash, Entry> en : index.entrySet()) {
                Entry e = en.getValue();
                if (onlyDir < 0 || placesShardIn(en.getKey(), e, onlyDir)) {
                    todo.add(Map.entry(en.getKey(), e));
                    total += (long) (e.k() + e.m()) * (ShardHeader.LENGTH + ShardHeader.shardLength(e.encodedLength(), e.k()));
                }
            }
            // Pack by pack, in id order: the files of a pack directory are read together.
            todo.sort(Map.Entry.<ContentHash, Entry>comparingByValue(java.util.Comparator.comparing(Entry::pack))
                    .thenComparing(Map.Entry.comparingByKey()));
            ScrubRun run = new ScrubRun(options, todo.size(), total);
            PendingSync pending = new PendingSync();
            try {
                for (Map.Entry<ContentHash, Entry> t : todo) {
                    if (closed || !run.keepGoing()) {
                        break;
                    }
                    long read = run.guarded(() -> scrubStripe(t.getKey(), run, pending));
                    run.checked(read);
                }
            } finally {
                syncPending(pending, run);
            }
            return run.finish();
        } finally {
            scrubLock.unlock();
        }
    }

    private boolean placesShardIn(ContentHash id, Entry e, int dir) {
        int n = e.k() + e.m();
        int s = start(id);
        for (int i = 0; i < n; i++) {
            if ((s + i) % dirs.size() == dir) {
                return true;
            }
        }
        return false;
    }

    /** Checks and, where it can, repairs one stripe; returns the bytes read. */
    private long scrubStripe(ContentHash id, ScrubRun run, PendingSync pending) {
        Entry e = index.get(id);
        if (e == null) {
            return 0; // deleted since the pass began
        }
        int n = e.k() + e.m();
        byte[][] shards = new byte[n][];
        boolean[] present = new boolean[n];
        String[] problem = new String[n];
        long[] homeBytes = new long[n];
        int valid = 0;
        long read = 0;
        for (int i = 0; i < n; i++) {
            Path home = home(id, e.pack(), i);
            ShardCheck c = checkShard(home, id, e, i);
            read += c.bytesRead();
            homeBytes[i] = c.bytesRead();
            if (c.data() == null) {
                // Not where placement puts it: the directory list may have changed since the write.
                for (Path d : dirs) {
                    Path f = shardPath(d, e.pack(), id, i);
                    if (f.equals(home) || !Files.exists(f)) {
                        continue;
                    }
                    ShardCheck elsewhere = checkShard(f, id, e, i);
                    read += elsewhere.bytesRead();
                    if (elsewhere.data() != null) {
                        c = elsewhere;
                        break;
                    }
                }
            }
            if (c.data() != null) {
                shards[i] = c.data();
                present[i] = true;
                valid++;
            } else {
                problem[i] = c.problem();
            }
        }
        if (valid == n) {
            // Every stored byte passed its CRC32C. Decoding and hashing every chunk as well made a pass
            // about three times as CPU-hungry (decision 0012); the chunk id is checked by every read,
            // by fsck, and below before anything is rewritten.
            return read;
        }
        List<String> reasons = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            if (!present[i]) {
                reasons.add(problem[i]);
            }
        }
        String unrecoverable = null;
        if (valid < e.k()) {
            unrecoverable = e.k() + " intact shards needed, " + valid + " found: " + String.join("; ", reasons);
        } else {
            code(e.k(), e.m()).decode(shards, present);
            try {
                Codecs.verify(id, assemble(e, shards), dev.strata.core.store.DeltaChains.bases(this));
            } catch (CorruptDataException ex) {
                unrecoverable = "the stripe rebuilt from its " + valid + " intact shards fails its id check (" + ex.getMessage()
                        + "); damaged: " + String.join("; ", reasons);
            }
        }
        synchronized (lock) {
            if (closed || !e.equals(index.get(id))) {
                return read; // moved or deleted by a repack meanwhile: the damage went with the old copy
            }
            run.chunkDamaged();
            if (unrecoverable != null) {
                for (int i = 0; i < n; i++) {
                    if (!present[i]) {
                        run.damaged(id, e.pack(), i, problem[i], false, null);
                    }
                }
                run.unrecoverable(id, e.pack(), unrecoverable);
                return read;
            }
            int shardLen = ShardHeader.shardLength(e.encodedLength(), e.k());
            for (int i = 0; i < n; i++) {
                if (present[i]) {
                    continue;
                }
                byte[] header = new ShardHeader(e.k(), e.m(), i, e.codec(), e.rawLength(), e.encodedLength(), shardLen, id,
                        ShardHeader.crc(shards[i], 0, shardLen)).encode();
                Path target = home(id, e.pack(), i);
                String failed = rewrite(target, header, shards[i], pending);
                if (failed == null) {
                    Pack p = packs.get(e.pack());
                    if (p != null) {
                        p.bytes += header.length + (long) shardLen - homeBytes[i];
                    }
                    run.damaged(id, e.pack(), i, problem[i], true, dirs.get((start(id) + i) % dirs.size()).toString());
                } else {
                    run.damaged(id, e.pack(), i, problem[i] + "; rewriting it failed: " + failed, false, null);
                }
            }
        }
        if (pending.renames >= RENAMES_PER_DIRECTORY_SYNC) {
            syncPending(pending, run);
        }
        return read;
    }

    /**
     * Writes one shard file durably in place of a damaged or missing one: a temporary file beside
     * it, fsynced, then renamed over it; the directory fsync is batched ({@link PendingSync}).
     * Returns null on success, else what failed (the temporary file is removed). Holds lock.
     */
    private String rewrite(Path target, byte[] header, byte[] shard, PendingSync pending) {
        Path packDir = target.getParent();
        Path tmp = packDir.resolve(target.getFileName() + ".scrub.tmp");
        try {
            if (!Files.isDirectory(packDir)) {
                // A replaced disk: the pack directory, shards/ and maybe the data directory are new.
                Files.createDirectories(packDir);
                for (Path p = packDir.getParent(); p != null; p = p.getParent()) {
                    pending.dirs.add(p);
                    if (dirs.contains(p)) {
                        if (p.getParent() != null) {
                            pending.dirs.add(p.getParent());
                        }
                        break;
                    }
                }
            }
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                ByteBuffer[] bufs = {ByteBuffer.wrap(header), ByteBuffer.wrap(shard)};
                long want = header.length + (long) shard.length;
                long done = 0;
                while (done < want) {
                    done += ch.write(bufs);
                }
                ch.force(true);
            }
            Files.move(tmp, target, java.nio.file.StandardCopyOption.ATOMIC_MOVE, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            pending.dirs.add(packDir);
            pending.renames++;
            return null;
        } catch (IOException | RuntimeException ex) {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException ignored) {
                // a stray temporary file is ignored by readers and removed with its pack
            }
            return ex.toString();
        }
    }

    /** Fsyncs the directories holding this pass's renames; a failure is reported as damage left on disk. */
    private void syncPending(PendingSync pending, ScrubRun run) {
        for (Path d : pending.dirs) {
            try {
                fsyncDirectory(d);
            } catch (NoSuchFileException gone) {
                // deleted since (its pack was repacked or deleted)
            } catch (IOException ex) {
                run.damaged(null, null, -1, "fsync of directory " + d + " failed after rewriting shards in it: " + ex.getMessage(), false, null);
            }
        }
        pending.dirs.clear();
        pending.renames = 0;
    }

    private static void fsyncDirectory(Path d) throws IOException {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    // ---- lifecycle -------------------------------------------------------------------------------

    @Override
    public void close() {
        synchronized (lock) {
            if (closed) {
                return;
            }
            try {
                flushLocked();
            } finally {
                closed = true;
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("erasure-coded chunk store is closed");
        }
    }
}
