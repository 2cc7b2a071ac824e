package dev.strata.service;

import dev.strata.catalog.Catalog;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.codec.Codecs;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.DeltaChains;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.RepackResult;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * Compresses stored chunks after the fact: pushes to a local server send chunks raw (cheapest for
 * the push), and the compactor rewrites packs, one at a time: chunks of float tensors (known from
 * the manifests' tensor tables, {@link TensorHints}) get the float codec or become deltas against
 * the same slice of the same tensor in the commit's reference version (decision 0016); in packs
 * that are mostly raw, other chunks that {@link Codecs#compressBest} (zstd-1 or byte planes) shrinks
 * by at least 3 % are re-encoded (decisions 0008, 0009). Chunk ids do not change, so no catalog row
 * does; the new pack is durable before the old one is deleted, so readers never see a half-done
 * state. The unsealed pack is included: repacking seals it.
 *
 * <p>Background work yields (ARCHITECTURE invariant 7): the automatic run starts only after the
 * server has been idle for a while and stops as soon as a request arrives; {@code strata compact}
 * runs it to the end now. Pushes wait (upload lock) only while one pack is rewritten.
 */
public final class Compactor {
    /** Packs with less than this fraction of raw bytes are left alone (unless they hold tensor chunks to encode). */
    static final double RAW_FRACTION = 0.5;
    /** Default longest delta chain: reading a chunk decodes at most this many deltas and one keyframe. */
    public static final int DEFAULT_MAX_DELTA_DEPTH = 4;

    private final ChunkStore store;
    private final Uploads uploads;
    private final Catalog catalog;
    private final int maxDeltaDepth;
    /**
     * Packs this compactor wrote or already tried, with their raw bytes at the time: not tried again
     * for the generic codecs until more raw bytes arrive (only the unsealed pack grows).
     */
    private final Map<String, Long> done = new ConcurrentHashMap<>();
    /** Raw bytes of the tensor chunks encoded last: the next commit's deltas need them as bases. */
    private final RawCache recent = new RawCache(RAW_CACHE_BYTES);
    static final long RAW_CACHE_BYTES = 96L << 20;
    /** Tensor chunks already given their float or delta encoding, or found not to gain from one. */
    private final Set<ContentHash> tensorDone = ConcurrentHashMap.newKeySet();
    /** Commits ("repo id/commit id") whose tensor chunks are all done: their manifests are not read again. */
    private final Set<String> settled = ConcurrentHashMap.newKeySet();
    /** Delta chunk → its base, as read from its header (a chunk id's encoding only changes here). */
    private final Map<ContentHash, ContentHash> baseOf = new ConcurrentHashMap<>();

    public Compactor(ChunkStore store, Uploads uploads, Catalog catalog, int maxDeltaDepth) {
        if (maxDeltaDepth < 0 || maxDeltaDepth > DeltaChains.MAX_DEPTH) {
            throw new dev.strata.core.InvalidInputException("delta depth must be within 0.." + DeltaChains.MAX_DEPTH + ", got " + maxDeltaDepth);
        }
        this.store = store;
        this.uploads = uploads;
        this.catalog = catalog;
        this.maxDeltaDepth = maxDeltaDepth;
    }

    public record Report(int packsRewritten, long chunksCompressed, long bytesBefore, long bytesAfter,
                         long tensorChunks, long deltaChunks) {}

    /** Compacts every eligible pack, pack by pack, until done or {@code keepGoing} says stop. */
    public synchronized Report run(BooleanSupplier keepGoing) {
        Map<String, Map<ContentHash, TensorHints.Hint>> byCommit = TensorHints.collect(catalog, settled::contains);
        Map<ContentHash, TensorHints.Hint> hints = TensorHints.merged(byCommit);
        // Chunks some delta depends on: never turned into deltas themselves, so no chain grows
        // past the depth its chunks were written with, and no chain can close into a cycle.
        Set<ContentHash> bases = new HashSet<>();
        Set<ContentHash> stored = new HashSet<>();
        Map<String, long[]> perPack = new HashMap<>(); // pack -> {raw bytes, all bytes, tensor chunks to encode}
        // pack -> the earliest and the latest place of its tensor chunks in their chains
        Map<String, Integer> firstPlace = new HashMap<>();
        Map<String, Integer> lastPlace = new HashMap<>();
        Map<ContentHash, Integer> place = new HashMap<>();
        for (ChunkInfo c : store.list()) {
            if (hints.containsKey(c.id())) {
                int at = placeInChain(c.id(), hints, place);
                firstPlace.merge(c.packId(), at, Math::min);
                lastPlace.merge(c.packId(), at, Math::max);
            }
            long[] t = perPack.computeIfAbsent(c.packId(), k -> new long[3]);
            t[1] += c.encodedLength();
            if (c.codec() == Codec.RAW) {
                t[0] += c.encodedLength();
            }
            stored.add(c.id());
            if (c.codec() == Codec.DELTA) {
                ContentHash b = baseOf.computeIfAbsent(c.id(), id -> DeltaChains.baseOf(store, id).orElse(null));
                if (b != null) {
                    bases.add(b);
                }
            } else if (hints.containsKey(c.id()) && c.codec() != Codec.FLOAT && !tensorDone.contains(c.id())) {
                t[2]++;
            }
        }
        int packs = 0;
        long compressed = 0, before = 0, after = 0;
        long[] tensor = new long[2];
        Set<String> written = new HashSet<>(); // packs this run wrote
        // Bases before the chunks that name them (pack ids are random): a chunk handled before its
        // base would make that base a chain's start and stop it from becoming a delta itself, so
        // where chains restart would depend on when compaction caught the pushes. Among packs that
        // start at the same place, one that also holds later chunks (a commit's last chunks and
        // the next commit's first) goes after those that do not.
        for (PackInfo p : inChainOrder(store.packs(), firstPlace, lastPlace)) {
            long[] t = perPack.get(p.packId());
            // The unsealed pack too: a lone model or the last checkpoint of a series is compacted
            // without waiting for more pushes (repacking it seals it; new chunks go to a new one).
            boolean generic = t != null && t[0] >= RAW_FRACTION * t[1] && done.getOrDefault(p.packId(), -1L) != t[0];
            if (t == null || !(generic || t[2] > 0)) {
                continue;
            }
            if (!keepGoing.getAsBoolean()) {
                break;
            }
            long[] n = new long[1];
            Set<String> beforePacks = packIds();
            uploads.gcLock().writeLock().lock();
            try {
                if (!packIds().contains(p.packId())) {
                    continue; // garbage collection removed or rewrote it meanwhile
                }
                RepackResult r = store.repack(List.of(p.packId()), id -> true, (id, chunk) -> {
                    TensorHints.Hint h = hints.get(id);
                    if (h != null && chunk.codec() != Codec.DELTA && !tensorDone.contains(id)) {
                        EncodedChunk e = encodeTensorChunk(id, chunk, h, bases, tensor);
                        tensorDone.add(id);
                        if (e != chunk) {
                            n[0]++;
                        }
                        return e;
                    }
                    if (chunk.codec() != Codec.RAW) {
                        return chunk;
                    }
                    EncodedChunk z = Codecs.compressBest(chunk.data());
                    if (z.codec() != Codec.RAW) {
                        n[0]++;
                    }
                    return z;
                });
                before += p.bytes();
                after += p.bytes() - r.bytesFreed();
                for (String id : packIds()) {
                    if (!beforePacks.contains(id)) {
                        written.add(id);
                    }
                }
            } finally {
                uploads.gcLock().writeLock().unlock();
            }
            done.put(p.packId(), t[0]);
            packs++;
            compressed += n[0];
        }
        if (!written.isEmpty()) { // written by this run: whatever raw chunks they hold did not compress
            Map<String, Long> raw = new HashMap<>();
            for (ChunkInfo c : store.list()) {
                if (written.contains(c.packId())) {
                    raw.merge(c.packId(), c.codec() == Codec.RAW ? (long) c.encodedLength() : 0L, Long::sum);
                }
            }
            written.forEach(id -> done.put(id, raw.getOrDefault(id, 0L)));
        }
        // A commit is settled once each of its tensor chunks is done (or gone: GC took it).
        byCommit.forEach((commit, h) -> {
            if (h.keySet().stream().allMatch(id -> tensorDone.contains(id) || !stored.contains(id))) {
                settled.add(commit);
            }
        });
        return new Report(packs, compressed, before, after, tensor[0], tensor[1]);
    }

    /**
     * The packs by the earliest place of their tensor chunks in their chains, then by the latest;
     * packs without tensor chunks last; the rest of the order is the given one (by pack id).
     */
    static List<PackInfo> inChainOrder(List<PackInfo> packs, Map<String, Integer> firstPlace, Map<String, Integer> lastPlace) {
        List<PackInfo> ordered = new java.util.ArrayList<>(packs);
        ordered.sort(java.util.Comparator.comparingInt((PackInfo p) -> firstPlace.getOrDefault(p.packId(), Integer.MAX_VALUE))
                .thenComparingInt(p -> lastPlace.getOrDefault(p.packId(), Integer.MAX_VALUE)));
        return ordered;
    }

    /**
     * How many hinted bases lie behind chunk {@code id}: 0 for a chunk whose hint names no base (a
     * first checkpoint, a base model) or a base without a hint, else one more than its base's; a
     * cycle (a tensor that went back to an earlier value) ends the walk. Memoised in {@code place}.
     */
    static int placeInChain(ContentHash id, Map<ContentHash, TensorHints.Hint> hints, Map<ContentHash, Integer> place) {
        List<ContentHash> path = new java.util.ArrayList<>();
        Set<ContentHash> seen = new HashSet<>();
        ContentHash at = id;
        int known = -1; // the place of the node the walk stopped at, -1 for none
        while (true) {
            Integer p = place.get(at);
            if (p != null) {
                known = p;
                break;
            }
            if (!seen.add(at)) {
                break; // a cycle: the repeated chunk counts as a start
            }
            path.add(at);
            TensorHints.Hint h = hints.get(at);
            if (h == null || h.base() == null) {
                break;
            }
            at = h.base();
        }
        // The walk's last chunk follows the known place, or starts a chain; each before it is one further.
        int next = known >= 0 ? known + 1 : 0;
        for (int i = path.size() - 1; i >= 0; i--) {
            place.put(path.get(i), next++);
        }
        return place.get(id);
    }

    /**
     * The smallest of the chunk's current encoding, its float encoding, and a delta against its
     * hint's base (when the base is stored, is no deeper than the depth limit allows, and the chunk
     * is no base itself). A delta comes back only when it beats the float encoding
     * ({@link Codecs#encodeDelta}), so the float encoding is made only when no delta does.
     */
    private EncodedChunk encodeTensorChunk(ContentHash id, EncodedChunk chunk, TensorHints.Hint h, Set<ContentHash> bases,
                                           long[] counts) {
        byte[] raw = Codecs.decode(chunk);
        recent.put(id, raw);
        EncodedChunk best = null;
        if (h.base() != null && maxDeltaDepth > 0 && !bases.contains(id) && store.exists(h.base())) {
            int baseDepth = DeltaChains.depthOf(store, h.base());
            if (baseDepth < maxDeltaDepth) {
                byte[] baseRaw = recent.get(h.base());
                if (baseRaw == null) {
                    baseRaw = store.get(h.base()); // decodes the base's own chain
                }
                java.util.Optional<EncodedChunk> d = Codecs.encodeDelta(raw, h.format(), h.base(), baseRaw, baseDepth);
                if (d.isPresent()) {
                    best = d.get();
                    bases.add(h.base());
                    baseOf.put(id, h.base());
                    counts[1]++;
                }
            }
        }
        if (best == null) {
            best = Codecs.compressFloat(raw, h.format());
        }
        counts[0]++;
        return best.data().length < chunk.data().length ? best : chunk;
    }

    private Set<String> packIds() {
        Set<String> ids = new java.util.HashSet<>();
        store.packs().forEach(p -> ids.add(p.packId()));
        return ids;
    }

    /** A byte-bounded LRU of raw chunk bytes (thread-confined: the compactor runs one pass at a time). */
    static final class RawCache {
        private final long capacity;
        private long bytes;
        private final java.util.LinkedHashMap<ContentHash, byte[]> map = new java.util.LinkedHashMap<>(16, 0.75f, true);

        RawCache(long capacity) {
            this.capacity = capacity;
        }

        synchronized byte[] get(ContentHash id) {
            return map.get(id);
        }

        synchronized void put(ContentHash id, byte[] raw) {
            byte[] old = map.put(id, raw);
            bytes += raw.length - (old == null ? 0 : old.length);
            var it = map.entrySet().iterator();
            while (bytes > capacity && it.hasNext()) {
                bytes -= it.next().getValue().length;
                it.remove();
            }
        }
    }
}
