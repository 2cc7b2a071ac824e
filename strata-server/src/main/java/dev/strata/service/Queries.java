package dev.strata.service;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.Ref;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.NotFoundException;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.ChunkStore;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/** Metadata queries (find), comparisons (diff) and storage accounting (stats). Read-only. */
public final class Queries {
    private final Repositories repos;
    private final Catalog catalog;
    private final ChunkStore store;

    public Queries(Repositories repos, ChunkStore store) {
        this.repos = repos;
        this.catalog = repos.catalog();
        this.store = store;
    }

    /**
     * Which commits to return: those on {@code branch} (its history) or in the whole repository,
     * filtered by step and lineage, then the latest, the best by a metric, or all newest first.
     */
    public record FindQuery(String branch, Long step, boolean latest, String bestMetric, boolean minimize,
                            String derivedFromRepo, String derivedFromRev, int limit) {}

    public List<CommitRecord> find(RepoRecord repo, FindQuery q) {
        List<CommitRecord> scope;
        if (q.branch() != null) {
            Ref ref = catalog.findRef(repo.id(), q.branch())
                    .orElseThrow(() -> new NotFoundException("branch '" + q.branch() + "' not found in " + repo.name()));
            scope = repos.history(repo, repos.commit(repo, ref.commitId()), Integer.MAX_VALUE);
        } else {
            scope = catalog.listCommits(repo.id());
        }
        List<CommitRecord> hits = new ArrayList<>();
        Set<String> derived = null;
        if (q.derivedFromRepo() != null) {
            RepoRecord base = repos.get(q.derivedFromRepo());
            String baseCommit = q.derivedFromRev() == null ? null : repos.resolve(base, q.derivedFromRev()).id();
            derived = new HashSet<>();
            for (LineageLink l : catalog.derivedFrom(base.id(), baseCommit)) {
                if (l.repoId() == repo.id()) {
                    derived.add(l.commitId());
                }
            }
        }
        for (CommitRecord c : scope) {
            if (q.step() != null && !q.step().equals(c.step())) {
                continue;
            }
            if (derived != null && !derived.contains(c.id())) {
                continue;
            }
            if (q.bestMetric() != null && !c.metrics().containsKey(q.bestMetric())) {
                continue;
            }
            hits.add(c);
        }
        Comparator<CommitRecord> newestFirst = Comparator.comparing(CommitRecord::createdAt).reversed();
        if (q.bestMetric() != null) {
            Comparator<CommitRecord> byMetric = Comparator.comparingDouble(c -> c.metrics().get(q.bestMetric()));
            hits.sort((q.minimize() ? byMetric : byMetric.reversed()).thenComparing(newestFirst));
            return hits.isEmpty() ? hits : List.of(hits.get(0));
        }
        hits.sort(newestFirst);
        if (q.latest()) {
            return hits.isEmpty() ? hits : List.of(hits.get(0));
        }
        return hits.subList(0, Math.min(hits.size(), q.limit() <= 0 ? 100 : q.limit()));
    }

    /**
     * One changed path: sizes before and after, and how many of the new version's bytes are in chunks
     * the old one lacks; with tensors asked for, the tensor by tensor comparison of a modified model
     * file (null otherwise).
     */
    public record FileDiff(String path, String status, Long oldSize, Long newSize, long newChunkBytes,
                           List<TensorDiff.TensorChange> tensors) {}

    public record Diff(String from, String to, List<FileDiff> files, int added, int removed, int modified, int unchanged, long newChunkBytes) {}

    public Diff diff(RepoRecord repo, CommitRecord from, CommitRecord to) {
        return diff(repo, from, to, false);
    }

    /** As {@link #diff(RepoRecord, CommitRecord, CommitRecord)}; {@code tensors}: compare model files tensor by tensor. */
    public Diff diff(RepoRecord repo, CommitRecord from, CommitRecord to, boolean tensors) {
        Map<String, FileEntry> a = byPath(catalog.listFiles(repo.id(), from.id()));
        Map<String, FileEntry> b = byPath(catalog.listFiles(repo.id(), to.id()));
        TreeSet<String> paths = new TreeSet<>(a.keySet());
        paths.addAll(b.keySet());
        List<FileDiff> out = new ArrayList<>();
        int added = 0, removed = 0, modified = 0, unchanged = 0;
        long newBytes = 0;
        for (String p : paths) {
            FileEntry x = a.get(p), y = b.get(p);
            if (x == null) {
                added++;
                out.add(new FileDiff(p, "added", null, y.size(), y.size(), null));
                newBytes += y.size();
            } else if (y == null) {
                removed++;
                out.add(new FileDiff(p, "removed", x.size(), null, 0, null));
            } else if (x.sha256().equals(y.sha256()) && x.size() == y.size()) {
                unchanged++;
            } else {
                modified++;
                FileManifest mx = repos.manifest(x), my = repos.manifest(y);
                long nb = newChunkBytes(mx.chunks(), my.chunks());
                newBytes += nb;
                List<TensorDiff.TensorChange> t = tensors && !my.tensors().isEmpty() ? TensorDiff.compare(store, mx, my) : null;
                out.add(new FileDiff(p, "modified", x.size(), y.size(), nb, t));
            }
        }
        return new Diff(from.id(), to.id(), out, added, removed, modified, unchanged, newBytes);
    }

