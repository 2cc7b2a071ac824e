package dev.strata.service;

import dev.strata.core.Codec;
import dev.strata.core.codec.Codecs;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.RepackResult;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BooleanSupplier;

/**
 * Compresses stored chunks after the fact: pushes to a local server send chunks raw (cheapest for
 * the push), and the compactor rewrites sealed packs that are mostly raw with every chunk that
 * {@link Codecs#compressBest} (zstd-1 or byte planes for float tensors) shrinks by at least 3 %
 * re-encoded, the rest unchanged (docs/decisions/0008, 0009). Chunk ids
 * do not change, so no catalog row does; the new pack is durable before the old one is deleted,
 * so readers never see a half-done state.
 *
 * <p>Background work yields (ARCHITECTURE invariant 7): the automatic run starts only after the
 * server has been idle for a while and stops as soon as a request arrives; {@code strata compact}
 * runs it to the end now. Pushes wait (upload lock) only while one pack is rewritten.
 */
public final class Compactor {
    /** Packs with less than this fraction of raw bytes are left alone. */
    static final double RAW_FRACTION = 0.5;

    private final ChunkStore store;
    private final Uploads uploads;
    /** Packs this compactor wrote or already tried: not tried again in this process. */
    private final Set<String> done = ConcurrentHashMap.newKeySet();

    public Compactor(ChunkStore store, Uploads uploads) {
        this.store = store;
        this.uploads = uploads;
    }

    public record Report(int packsRewritten, long chunksCompressed, long bytesBefore, long bytesAfter) {}

    /** Compacts every eligible pack, pack by pack, until done or {@code keepGoing} says stop. */
    public synchronized Report run(BooleanSupplier keepGoing) {
        Map<String, long[]> perPack = new HashMap<>(); // pack -> {raw bytes, all bytes}
        for (ChunkInfo c : store.list()) {
            long[] t = perPack.computeIfAbsent(c.packId(), k -> new long[2]);
            t[1] += c.encodedLength();
            if (c.codec() == Codec.RAW) {
                t[0] += c.encodedLength();
            }
        }
        int packs = 0;
        long compressed = 0, before = 0, after = 0;
        for (PackInfo p : store.packs()) {
            long[] t = perPack.get(p.packId());
            if (!p.sealed() || t == null || done.contains(p.packId()) || t[0] < RAW_FRACTION * t[1]) {
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
                        done.add(id); // written by this compaction: its raw chunks did not compress
                    }
                }
            } finally {
                uploads.gcLock().writeLock().unlock();
            }
            done.add(p.packId());
            packs++;
            compressed += n[0];
        }
        return new Report(packs, compressed, before, after);
    }

    private Set<String> packIds() {
        Set<String> ids = new java.util.HashSet<>();
        store.packs().forEach(p -> ids.add(p.packId()));
        return ids;
    }
}
