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
import dev.strata.core.store.EarlySync;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.RepackResult;
import dev.strata.core.store.ScrubOptions;
import dev.strata.core.store.ScrubReport;
import dev.strata.core.store.ScrubRun;
import java.io.IOException;
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
import java.util.LinkedHashMap;
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
 * of k data + m parity shards (docs/format.md, "Erasure-coded shards"; decision 0010). Shard i of a
 * chunk goes to directory {@code (start + i) mod N}, start derived from the chunk id, so no two
 * shards of a stripe share a directory. A read needs any k intact shards: up to m directories may be
 * missing or corrupt.
 *
 * <p>With fewer than k+m directories the store falls back to plain replication: k = 1 and
 * min(m + 1, N) copies (RS with k = 1 is a copy). The geometry is recorded per shard, so a store
 * reopened with other settings still reads what it wrote.
 *
 * <p>A "pack" is a group of stripes, sealed once it holds {@code packBytes} of shard bytes. Each
 * data directory holds one append-only shard pack file per pack, {@code <dir>/shards/<pack>.shp}: a
 * sequence of entries, each a 64-byte checksummed {@link ShardHeader} followed by the shard bytes,
 * so damage to a region of the file only damages the entries it overlaps. The in-memory index maps
 * every chunk to the directory and offset of each of its shards; opening rebuilds it by scanning
 * the files (headers only), re-synchronising on the next valid header after a damaged one and
 * cutting off a torn tail. Flush fsyncs each file written since the last flush once, and the
 * directories of files it created. Repack writes the kept chunks into a new pack, flushes, then
 * deletes the old packs' files (a crash leaves duplicates). Scrub never rewrites bytes in place: a
 * repaired shard is appended to its directory's file of the same pack and the index pointed at it.
 *
 * <p>A put writes every shard; if any directory fails, the put fails with
 * {@link StorageException} and the files are cut back to where they ended (the store never accepts
 * a chunk below its redundancy).
 */
public final class ErasureCodedChunkStore implements ChunkStore {
    public static final int DEFAULT_DATA_SHARDS = 4;
    public static final int DEFAULT_PARITY_SHARDS = 2;
    public static final long DEFAULT_PACK_BYTES = 256L << 20;
    /** Suffix of shard pack files: {@code <dir>/shards/<pack id>.shp}. */
    static final String SHARD_PACK_SUFFIX = ".shp";

    private static final Pattern PACK_NAME = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern SHARD_PACK_NAME = Pattern.compile("([0-9a-f]{32})\\.shp");
    private static final SecureRandom RANDOM = new SecureRandom();
    /** Resynchronisation after a damaged entry reads the file in blocks of this size. */
    private static final int RESYNC_BLOCK = 1 << 20;

    /**
     * Where one shard entry lives, packed in a long (8 bytes a shard in the index): the data directory
     * (index into dirs) in the top 16 bits, the entry's offset in its shard pack file in the low 48;
     * {@link #NOWHERE} when no entry is known.
     */
    private static final long NOWHERE = -1;
    private static final long OFFSET_MASK = (1L << 48) - 1;

    private static long loc(int dir, long offset) {
        if (offset > OFFSET_MASK) {
            throw new StorageException("shard pack file offset " + offset + " beyond 2^48", null);
        }
        return ((long) dir << 48) | offset;
    }

    private static int locDir(long loc) {
        return (int) (loc >>> 48);
    }

    private static long locOffset(long loc) {
        return loc & OFFSET_MASK;
    }

    /** One stripe: geometry and where each shard is. Replaced, never mutated (compared by identity). */
    private record Entry(String pack, Codec codec, int rawLength, int encodedLength, int k, int m, long[] locs) {
        Entry withLocs(long[] l) {
            return new Entry(pack, codec, rawLength, encodedLength, k, m, l);
        }

        int shardLength() {
            return ShardHeader.shardLength(encodedLength, k);
        }
    }

    private static final class Pack {
        long bytes;
        final Set<ContentHash> ids = new HashSet<>();
    }

