package dev.strata.core.store.local;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.NotFoundException;
import dev.strata.core.StorageException;
import dev.strata.core.codec.Codecs;
import dev.strata.core.pack.EntryHeader;
import dev.strata.core.pack.IndexEntry;
import dev.strata.core.pack.PackFooter;
import dev.strata.core.pack.PackFormat;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.EarlySync;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.ReadCheck;
import dev.strata.core.store.RepackResult;
import dev.strata.core.store.ScrubOptions;
import dev.strata.core.store.ScrubReport;
import dev.strata.core.store.ScrubRun;
import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.stream.Stream;

/**
 * A {@link ChunkStore} over one local directory of pack files, {@code <dir>/packs/<xx>/<packid>.pack}
 * where {@code xx} is the pack id's first two hex characters (docs/format.md, "Pack files").
 *
 * <p>Writes: one active pack at a time, appended under a single lock with positional writes, sealed
 * (footer + trailer, fsync) once it reaches {@link Options#targetPackBytes()}. A failed write is cut
 * back to the last good entry, so a full disk costs the failed put and nothing else.
 *
 * <p>Reads take no lock: an in-memory map from chunk id to (pack, offset) and a positional read,
 * checked against the entry header, its CRC32C, and finally the chunk id after decoding.
 *
 * <p>Opening rebuilds the map from sealed packs' footers and by scanning unsealed packs. An unsealed
 * pack with a damaged tail (torn write, garbage, torn footer) is cut back to its last valid entry,
 * the cut bytes copied to {@code <dir>/damaged/} first, and sealed. One clean unsealed pack (the
 * usual state after {@link #close}) becomes the active pack again, so restarts do not leave a trail
 * of small packs.
 */
public final class LocalPackStore implements ChunkStore {

    /** Opens pack files; exists so tests can inject disk faults. Production uses {@link FileChannel#open}. */
    @FunctionalInterface
    public interface ChannelOpener {
        FileChannel open(Path path, Set<? extends OpenOption> options) throws IOException;
    }

    /** Tuning and test hooks; {@link #defaults()} is what {@code strata serve} uses. */
    public record Options(long targetPackBytes, ChannelOpener opener) {
        /** 32 MiB: see docs/decisions/0004-pack-format.md. */
        public static final long DEFAULT_TARGET_PACK_BYTES = 32L << 20;

        public Options {
            if (targetPackBytes < 4096) {
                throw new IllegalArgumentException("target pack size under 4 KiB: " + targetPackBytes);
            }
            if (opener == null) {
                throw new IllegalArgumentException("channel opener missing");
            }
        }

        public static Options defaults() {
            return new Options(DEFAULT_TARGET_PACK_BYTES, FileChannel::open);
        }

        public Options withTargetPackBytes(long bytes) {
            return new Options(bytes, opener);
        }

        public Options withOpener(ChannelOpener o) {
            return new Options(targetPackBytes, o);
        }
    }

    /** Where one chunk lives. */
    private record Location(Pack pack, IndexEntry entry) {}

