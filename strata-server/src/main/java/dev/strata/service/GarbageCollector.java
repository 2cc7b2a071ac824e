package dev.strata.service;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.Ref;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.PackInfo;
import dev.strata.core.store.RepackResult;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Mark and sweep over the whole store (docs/decisions/0007-gc-and-retention.md). Mark: every commit a ref keeps (tags keep
 * their commit; a branch keeps its whole history, or its last N commits under a retention rule),
 * plus every chunk an open upload session holds. Commits no longer kept are marked expired
 * before any byte goes, so readers get "expired", never a damaged file. Sweep: packs with no live
 * chunk are deleted, packs whose live fraction is under {@link #REWRITE_BELOW} are repacked.
 *
 * <p>Runs with the upload lock held for writing: pushes wait for the duration, pulls do not.
 */
public final class GarbageCollector {
    /** A pack with less than this fraction of live bytes is rewritten. */
    public static final double REWRITE_BELOW = 0.5;

    private final Catalog catalog;
    private final ChunkStore store;
    private final Uploads uploads;
    private final Repositories repos;

    public GarbageCollector(Repositories repos, ChunkStore store, Uploads uploads) {
        this.repos = repos;
        this.catalog = repos.catalog();
        this.store = store;
        this.uploads = uploads;
    }

    public record Report(int commitsExpired, long liveChunks, int packsDeleted, int packsRewritten,
                         long chunksDropped, long bytesFreed) {}

    /** Collects with the default rewrite threshold. */
    public Report run() {
        return run(REWRITE_BELOW);
    }

    /**
     * Collects, rewriting every pack whose live fraction is below {@code rewriteBelow} (1.0: any
     * pack with garbage, a "full" collection that frees every unreachable byte).
     */
    public Report run(double rewriteBelow) {
        if (!(rewriteBelow >= 0 && rewriteBelow <= 1.0)) {
            throw new dev.strata.core.InvalidInputException("rewrite threshold must be within 0..1");
        }
        uploads.gcLock().writeLock().lock();
        try {
            Set<ContentHash> live = new HashSet<>();
            Set<ContentHash> seenManifests = new HashSet<>();
            int expired = 0;
            for (RepoRecord repo : catalog.listRepos()) {
                Set<String> keep = keptCommits(repo);
                List<String> newlyExpired = new ArrayList<>();
                for (CommitRecord c : catalog.listCommits(repo.id())) {
                    if (!keep.contains(c.id())) {
                        if (!c.expired()) {
                            newlyExpired.add(c.id());
                        }
                        continue;
                    }
                    for (FileEntry f : catalog.listFiles(repo.id(), c.id())) {
                        if (seenManifests.add(f.manifestId())) {
                            catalog.getManifest(f.manifestId()).ifPresent(b -> {
                                for (ChunkRef ch : FileManifest.decode(b).chunks()) {
                                    live.add(ch.id());
                                }
                            });
                        }
                    }
                }
                if (!newlyExpired.isEmpty()) {
                    catalog.markExpired(repo.id(), newlyExpired);
                    expired += newlyExpired.size();
                }
            }
            uploads.heldByOpenSessions().forEach(live::add);
            List<ChunkInfo> chunks = store.list();
            keepDeltaBases(chunks, live);

            Map<String, long[]> perPack = new HashMap<>(); // pack -> {liveBytes, totalBytes}
            for (ChunkInfo info : chunks) {
                long[] t = perPack.computeIfAbsent(info.packId(), k -> new long[2]);
                t[1] += info.encodedLength();
                if (live.contains(info.id())) {
                    t[0] += info.encodedLength();
                }
            }
            List<String> rewrite = new ArrayList<>();
            int empty = 0;
            for (PackInfo p : store.packs()) {
                long[] t = perPack.getOrDefault(p.packId(), new long[2]);
                if (t[0] == 0) {
                    empty++;
                    rewrite.add(p.packId());
                } else if (t[0] < rewriteBelow * t[1]) {
                    rewrite.add(p.packId());
                }
            }
            RepackResult r = rewrite.isEmpty() ? new RepackResult(0, 0, 0, 0) : store.repack(rewrite, live::contains);
            return new Report(expired, live.size(), r.packsDeleted(), rewrite.size() - empty, r.chunksDropped(), r.bytesFreed());
        } finally {
            uploads.gcLock().writeLock().unlock();
        }
    }

    /**
     * Adds to {@code live} the base of every live delta chunk, and their bases in turn: a base no
     * commit names any more stays as long as a delta needs it (decision 0016).
     */
    private void keepDeltaBases(List<ChunkInfo> chunks, Set<ContentHash> live) {
        Set<ContentHash> deltas = new HashSet<>();
        for (ChunkInfo c : chunks) {
            if (c.codec() == dev.strata.core.Codec.DELTA) {
                deltas.add(c.id());
            }
        }
        java.util.ArrayDeque<ContentHash> work = new java.util.ArrayDeque<>();
        for (ContentHash id : deltas) {
            if (live.contains(id)) {
                work.add(id);
            }
        }
        while (!work.isEmpty()) {
            dev.strata.core.store.DeltaChains.baseOf(store, work.poll()).ifPresent(base -> {
                if (live.add(base) && deltas.contains(base)) {
                    work.add(base);
                }
            });
        }
    }

    private Set<String> keptCommits(RepoRecord repo) {
        Map<String, Integer> rules = catalog.retentionRules(repo.id());
        Set<String> keep = new HashSet<>();
        for (Ref ref : catalog.listRefs(repo.id())) {
            CommitRecord head = catalog.findCommit(repo.id(), ref.commitId()).orElse(null);
            if (head == null) {
                continue;
            }
            int limit = ref.kind() == RefKind.TAG ? 1 : rules.getOrDefault(ref.name(), Integer.MAX_VALUE);
            for (CommitRecord c : repos.history(repo, head, limit)) {
                keep.add(c.id());
            }
        }
        return keep;
    }
}