    /** An open shard pack file being appended to; {@code end} is where the next entry goes. */
    private static final class Writer {
        final String pack;
        final FileChannel ch;
        long end;

        Writer(String pack, FileChannel ch, long end) {
            this.pack = pack;
            this.ch = ch;
            this.end = end;
        }
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
    private final Map<Path, Writer> writers = new HashMap<>();
    private final Set<Path> pendingFiles = new LinkedHashSet<>();
    private final Set<Path> pendingDirs = new LinkedHashSet<>();
    private String current;
    /**
     * Starts the fsyncs of a sealed pack's shard files in the background, so their bytes reach the
     * disks during the push rather than all at the next flush (which still syncs every file itself).
     */
    private final EarlySync earlySync = new EarlySync("strata-shard-sync");
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

    /** The shards of one (chunk, pack) found by the opening scan. */
    private static final class Found {
        final ShardHeader first;
        final long[] locs;

        Found(ShardHeader h) {
            this.first = h;
            this.locs = new long[h.k() + h.m()];
            Arrays.fill(locs, NOWHERE);
        }

        int count() {
            int c = 0;
            for (long l : locs) {
                c += l == NOWHERE ? 0 : 1;
            }
            return c;
        }
    }

    private void scan() {
        Map<String, Map<ContentHash, Found>> found = new LinkedHashMap<>();
        for (int d = 0; d < dirs.size(); d++) {
            Path shards = dirs.get(d).resolve("shards");
            try {
                Files.createDirectories(shards);
                pendingDirs.add(shards); // the first flush makes a fresh layout durable
                pendingDirs.add(dirs.get(d));
            } catch (IOException e) {
                continue; // a dead disk: its shards are missing, the others still serve
            }
            List<Path> files = new ArrayList<>();
            try (DirectoryStream<Path> ps = Files.newDirectoryStream(shards)) {
                for (Path f : ps) {
                    String name = f.getFileName().toString();
                    if (PACK_NAME.matcher(name).matches() && Files.isDirectory(f)) {
                        throw new StorageException("erasure-coded store: " + f + " is a pack in the old one-file-per-shard layout,"
                                + " which this version does not read (shards now live in append-only shard pack files"
                                + " shards/<pack>" + SHARD_PACK_SUFFIX + ", docs/format.md); move the old data away or"
                                + " re-push it into a fresh store", null);
                    }
                    if (SHARD_PACK_NAME.matcher(name).matches() && Files.isRegularFile(f)) {
                        files.add(f);
                    }
                }
            } catch (IOException e) {
                continue; // unreadable directory: treated as missing
            }
            files.sort(null);
            for (Path f : files) {
                String pack = name(f);
                Map<ContentHash, Found> inPack = found.computeIfAbsent(pack, x -> new HashMap<>());
                Pack p = packs.computeIfAbsent(pack, x -> new Pack());
                try {
                    p.bytes += scanFile(f, d, inPack);
                } catch (IOException e) {
                    // unreadable file: its shards are missing
                }
            }
        }
        // A chunk in more than one pack (a repack interrupted after its copies were durable): the
        // copy with the most shards found serves it.
        Map<ContentHash, Integer> best = new HashMap<>();
        found.forEach((pack, inPack) -> inPack.forEach((id, f) -> {
            packs.get(pack).ids.add(id);
            int c = f.count();
            Integer b = best.get(id);
            if (b == null || c > b) {
                best.put(id, c);
                ShardHeader h = f.first;
                index.put(id, new Entry(pack, h.codec(), h.rawLength(), h.encodedLength(), h.k(), h.m(), f.locs));
            }
        }));
    }

    private static String name(Path shardPack) {
        String n = shardPack.getFileName().toString();
        return n.substring(0, n.length() - SHARD_PACK_SUFFIX.length());
    }