    private static final Set<OpenOption> CREATE = Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ, StandardOpenOption.WRITE);
    private static final SecureRandom RANDOM = new SecureRandom();

    private final Path dir;
    private final Path packsDir;
    private final Options options;
    private final Map<ContentHash, Location> index = new ConcurrentHashMap<>();
    private final Map<String, Pack> packs = new ConcurrentHashMap<>();
    /** Guards appends, sealing, flush, repack and deletion: everything that changes files. */
    private final ReentrantLock writeLock = new ReentrantLock();
    /** Sealed packs whose bytes are not yet fsynced; {@link #flush} syncs them (guarded by writeLock). */
    private final java.util.Set<Pack> unsynced = new java.util.LinkedHashSet<>();
    private Pack active;
    private List<IndexEntry> activeEntries = new ArrayList<>();
    /**
     * Starts the fsync of each sealed pack in the background, so that its bytes reach the disk
     * while the push goes on rather than all at the next {@link #flush} (which still syncs every
     * unsynced pack itself: an early sync only makes that one cheap, durability never rests on it).
     */
    private final EarlySync earlySync = new EarlySync("strata-pack-sync");
    /** Directories whose entries changed since the last flush and need an fsync. */
    private final Set<Path> dirtyDirs = new LinkedHashSet<>();
    private volatile boolean closed;

    private LocalPackStore(Path dir, Options options) {
        this.dir = dir;
        this.packsDir = dir.resolve("packs");
        this.options = options;
    }

    public static LocalPackStore open(Path dir) {
        return open(dir, Options.defaults());
    }

    /** Opens (creating if needed) the store in {@code dir} and recovers unsealed packs. */
    public static LocalPackStore open(Path dir, Options options) {
        LocalPackStore store = new LocalPackStore(dir, options);
        try {
            if (!Files.isDirectory(store.packsDir)) {
                Files.createDirectories(store.packsDir);
                store.dirtyDirs.add(dir);
            }
            store.load();
        } catch (IOException e) {
            store.closeChannels();
            throw new StorageException("cannot open chunk store in " + dir + ": " + e, e);
        }
        return store;
    }

    // ---- ChunkStore: writes --------------------------------------------------------------------

    @Override
    public boolean put(ContentHash id, EncodedChunk chunk) {
        ensureOpen();
        Codecs.requireStorable(id, chunk);
        if (index.containsKey(id)) {
            return false;
        }
        writeLock.lock();
        try {
            ensureOpen();
            if (index.containsKey(id)) {
                return false;
            }
            append(id, chunk);
            return true;
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void flush() {
        ensureOpen();
        writeLock.lock();
        try {
            flushLocked();
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public RepackResult repack(Collection<String> packIds, Predicate<ContentHash> keep,
                               java.util.function.BiFunction<ContentHash, EncodedChunk, EncodedChunk> reencode) {
        ensureOpen();
        writeLock.lock();
        try {
            Set<Pack> old = new LinkedHashSet<>();
            for (String packId : packIds) {
                old.add(requirePack(packId));
            }
            if (old.contains(active)) {
                retireActive();
            }
            // Phase 1: copy what is kept and lives only in the old packs. Any failure here
            // (corrupt entry, full disk, a throwing predicate) leaves the old packs untouched.
            Set<ContentHash> kept = new HashSet<>();
            Set<ContentHash> dropped = new HashSet<>();
            long copiedBytes = 0;
            for (Pack p : old) {
                for (IndexEntry e : readIndex(p)) {
                    if (kept.contains(e.id()) || dropped.contains(e.id())) {
                        continue;
                    }
                    if (!keep.test(e.id())) {
                        dropped.add(e.id());
                        continue;
                    }
                    kept.add(e.id());
                    Location loc = index.get(e.id());
                    if (loc != null && old.contains(loc.pack())) {
                        EncodedChunk c = reencode.apply(e.id(), readEncoded(e.id(), loc));
                        copiedBytes += append(e.id(), c);
                    }
                }
            }
            // Phase 2: the copies are durable before anything is deleted (format.md, "Repack").
            flushLocked();
            // Phase 3: forget and delete the old packs; a crash from here on leaves duplicates.
            for (ContentHash id : dropped) {
                index.computeIfPresent(id, (k, loc) -> old.contains(loc.pack()) ? null : loc);
            }
            long freed = 0;
            for (Pack p : old) {
                freed += p.size;
                unlink(p);
                release(p);
            }
            return new RepackResult(old.size(), kept.size(), dropped.size(), freed - copiedBytes);
        } finally {
            writeLock.unlock();
        }
    }

    @Override
    public void deletePack(String packId) {
        ensureOpen();
        writeLock.lock();
        try {
            Pack p = requirePack(packId);
            if (p == active) {
                retireActive();
            }
            List<IndexEntry> entries = readIndex(p);
            unlink(p);
            for (IndexEntry e : entries) {
                index.computeIfPresent(e.id(), (k, loc) -> loc.pack() == p ? null : loc);
            }
            release(p);
        } finally {
            writeLock.unlock();
        }
    }

    /** Flushes, then closes every pack without sealing the active one: reopening continues it. */
    @Override
    public void close() {
        writeLock.lock();
        try {
            if (closed) {
                return;
            }
            try {
                flushLocked();
            } finally {
                closed = true;
                earlySync.close();
                closeChannels();
            }
        } finally {
            writeLock.unlock();
        }
    }

    // ---- ChunkStore: reads ---------------------------------------------------------------------

    @Override
    public EncodedChunk getEncoded(ContentHash id) {
        return read(id, loc -> readEncoded(id, loc));
    }

    @Override
    public boolean readRawInto(ContentHash id, ByteBuffer dst, ReadCheck check) {
        return read(id, loc -> {
            IndexEntry e = loc.entry();
            // Small entries stay on the one-read heap path (readEncoded): two reads cost more there.
            if (e.codec() != Codec.RAW || e.encodedLength() <= ONE_READ_MAX || e.encodedLength() > dst.remaining()) {
                return false;
            }
            readRawEntry(id, loc, dst, check);
            return true;
        });
    }

    /** Runs {@code read} on the chunk's location, retrying when its pack's channel was closed under it. */
    private <T> T read(ContentHash id, java.util.function.Function<Location, T> read) {
        ensureOpen();
        for (int attempt = 0; ; attempt++) {
            Location loc = index.get(id);
            if (loc == null) {
                throw new NotFoundException("chunk " + id + " not in store " + dir);
            }
            try {
                return read.apply(loc);
            } catch (StorageException e) {
                // The channel was closed under us: by repack/deletePack (the index now names the
                // chunk's new home, or nothing), or by an interrupted thread (revive and retry).
                if (!(e.getCause() instanceof ClosedChannelException) || attempt >= 3 || Thread.currentThread().isInterrupted()) {
                    reviveIfInUse(loc.pack());
                    throw e;
                }
                ensureOpen();
                reviveIfInUse(loc.pack());
            }
        }
    }

    private void reviveIfInUse(Pack p) {
        if (!closed && packs.get(p.id) == p) {
            try {
                p.revive(options.opener());
            } catch (IOException e) {
                throw new StorageException("cannot reopen " + p.path + ": " + e, e);
            }
        }
    }

    @Override
    public boolean exists(ContentHash id) {
        ensureOpen();
        return index.containsKey(id);
    }

    @Override
    public ChunkInfo info(ContentHash id) {
        ensureOpen();
        Location loc = index.get(id);
        return loc == null ? null : toInfo(loc);
    }

    @Override
    public List<ChunkInfo> list() {
        ensureOpen();
        List<ChunkInfo> out = new ArrayList<>(index.size());
        for (Location loc : index.values()) {
            out.add(toInfo(loc));
        }
        return out;
    }

    @Override
    public List<PackInfo> packs() {
        ensureOpen();
        return packs.values().stream().map(Pack::info).sorted(Comparator.comparing(PackInfo::packId)).toList();
    }

    // ---- ChunkStore: scrub ---------------------------------------------------------------------

    /**
     * Reads every indexed entry back pack by pack in file order and checks it as a read does (entry
     * header, CRC32C) and further: decodes it and checks the chunk id. Also checks each pack's file
     * header and, for sealed packs, footer and trailer (a damaged header makes the next open set the
     * pack aside; a damaged footer is rebuilt by the next open from the entries). A local store
     * keeps one copy, so nothing is repaired: damaged entries are reported unrecoverable, to be
     * restored from elsewhere (a backup, or pushed again). Concurrent reads, puts and repacks go on;
     * entries that a repack moved or deleted meanwhile are skipped.
     */
    @Override
    public ScrubReport scrub(ScrubOptions options) {
        ensureOpen();
        Map<Pack, List<Location>> byPack = new java.util.TreeMap<>(Comparator.comparing((Pack p) -> p.id));
        long total = 0;
        int chunks = 0;
        for (Location loc : index.values()) {
            byPack.computeIfAbsent(loc.pack(), p -> new ArrayList<>()).add(loc);
            total += loc.entry().end() - loc.entry().offset();
            chunks++;
        }
        for (Pack p : packs.values()) {
            byPack.computeIfAbsent(p, x -> new ArrayList<>());
        }
        ScrubRun run = new ScrubRun(options, chunks, total);
        outer:
        for (Map.Entry<Pack, List<Location>> en : byPack.entrySet()) {
            Pack p = en.getKey();
            if (!run.keepGoing()) {
                break;
            }
            run.guarded(() -> {
                checkPackFrame(p, run);
                return null;
            });
            List<Location> locs = en.getValue();
            locs.sort(Comparator.comparingLong(l -> l.entry().offset()));
            for (Location loc : locs) {
                if (closed || !run.keepGoing()) {
                    break outer;
                }
                run.guarded(() -> {
                    scrubEntry(loc, run);
                    return null;
                });
                run.checked(loc.entry().end() - loc.entry().offset());
            }
        }
        return run.finish();
    }

    private void scrubEntry(Location loc, ScrubRun run) {
        ContentHash id = loc.entry().id();
        for (int attempt = 0; ; attempt++) {
            try {
                Codecs.verify(id, readEncoded(id, loc), dev.strata.core.store.DeltaChains.bases(this));
                return;
            } catch (CorruptDataException | StorageException e) {
                if (closed || index.get(id) != loc || packs.get(loc.pack().id) != loc.pack()) {
                    return; // moved or deleted by a repack meanwhile
                }
                if (e instanceof StorageException && e.getCause() instanceof ClosedChannelException && attempt < 2) {
                    reviveIfInUse(loc.pack()); // closed by an interrupted reader, not damage
                    continue;
                }
                String reason = e.getMessage() + " (a local store keeps one copy: restore it from a backup or push it again)";
                run.chunkDamaged();
                run.damaged(id, loc.pack().id, -1, e.getMessage(), false, null);
                run.unrecoverable(id, loc.pack().id, reason);
                return;
            }
        }
    }

    /** The pack's file header and, sealed, its footer and trailer: damage counts as one damaged piece. */
    private void checkPackFrame(Pack p, ScrubRun run) {
        if (closed || packs.get(p.id) != p) {
            return;
        }
        String problem = null;
        try {
            byte[] h = new byte[PackFormat.FILE_HEADER_LENGTH];
            PackScan.readFully(p.channel, ByteBuffer.wrap(h), 0);
            String id;
            try {
                id = PackFormat.decodeFileHeader(h);
            } catch (CorruptDataException e) {
                id = null;
                problem = "pack file header damaged (" + e.getMessage() + "): the next open sets the pack aside in damaged/ and its chunks become unreadable";
            }
            if (id != null && !id.equals(p.id)) {
                problem = "pack file header names pack " + id + ": the next open sets the pack aside in damaged/";
            }
            if (problem == null && p.sealed && PackScan.readFooter(p.channel, p.size) == null) {
                problem = "pack footer or trailer damaged: the next open rebuilds the index from the entries";
            }
        } catch (IOException e) {
            if (packs.get(p.id) != p) {
                return;
            }
            problem = "pack unreadable: " + e;
        }
        if (problem != null && packs.get(p.id) == p) {
            run.damaged(null, p.id, -1, problem, false, null);
        }
    }

    // ---- internals: reading --------------------------------------------------------------------

    /** Entries up to this size are read with their header in one system call. */
    private static final int ONE_READ_MAX = 64 * 1024;

    private EncodedChunk readEncoded(ContentHash id, Location loc) {
        IndexEntry e = loc.entry();
        byte[] header;
        byte[] data;
        if (e.encodedLength() <= ONE_READ_MAX) {
            // Small entries: one read, then a small copy (cheaper than a second system call).
            header = new byte[EntryHeader.LENGTH + e.encodedLength()];
            readAt(id, loc, ByteBuffer.wrap(header));
            data = Arrays.copyOfRange(header, EntryHeader.LENGTH, header.length);
        } else {
            // Large ones: header and data in two reads, the data straight into the array handed
            // out: one copy and one 1 MiB allocation less per tensor slice.
            header = new byte[EntryHeader.LENGTH];
            data = new byte[e.encodedLength()];
            readAt(id, loc, ByteBuffer.wrap(header), ByteBuffer.wrap(data));
        }
        EntryHeader h = checkedHeader(id, loc, header);
        h.checkData(data, 0, "chunk " + id + " in " + loc.pack() + " at " + e.offset() + ":");
        return new EncodedChunk(h.codec(), h.rawLength(), data);
    }

    /**
     * A raw entry's data read into {@code dst} (no heap copy), then checked as {@code check} says:
     * by its BLAKE3 id (which covers the same bytes as the entry's CRC-32C, so that is skipped), or
     * by the CRC-32C alone (about a tenth of a hash's cost) for a receiver that checks the id.
     */
    private void readRawEntry(ContentHash id, Location loc, ByteBuffer dst, ReadCheck check) {
        int length = loc.entry().encodedLength();
        byte[] header = new byte[EntryHeader.LENGTH];
        ByteBuffer data = dst.slice(dst.position(), length);
        readAt(id, loc, ByteBuffer.wrap(header), data);
        EntryHeader h = checkedHeader(id, loc, header);
        data.flip();
        if (check == ReadCheck.CHECKSUM) {
            h.checkData(data, "chunk " + id + " in " + loc.pack() + " at " + loc.entry().offset() + ":");
        } else {
            ContentHash actual = ContentHash.of(data);
            if (!actual.equals(id)) {
                throw new CorruptDataException("chunk id", id.hex(), actual.hex());
            }
        }
        dst.position(dst.position() + length);
    }

    /** Fills {@code buffers} back to back from the entry's offset; a short file is corruption. */
    private static void readAt(ContentHash id, Location loc, ByteBuffer... buffers) {
        long at = loc.entry().offset();
        try {
            for (ByteBuffer b : buffers) {
                int n = b.remaining();
                PackScan.readFully(loc.pack().channel, b, at);
                at += n;
            }
        } catch (EOFException ex) {
            throw new CorruptDataException("chunk " + id + " in " + loc.pack(), "entry at " + loc.entry().offset() + " within the file",
                    ex.getMessage());
        } catch (IOException ex) {
            throw new StorageException("cannot read chunk " + id + " from " + loc.pack().path + ": " + ex, ex);
        }
    }

    /** The entry header at the start of {@code buf}, which must say what the index says. */
    private static EntryHeader checkedHeader(ContentHash id, Location loc, byte[] buf) {
        IndexEntry e = loc.entry();
        EntryHeader h = EntryHeader.decode(buf, 0);
        if (!e.matches(h)) {
            throw new CorruptDataException("entry header of chunk " + id + " in " + loc.pack() + " at " + e.offset(),
                    e.toString(), h.toString());
        }
        return h;
    }

    private List<IndexEntry> readIndex(Pack p) {
        try {
            List<IndexEntry> entries = p.sealed ? PackScan.readFooter(p.channel, p.size) : null;
            return entries != null ? entries : PackScan.scan(p.channel, p.size).entries();
        } catch (IOException e) {
            throw new StorageException("cannot read the index of " + p.path + ": " + e, e);
        }
    }

    private static ChunkInfo toInfo(Location loc) {
        IndexEntry e = loc.entry();
        return new ChunkInfo(e.id(), loc.pack().id, e.codec(), e.rawLength(), e.encodedLength());
    }

    // ---- internals: writing (all under writeLock) ----------------------------------------------

    /** Appends one entry to the active pack and indexes it; returns the bytes written. */
    private long append(ContentHash id, EncodedChunk chunk) {
        Pack p = activePack();
        EntryHeader h = EntryHeader.of(id, chunk.codec(), chunk.rawLength(), chunk.data());
        long offset = p.size;
        try {
            PackScan.writeFully(p.channel, ByteBuffer.wrap(h.encode()), offset);
            PackScan.writeFully(p.channel, ByteBuffer.wrap(chunk.data()), offset + EntryHeader.LENGTH);
        } catch (IOException e) {
            cutBack(p, offset);
            throw new StorageException("cannot append chunk " + id + " (" + h.entryLength() + " bytes) to "
                    + p.path + ": " + e + "; the pack was cut back to its last good entry", e);
        }
        IndexEntry entry = IndexEntry.of(h, offset);
        activeEntries.add(entry);
        p.size = entry.end();
        p.entries = activeEntries.size();
        index.put(id, new Location(p, entry));
        return h.entryLength();
    }

    /** The pack to append to: the current one unless it is full, else a fresh one. */
    private Pack activePack() {
        if (active != null && active.size >= options.targetPackBytes()) {
            seal(active, activeEntries);
        }
        if (active == null) {
            active = createPack();
            activeEntries = new ArrayList<>();
        }
        reviveIfInUse(active); // an interrupted writer closes the channel; the next put goes on
        return active;
    }

    private Pack createPack() {
        byte[] raw = new byte[PackFormat.PACK_ID_BYTES];
        RANDOM.nextBytes(raw);
        String id = HexFormat.of().formatHex(raw);
        Path sub = packsDir.resolve(id.substring(0, 2));
        Path path = sub.resolve(id + ".pack");
        FileChannel ch = null;
        try {
            if (!Files.isDirectory(sub)) {
                Files.createDirectories(sub);
                dirtyDirs.add(packsDir);
            }
            ch = options.opener().open(path, CREATE);
            dirtyDirs.add(sub);
            PackScan.writeFully(ch, ByteBuffer.wrap(PackFormat.encodeFileHeader(id)), 0);
        } catch (IOException e) {
            if (ch != null) {
                closeQuietly(ch);
                try {
                    Files.deleteIfExists(path);
                } catch (IOException ignored) {
                    // An empty or headerless file is discarded by the next open.
                }
            }
            throw new StorageException("cannot create a pack file in " + sub + ": " + e, e);
        }
        Pack p = new Pack(id, path, ch, true, PackFormat.FILE_HEADER_LENGTH, 0, false);
        packs.put(id, p);
        return p;
    }

    /**
     * Writes footer and trailer after the last entry; on failure the pack stays active and unsealed.
     * The fsync is left to the next {@link #flush} (one per push, not one per pack): until then a
     * crash can tear the footer, which recovery treats like an unsealed pack.
     */
    private void seal(Pack p, List<IndexEntry> entries) {
        long footerOffset = p.size;
        byte[] footer = new PackFooter(entries).encode();
        byte[] trailer = PackFormat.encodeTrailer(footerOffset);
        try {
            PackScan.writeFully(p.channel, ByteBuffer.wrap(footer), footerOffset);
            PackScan.writeFully(p.channel, ByteBuffer.wrap(trailer), footerOffset + footer.length);
            long end = footerOffset + footer.length + trailer.length;
            if (p.channel.size() > end) {
                p.channel.truncate(end);
            }
            p.size = end;
            p.entries = entries.size();
            p.sealed = true;
            unsynced.add(p);
            earlySync.start(List.of(p.channel));
        } catch (IOException e) {
            cutBack(p, footerOffset);
            throw new StorageException("cannot seal " + p.path + ": " + e + "; the pack stays unsealed", e);
        }
        if (p == active) {
            active = null;
            activeEntries = new ArrayList<>();
        }
    }

    /**
     * Stops appending to the active pack without sealing it, before it is repacked or deleted:
     * sealing writes bytes, and these operations are what an operator runs when the disk is full.
     * The pack stays readable (its entries are found by scanning) until it is deleted.
     */
    private void retireActive() {
        try {
            active.channel.force(false); // flush() only syncs the active pack: sync this one while it still is
        } catch (IOException e) {
            throw new StorageException("cannot sync " + active.path + ": " + e, e);
        }
        active = null;
        activeEntries = new ArrayList<>();
    }

    /** Best effort: drop bytes past the last good entry. If even this fails, the next write overwrites them. */
    private static void cutBack(Pack p, long end) {
        try {
            p.channel.truncate(end);
        } catch (IOException ignored) {
            // Positional writes start at p.size, and recovery cuts at the last valid entry.
        }
    }

    private void flushLocked() {
        try {
            for (Pack p : List.copyOf(unsynced)) {
                if (packs.get(p.id) == p) {
                    p.revive(options.opener());
                    p.channel.force(false);
                }
                unsynced.remove(p);
            }
            if (active != null) {
                active.revive(options.opener());
                active.channel.force(false);
            }
            for (Path d : List.copyOf(dirtyDirs)) {
                fsyncDirectory(d);
                dirtyDirs.remove(d);
            }
        } catch (IOException e) {
            throw new StorageException("cannot flush chunk store " + dir + ": " + e, e);
        }
    }

    /** Deletes the file; open channels keep reading it until {@link #release}. */
    private static void unlink(Pack p) {
        try {
            Files.deleteIfExists(p.path);
            fsyncDirectory(p.path.getParent());
        } catch (IOException e) {
            throw new StorageException("cannot delete " + p.path + ": " + e, e);
        }
    }

    /** Forgets a pack once the index no longer names it; readers still on it retry via the index. */
    private void release(Pack p) {
        packs.remove(p.id);
        closeQuietly(p.channel);
    }

    static void fsyncDirectory(Path d) throws IOException {
        try (FileChannel ch = FileChannel.open(d, StandardOpenOption.READ)) {
            ch.force(true);
        }
    }

    private Pack requirePack(String packId) {
        Pack p = packs.get(packId);
        if (p == null) {
            throw new NotFoundException("pack " + packId + " not in store " + dir);
        }
        return p;
    }

    // ---- internals: opening and recovery -------------------------------------------------------

    private void load() throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(packsDir, 2)) {
            files = s.filter(f -> f.getFileName().toString().endsWith(".pack") && Files.isRegularFile(f)).sorted().toList();
        }
        List<PackRecovery.Recovered> unsealed = new ArrayList<>();
        for (Path f : files) {
            PackRecovery.Recovered r = PackRecovery.open(f, dir.resolve("damaged"), options.opener());
            if (r == null) {
                dirtyDirs.add(f.getParent());
                continue;
            }
            packs.put(r.pack().id, r.pack());
            // Duplicates (a repack interrupted before its deletes) resolve to the first copy seen.
            for (IndexEntry e : r.entries()) {
                index.putIfAbsent(e.id(), new Location(r.pack(), e));
            }
            if (!r.pack().sealed) {
                unsealed.add(r);
            }
        }
        // Resume the largest clean unsealed pack with room left; seal every other unsealed one.
        unsealed.sort(Comparator.comparingLong((PackRecovery.Recovered r) -> r.pack().size).reversed());
        for (PackRecovery.Recovered r : unsealed) {
            if (active == null && !r.repaired() && r.pack().size < options.targetPackBytes() && r.writable()) {
                active = r.pack();
                activeEntries = new ArrayList<>(r.entries());
                continue;
            }
            if (!r.writable()) {
                continue; // a read-only pack stays unsealed and readable; a writable open seals it
            }
            try {
                seal(r.pack(), r.entries());
            } catch (StorageException e) {
                // A read-only or full disk: the pack stays unsealed and readable; the next open retries.
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("chunk store " + dir + " is closed");
        }
    }

    private void closeChannels() {
        for (Pack p : packs.values()) {
            closeQuietly(p.channel);
        }
    }

    private static void closeQuietly(FileChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // Closing a read or an already-flushed channel loses nothing.
        }
    }
}