    private static long newChunkBytes(List<ChunkRef> old, List<ChunkRef> now) {
        Set<ContentHash> had = new HashSet<>();
        old.forEach(c -> had.add(c.id()));
        long n = 0;
        for (ChunkRef c : now) {
            if (!had.contains(c.id())) {
                n += c.length();
            }
        }
        return n;
    }

    private static Map<String, FileEntry> byPath(List<FileEntry> files) {
        Map<String, FileEntry> m = new HashMap<>();
        files.forEach(f -> m.put(f.path(), f));
        return m;
    }

    /**
     * Storage accounting of a repository over its commits whose data is kept, or of one commit:
     * logical bytes (what full copies of every commit would take), unique bytes after chunk dedup,
     * and bytes stored after compression, by codec. For one commit, {@code newChunks},
     * {@code newBytes} and {@code newStoredBytes} count the chunks its parent does not have (what
     * this commit added); for a repository they are -1.
     */
    public record Stats(String repo, String commit, int commits, int branches, int tags, long files, long logicalBytes,
                        long uniqueChunks, long uniqueBytes, long storedBytes, Map<String, CodecStats> byCodec,
                        long newChunks, long newBytes, long newStoredBytes) {}

    public record CodecStats(long chunks, long rawBytes, long storedBytes) {}

    public Stats stats(RepoRecord repo) {
        List<CommitRecord> commits = catalog.listCommits(repo.id());
        List<CommitRecord> live = commits.stream().filter(c -> !c.expired()).toList();
        Accounting a = account(repo, live);
        List<Ref> refs = catalog.listRefs(repo.id());
        int branches = (int) refs.stream().filter(r -> r.kind() == RefKind.BRANCH).count();
        return new Stats(repo.name(), null, live.size(), branches, refs.size() - branches, a.files, a.logical,
                a.chunks.size(), a.unique, a.stored, a.byCodec(), -1, -1, -1);
    }

    /** Storage accounting of one commit, and what it added to its (first) parent. */
    public Stats stats(RepoRecord repo, CommitRecord commit) {
        Accounting a = account(repo, List.of(commit));
        Set<ContentHash> parentChunks = new HashSet<>();
        if (!commit.parents().isEmpty()) {
            catalog.findCommit(repo.id(), commit.parents().get(0)).filter(p -> !p.expired())
                    .ifPresent(p -> parentChunks.addAll(account(repo, List.of(p)).chunks.keySet()));
        }
        long newChunks = 0, newBytes = 0, newStored = 0;
        for (Map.Entry<ContentHash, Integer> e : a.chunks.entrySet()) {
            if (!parentChunks.contains(e.getKey())) {
                newChunks++;
                newBytes += e.getValue();
                ChunkInfo info = store.info(e.getKey());
                newStored += info == null ? 0 : info.encodedLength();
            }
        }
        return new Stats(repo.name(), commit.id(), 1, 0, 0, a.files, a.logical, a.chunks.size(), a.unique, a.stored,
                a.byCodec(), newChunks, newBytes, newStored);
    }

    private static final class Accounting {
        long logical, files, unique, stored;
        final Map<ContentHash, Integer> chunks = new HashMap<>();
        final Map<String, long[]> codec = new TreeMap<>();

        Map<String, CodecStats> byCodec() {
            Map<String, CodecStats> m = new TreeMap<>();
            codec.forEach((k, t) -> m.put(k, new CodecStats(t[0], t[1], t[2])));
            return m;
        }
    }

    private Accounting account(RepoRecord repo, List<CommitRecord> commits) {
        Accounting a = new Accounting();
        Set<ContentHash> manifests = new HashSet<>();
        for (CommitRecord c : commits) {
            for (FileEntry f : catalog.listFiles(repo.id(), c.id())) {
                a.logical += f.size();
                a.files++;
                manifests.add(f.manifestId());
            }
        }
        for (ContentHash m : manifests) {
            byte[] bytes = catalog.getManifest(m).orElse(null);
            if (bytes != null) {
                for (ChunkRef c : dev.strata.core.FileManifest.decode(bytes).chunks()) {
                    a.chunks.put(c.id(), c.length());
                }
            }
        }
        for (Map.Entry<ContentHash, Integer> e : a.chunks.entrySet()) {
            a.unique += e.getValue();
            ChunkInfo info = store.info(e.getKey());
            if (info != null) {
                a.stored += info.encodedLength();
                long[] t = a.codec.computeIfAbsent(info.codec().name().toLowerCase(java.util.Locale.ROOT), k -> new long[3]);
                t[0]++;
                t[1] += info.rawLength();
                t[2] += info.encodedLength();
            }
        }
        return a;
    }
}