    /**
     * Indexes the entries of one shard pack file from their headers (shard bytes are checked by
     * reads and scrub). A damaged header is skipped by searching for the next valid one; bytes after
     * the last valid entry (a torn append) are cut off. Returns the file's length afterwards.
     */
    private long scanFile(Path f, int dir, Map<ContentHash, Found> inPack) throws IOException {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            long size = ch.size();
            long pos = 0;
            long validEnd = 0;
            long lastStart = -1;
            while (pos + ShardHeader.LENGTH <= size) {
                ShardHeader h = headerAt(ch, pos, size);
                if (h != null) {
                    add(inPack, h, dir, pos);
                    lastStart = pos;
                    pos += ShardHeader.LENGTH + (long) h.shardLength();
                    validEnd = Math.max(validEnd, pos);
                    continue;
                }
                // The previous entry's length may be what is wrong (a valid header written in the wrong
                // place): search from just after its start, not from here.
                long next = resync(ch, lastStart >= 0 ? lastStart + 1 : pos + 1, size);
                if (next < 0) {
                    break;
                }
                pos = next;
            }
            if (validEnd < size) {
                saveDamaged(ch, f, validEnd, size);
                try (FileChannel w = FileChannel.open(f, StandardOpenOption.WRITE)) {
                    w.truncate(validEnd); // a torn tail: the next append starts on an entry boundary
                    w.force(true);
                    return validEnd;
                } catch (IOException e) {
                    return size; // read-only medium: leave it, appends would fail there anyway
                }
            }
            return size;
        }
    }

    /**
     * Copies the bytes about to be cut off a shard pack file to {@code <dir>/damaged/<file>.<offset>}
     * first, as LocalPackStore does for packs (they may still hold a shard someone wants); best effort.
     */
    private static void saveDamaged(FileChannel ch, Path f, long from, long size) {
        Path damaged = f.getParent().getParent().resolve("damaged");
        try {
            Files.createDirectories(damaged);
            Path out = damaged.resolve(f.getFileName() + "." + from);
            try (FileChannel o = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                    StandardOpenOption.WRITE)) {
                long done = 0;
                while (done < size - from) {
                    done += ch.transferTo(from + done, size - from - done, o);
                }
                o.force(true);
            }
        } catch (IOException | RuntimeException e) {
            // nothing to save it to: the cut goes on, the shard is rebuilt from the others
        }
    }

    private void add(Map<ContentHash, Found> inPack, ShardHeader h, int dir, long offset) {
        Found f = inPack.computeIfAbsent(h.id(), x -> new Found(h));
        ShardHeader g = f.first;
        if (g.k() != h.k() || g.m() != h.m() || g.codec() != h.codec() || g.rawLength() != h.rawLength()
                || g.encodedLength() != h.encodedLength()) {
            return; // describes the chunk differently from its first shard: ignored
        }
        long old = f.locs[h.shardIndex()];
        int home = (start(h.id()) + h.shardIndex()) % dirs.size();
        // the entry in the home directory wins; within one file the later one (a repair) wins
        if (old == NOWHERE || dir == home || (locDir(old) == dir && dir != home)) {
            f.locs[h.shardIndex()] = loc(dir, offset);
        }
    }

    /** The valid header at {@code pos} whose entry fits in the file, or null. */
    private static ShardHeader headerAt(FileChannel ch, long pos, long size) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(ShardHeader.LENGTH);
        readFully(ch, b, pos);
        if (b.hasRemaining()) {
            return null;
        }
        try {
            ShardHeader h = ShardHeader.decode(b.array(), "shard header");
            return pos + ShardHeader.LENGTH + (long) h.shardLength() <= size ? h : null;
        } catch (CorruptDataException e) {
            return null;
        }
    }

    /** The offset of the next valid header at or after {@code from}, or -1. */
    private static long resync(FileChannel ch, long from, long size) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(RESYNC_BLOCK);
        byte[] a = buf.array();
        for (long base = from; base + ShardHeader.LENGTH <= size; base += RESYNC_BLOCK - 3) {
            buf.clear();
            buf.limit((int) Math.min(RESYNC_BLOCK, size - base));
            readFully(ch, buf, base);
            int n = buf.position();
            for (int x = 0; x + 4 <= n; x++) {
                if (a[x] == 'S' && a[x + 1] == 'T' && a[x + 2] == 'R' && a[x + 3] == 'S') {
                    long q = base + x;
                    if (q + ShardHeader.LENGTH > size) {
                        return -1;
                    }
                    if (headerAt(ch, q, size) != null) {
                        return q;
                    }
                }
            }
            if (base + n >= size) {
                break;
            }
        }
        return -1;
    }

    private static void readFully(FileChannel ch, ByteBuffer b, long pos) throws IOException {
        while (b.hasRemaining()) {
            int r = ch.read(b, pos);
            if (r < 0) {
                return;
            }
            pos += r;
        }
    }

    // ---- placement -------------------------------------------------------------------------------

    private int start(ContentHash id) {
        byte[] b = id.toBytes();
        int x = ((b[0] & 0xFF) << 24) | ((b[1] & 0xFF) << 16) | ((b[2] & 0xFF) << 8) | (b[3] & 0xFF);
        return Integer.remainderUnsigned(x, dirs.size());
    }

    private int homeDir(ContentHash id, int shard) {
        return (start(id) + shard) % dirs.size();
    }

    private Path shardPack(int dir, String pack) {
        return dirs.get(dir).resolve("shards").resolve(pack + SHARD_PACK_SUFFIX);
    }

    private ReedSolomon code(int k, int m) {
        return codes.computeIfAbsent(k * 256 + m, x -> new ReedSolomon(k, m));
    }

    /**
     * The writer appending to directory {@code dir}'s file of {@code pack}, opened (and created, with
     * {@code shards/} and the data directory when they are gone) as needed; directories whose entries
     * changed go to {@code newDirs}. A cached channel whose file is gone from its path (a disk
     * replaced or unmounted under a running store) is dropped, never appended to. Holds lock.
     */
    private Writer writer(int dir, String pack, Set<Path> newDirs) throws IOException {
        Path f = shardPack(dir, pack);
        Writer w = writers.get(f);
        if (w != null) {
            if (Files.exists(f)) {
                return w;
            }
            dropWriter(f);
        }
        Path shards = f.getParent();
        if (!Files.isDirectory(shards)) {
            Files.createDirectories(shards);
            newDirs.add(shards.getParent());
            if (shards.getParent().getParent() != null) {
                newDirs.add(shards.getParent().getParent());
            }
        }
        boolean existed = Files.exists(f);
        FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        if (!existed) {
            newDirs.add(shards);
        }
        w = new Writer(pack, ch, ch.size());
        writers.put(f, w);
        return w;
    }

    private void dropWriter(Path f) {
        Writer w = writers.remove(f);
        pendingFiles.remove(f);
        if (w != null) {
            try {
                w.ch.close();
            } catch (IOException ignored) {
                // nothing to save: the file is gone or its disk failed
            }
        }
    }

    /** Appends one entry (header + shard bytes) at the writer's end; returns its offset. Holds lock. */
    private static long append(Writer w, byte[] header, byte[] shard) throws IOException {
        ByteBuffer[] bufs = {ByteBuffer.wrap(header), ByteBuffer.wrap(shard)};
        long at = w.end;
        long want = header.length + (long) shard.length;
        long done = 0;
        while (done < want) {
            // positional gathering write: FileChannel has none, so position the channel (writes hold lock)
            w.ch.position(at + done);
            done += w.ch.write(bufs);
        }
        w.end = at + want;
        return at;
    }

    // ---- writes ----------------------------------------------------------------------------------

    @Override
    public boolean put(ContentHash id, EncodedChunk chunk) {
        ensureOpen();
        Codecs.requireStorable(id, chunk);
        if (index.containsKey(id)) {
            return false;
        }
        Stripe stripe = encode(id, chunk); // Reed-Solomon and CRC32C outside the lock: puts encode in parallel
        synchronized (lock) {
            ensureOpen();
            if (index.containsKey(id)) {
                return false;
            }
            write(id, chunk, stripe);
            return true;
        }
    }

    /** A chunk's k + m shards with their headers, ready to append. */
    private record Stripe(int k, int m, int shardLength, byte[][] headers, byte[][] shards) {}

    private Stripe encode(ContentHash id, EncodedChunk chunk) {
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
        byte[][] headers = new byte[k + m][];
        for (int i = 0; i < k + m; i++) {
            headers[i] = new ShardHeader(k, m, i, chunk.codec(), chunk.rawLength(), enc.length, shardLen, id,
                    ShardHeader.crc(shards[i], 0, shardLen)).encode();
        }
        return new Stripe(k, m, shardLen, headers, shards);
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
    private long write(ContentHash id, EncodedChunk chunk, Stripe stripe) {
        String pack = currentPack();
        int k = stripe.k();
        int m = stripe.m();
        int shardLen = stripe.shardLength();
        byte[][] shards = stripe.shards();
        byte[] enc = chunk.data();

        long[] locs = new long[k + m];
        Map<Path, Long> before = new LinkedHashMap<>();
        long bytes = 0;
        try {
            for (int i = 0; i < k + m; i++) {
                int d = homeDir(id, i);
                Writer w = writer(d, pack, pendingDirs);
                Path f = shardPack(d, pack);
                before.putIfAbsent(f, w.end);
                locs[i] = loc(d, append(w, stripe.headers()[i], shards[i]));
                pendingFiles.add(f);
                bytes += ShardHeader.LENGTH + shardLen;
            }
        } catch (IOException | RuntimeException e) {
            before.forEach(this::cutBack);
            throw new StorageException("writing the shards of chunk " + id + " failed: " + e.getMessage(), e);
        }
        Pack p = packs.get(pack);
        p.bytes += bytes;
        p.ids.add(id);
        index.put(id, new Entry(pack, chunk.codec(), chunk.rawLength(), enc.length, k, m, locs));
        if (p.bytes >= packBytes) {
            current = null; // sealed; its writers are closed by the next flush
            earlySync.start(writers.values().stream().filter(w -> w.pack.equals(pack)).map(w -> w.ch).toList());
        }
        return bytes;
    }

    /** Cuts a file back to where it ended before a failed write; a file that cannot be cut is no longer appended to. Holds lock. */
    private void cutBack(Path f, long end) {
        Writer w = writers.get(f);
        if (w == null) {
            return;
        }
        try {
            w.ch.truncate(end);
            w.end = end;
        } catch (IOException | RuntimeException e) {
            dropWriter(f); // reopened at its end by the next write; the opening scan skips the partial entry
        }
    }

    @Override
    public void flush() {
        synchronized (lock) {
            ensureOpen();
            flushLocked();
        }
    }

    /** One fsync per file written since the last flush, then the directories whose entries changed. Holds lock. */
    private void flushLocked() {
        try {
            for (Path f : new ArrayList<>(pendingFiles)) {
                Writer w = writers.get(f);
                if (w != null) {
                    w.ch.force(false);
                }
                pendingFiles.remove(f);
            }
            for (Path d : new ArrayList<>(pendingDirs)) {
                try {
                    fsyncDirectory(d);
                } catch (NoSuchFileException gone) {
                    // deleted since
                }
                pendingDirs.remove(d);
            }
        } catch (IOException e) {
            throw new StorageException("flushing the erasure-coded store failed: " + e.getMessage(), e);
        }
        // files of sealed packs are complete and synced: no need to keep them open
        for (Map.Entry<Path, Writer> w : new ArrayList<>(writers.entrySet())) {
            if (!w.getValue().pack.equals(current)) {
                dropWriter(w.getKey());
            }
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
                if (attempt < 2 && index.get(id) != e) {
                    continue; // moved by a concurrent repack or repaired by scrub, or deleted: look again
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
        // Data shards first; stop at k intact shards.
        for (int i = 0; i < n && valid < e.k(); i++) {
            ShardCheck c = checkShard(id, e, i);
            if (c.data() != null) {
                shards[i] = c.data();
                present[i] = true;
                valid++;
            } else {
                problems.add(c.problem());
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
        int shardLen = e.shardLength();
        for (int i = 0, off = 0; i < e.k() && off < out.length; i++, off += shardLen) {
            System.arraycopy(shards[i], 0, out, off, Math.min(shardLen, out.length - off));
        }
        return new EncodedChunk(e.codec(), e.rawLength(), out);
    }

    /** One shard checked: its shard bytes when intact, else null and what is wrong; the bytes read. */
    private record ShardCheck(byte[] data, String problem, long bytesRead) {}

    private ShardCheck checkShard(ContentHash id, Entry e, int index) {
        long loc = e.locs()[index];
        if (loc == NOWHERE) {
            return new ShardCheck(null, "shard " + index + " missing (no entry in any shard pack file)", 0);
        }
        Path f = shardPack(locDir(loc), e.pack());
        int shardLen = e.shardLength();
        ByteBuffer buf = ByteBuffer.allocate(ShardHeader.LENGTH + shardLen);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            readFully(ch, buf, locOffset(loc));
        } catch (NoSuchFileException ex) {
            return new ShardCheck(null, "shard " + index + " missing (" + f + " is gone)", 0);
        } catch (IOException ex) {
            return new ShardCheck(null, "shard " + index + " unreadable: " + ex.getMessage(), 0);
        }
        byte[] entry = buf.array();
        long read = buf.position();
        String where = "shard " + index + " at " + f.getFileName() + "@" + locOffset(loc);
        if (buf.hasRemaining()) {
            return new ShardCheck(null, where + " is truncated: " + read + " of " + entry.length + " bytes", read);
        }
        try {
            ShardHeader h = ShardHeader.decode(entry, where);
            if (!h.id().equals(id) || h.shardIndex() != index || h.k() != e.k() || h.m() != e.m()
                    || h.codec() != e.codec() || h.rawLength() != e.rawLength() || h.encodedLength() != e.encodedLength()) {
                return new ShardCheck(null, where + ": header describes another stripe", read);
            }
            if (ShardHeader.crc(entry, ShardHeader.LENGTH, shardLen) != h.shardCrc()) {
                return new ShardCheck(null, where + ": CRC32C mismatch", read);
            }
            return new ShardCheck(Arrays.copyOfRange(entry, ShardHeader.LENGTH, entry.length), null, read);
        } catch (CorruptDataException ex) {
            return new ShardCheck(null, ex.getMessage(), read);
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
                    copied += write(id, chunk, encode(id, chunk));
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
        for (int d = 0; d < dirs.size(); d++) {
            Path f = shardPack(d, pack);
            dropWriter(f);
            try {
                Files.deleteIfExists(f);
            } catch (IOException e) {
                throw new StorageException("deleting pack " + pack + " in " + dirs.get(d) + " failed: " + e.getMessage(), e);
            }
        }
    }

    // ---- scrub and repair ------------------------------------------------------------------------

    /** One pass at a time: two passes repairing the same stripe would race on its entries. */
    private final java.util.concurrent.locks.ReentrantLock scrubLock = new java.util.concurrent.locks.ReentrantLock();
    /** Repaired shards between fsyncs: the shard pack files they were appended to are synced in batches. */
    private static final int REPAIRS_PER_SYNC = 256;

    /** Files holding appended repairs and directories holding new files, not yet fsynced (one scrub pass). */
    private static final class PendingSync {
        final Set<Path> files = new LinkedHashSet<>();
        final Set<Path> dirs = new LinkedHashSet<>();
        int repairs;
    }

    /**
     * Reads every shard of every stripe and checks each as a read does (header, length, CRC32C): every
     * stored byte is covered. A stripe with damaged or missing shards but at least k intact ones is
     * rebuilt, verified against its chunk id, and each bad shard appended afresh to the shard pack
     * file of its pack in the directory placement puts it in (created, with {@code shards/} and the
     * data directory, when gone); the index then points at the new entry, the damaged bytes are left
     * as they are (repack reclaims them). The files are fsynced in batches and before the pass ends.
     * With fewer than k intact shards the chunk is reported unrecoverable and nothing is written.
     * Concurrent puts, reads and repacks go on; a stripe that a repack moved or deleted meanwhile is
     * skipped.
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
                    total += (long) (e.k() + e.m()) * (ShardHeader.LENGTH + e.shardLength());
                }
            }
            // Pack by pack, in file order: the entries of a shard pack file are read front to back.
            todo.sort(Map.Entry.<ContentHash, Entry>comparingByValue(java.util.Comparator.comparing(Entry::pack)
                    .thenComparingLong(ErasureCodedChunkStore::firstOffset)).thenComparing(Map.Entry.comparingByKey()));
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

    private static long firstOffset(Entry e) {
        for (long l : e.locs()) {
            if (l != NOWHERE) {
                return locOffset(l);
            }
        }
        return Long.MAX_VALUE;
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
        int valid = 0;
        long read = 0;
        for (int i = 0; i < n; i++) {
            ShardCheck c = checkShard(id, e, i);
            read += c.bytesRead();
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
            if (closed || index.get(id) != e) {
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
            int shardLen = e.shardLength();
            long[] locs = e.locs().clone();
            for (int i = 0; i < n; i++) {
                if (present[i]) {
                    continue;
                }
                byte[] header = new ShardHeader(e.k(), e.m(), i, e.codec(), e.rawLength(), e.encodedLength(), shardLen, id,
                        ShardHeader.crc(shards[i], 0, shardLen)).encode();
                int d = homeDir(id, i);
                String failed = appendRepair(d, e.pack(), header, shards[i], pending, locs, i);
                if (failed == null) {
                    Pack p = packs.get(e.pack());
                    if (p != null) {
                        p.bytes += header.length + (long) shardLen;
                    }
                    run.damaged(id, e.pack(), i, problem[i], true, dirs.get(d).toString());
                } else {
                    run.damaged(id, e.pack(), i, problem[i] + "; rewriting it failed: " + failed, false, null);
                }
            }
            index.put(id, e.withLocs(locs));
        }
        if (pending.repairs >= REPAIRS_PER_SYNC) {
            syncPending(pending, run);
        }
        return read;
    }

    /**
     * Appends a rebuilt shard to directory {@code d}'s shard pack file of {@code pack} and points
     * {@code locs[i]} at it; the fsync is batched ({@link PendingSync}). Returns null on success,
     * else what failed (the file is cut back). Holds lock.
     */
    private String appendRepair(int d, String pack, byte[] header, byte[] shard, PendingSync pending, long[] locs, int i) {
        Path f = shardPack(d, pack);
        long end = -1;
        try {
            Writer w = writer(d, pack, pending.dirs);
            end = w.end;
            locs[i] = loc(d, append(w, header, shard));
            pending.files.add(f);
            pendingFiles.add(f);
            pending.repairs++;
            return null;
        } catch (IOException | RuntimeException ex) {
            if (end >= 0) {
                cutBack(f, end);
            }
            return ex.toString();
        }
    }

    /** Fsyncs the files holding this pass's repairs and the directories of files it created; a failure is reported as damage left on disk. */
    private void syncPending(PendingSync pending, ScrubRun run) {
        synchronized (lock) {
            for (Path f : pending.files) {
                Writer w = writers.get(f);
                if (w == null) {
                    continue; // synced and closed by a flush since, or deleted with its pack
                }
                try {
                    w.ch.force(false);
                    pendingFiles.remove(f);
                    if (!w.pack.equals(current)) {
                        dropWriter(f);
                    }
                } catch (IOException ex) {
                    run.damaged(null, null, -1, "fsync of " + f + " failed after appending repaired shards to it: " + ex.getMessage(), false, null);
                }
            }
            for (Path d : pending.dirs) {
                try {
                    fsyncDirectory(d);
                } catch (NoSuchFileException gone) {
                    // deleted since
                } catch (IOException ex) {
                    run.damaged(null, null, -1, "fsync of directory " + d + " failed after creating a shard pack file in it: " + ex.getMessage(), false, null);
                }
            }
        }
        pending.files.clear();
        pending.dirs.clear();
        pending.repairs = 0;
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
                earlySync.close();
                for (Path f : new ArrayList<>(writers.keySet())) {
                    dropWriter(f);
                }
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("erasure-coded chunk store is closed");
        }
    }
}
