package dev.strata.service;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.FileManifest;
import dev.strata.core.NotFoundException;
import dev.strata.core.StorageException;
import dev.strata.core.store.ChunkInfo;
import dev.strata.core.store.ChunkStore;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Catalog ↔ chunk store consistency, read-only: every chunk named by a manifest of a commit that
 * is not expired must be in the store and read back verified (decoded, id checked: an erasure-coded
 * store rebuilds it from parity if it must, exactly as a pull would); every manifest such a commit's
 * files name must be in the catalog. Chunks in the store that no such manifest names are orphans
 * (garbage collection reclaims them; chunks held by open upload sessions are not counted).
 *
 * <p>Takes no lock: garbage collection marks commits expired before it deletes their bytes, so a
 * chunk found missing is looked up again at the end and dropped if nothing live names it any more.
 * Orphans are approximate while pushes run.
 */
public final class Fsck {
    /** Problems and orphans listed in full up to this many; the counters go on. */
    public static final int MAX_LISTED = 1000;
    /** References listed per damaged chunk. */
    public static final int MAX_REFERENCES = 10;

    private final Catalog catalog;
    private final ChunkStore store;
    private final Uploads uploads;

    public Fsck(Catalog catalog, ChunkStore store, Uploads uploads) {
        this.catalog = catalog;
        this.store = store;
        this.uploads = uploads;
    }

    /** Where a chunk is used: repository, commit, file path. */
    public record Reference(String repo, String commit, String path) {}

    /** A referenced chunk that is missing or fails verification, and who references it. */
    public record ChunkProblem(ContentHash chunk, String problem, String reason, List<Reference> references) {}

    /** A file whose manifest is missing from the catalog or unreadable. */
    public record ManifestProblem(Reference file, ContentHash manifest, String reason) {}

    public record Report(int repos, long commitsChecked, long commitsExpired, long filesChecked, long chunksReferenced,
                         long chunksVerified, long bytesVerified, long chunksMissing, long chunksCorrupt,
                         List<ChunkProblem> problems, long manifestsBad, List<ManifestProblem> manifestProblems,
                         long orphanChunks, long orphanBytes, List<ContentHash> orphans, long elapsedMillis) {
        /** Nothing live is missing or damaged (orphans are not damage). */
        public boolean clean() {
            return chunksMissing == 0 && chunksCorrupt == 0 && manifestsBad == 0;
        }
    }

    /** The chunks a manifest names; none when it is missing or unreadable (reported in pass 1). */
    private List<ContentHash> chunksOf(ContentHash manifest) {
        try {
            return catalog.getManifest(manifest).map(b -> FileManifest.decode(b).chunks().stream().map(ChunkRef::id).toList())
                    .orElse(List.of());
        } catch (CorruptDataException | dev.strata.core.InvalidInputException e) {
            return List.of();
        }
    }

    public Report run() {
        long started = System.nanoTime();
        Set<ContentHash> held = new HashSet<>();
        uploads.heldByOpenSessions().forEach(held::add);
        List<ChunkInfo> stored = store.list(); // before the walk: a chunk stored later is never an orphan

        // Pass 1: every chunk a live commit's files name.
        Set<ContentHash> referenced = new HashSet<>();
        Map<ContentHash, List<ContentHash>> manifests = new HashMap<>(); // manifest -> its chunks (deduplicated walk)
        List<ManifestProblem> manifestProblems = new ArrayList<>();
        long manifestsBad = 0;
        int repos = 0;
        long commits = 0, expired = 0, files = 0;
        for (RepoRecord repo : catalog.listRepos()) {
            repos++;
            for (CommitRecord c : catalog.listCommits(repo.id())) {
                if (c.expired()) {
                    expired++;
                    continue;
                }
                commits++;
                for (FileEntry f : catalog.listFiles(repo.id(), c.id())) {
                    files++;
                    if (manifests.containsKey(f.manifestId())) {
                        continue;
                    }
                    String bad = null;
                    List<ContentHash> ids = new ArrayList<>();
                    try {
                        byte[] b = catalog.getManifest(f.manifestId()).orElse(null);
                        if (b == null) {
                            bad = "manifest missing from the catalog";
                        } else {
                            for (ChunkRef r : FileManifest.decode(b).chunks()) {
                                ids.add(r.id());
                            }
                        }
                    } catch (CorruptDataException | dev.strata.core.InvalidInputException e) {
                        bad = "manifest unreadable: " + e.getMessage();
                    }
                    if (bad != null) {
                        manifestsBad++;
                        if (manifestProblems.size() < MAX_LISTED) {
                            manifestProblems.add(new ManifestProblem(new Reference(repo.name(), c.id(), f.path()), f.manifestId(), bad));
                        }
                        continue;
                    }
                    manifests.put(f.manifestId(), ids);
                    referenced.addAll(ids);
                }
            }
        }

        // Verify each referenced chunk: present, and its bytes decode to its id.
        Map<ContentHash, String[]> bad = new LinkedHashMap<>(); // id -> {problem, reason}
        long verified = 0, bytes = 0;
        for (ContentHash id : referenced) {
            try {
                byte[] raw = store.get(id);
                verified++;
                bytes += raw.length;
            } catch (NotFoundException e) {
                bad.put(id, new String[] {"missing", "not in the chunk store"});
            } catch (CorruptDataException | StorageException e) {
                bad.put(id, new String[] {"corrupt", e.getMessage()});
            }
        }

        // Pass 2, only when something is bad: who names the bad chunks now (a commit expired meanwhile does not count).
        Map<ContentHash, List<Reference>> refs = new HashMap<>();
        if (!bad.isEmpty()) {
            Map<ContentHash, List<ContentHash>> byManifest = new HashMap<>();
            for (RepoRecord repo : catalog.listRepos()) {
                for (CommitRecord c : catalog.listCommits(repo.id())) {
                    if (c.expired()) {
                        continue;
                    }
                    for (FileEntry f : catalog.listFiles(repo.id(), c.id())) {
                        List<ContentHash> ids = byManifest.computeIfAbsent(f.manifestId(),
                                m -> manifests.containsKey(m) ? manifests.get(m) : chunksOf(m));
                        for (ContentHash id : new HashSet<>(ids)) {
                            if (bad.containsKey(id)) {
                                List<Reference> l = refs.computeIfAbsent(id, x -> new ArrayList<>());
                                if (l.size() < MAX_REFERENCES) {
                                    l.add(new Reference(repo.name(), c.id(), f.path()));
                                }
                            }
                        }
                    }
                }
            }
        }
        List<ChunkProblem> problems = new ArrayList<>();
        long missing = 0, corrupt = 0;
        for (Map.Entry<ContentHash, String[]> e : bad.entrySet()) {
            List<Reference> r = refs.get(e.getKey());
            if (r == null) {
                continue; // collected meanwhile: nothing live names it any more
            }
            if (e.getValue()[0].equals("missing")) {
                missing++;
            } else {
                corrupt++;
            }
            if (problems.size() < MAX_LISTED) {
                problems.add(new ChunkProblem(e.getKey(), e.getValue()[0], e.getValue()[1], r));
            }
        }

        // Orphans: stored before the walk, named by no live manifest, held by no upload.
        uploads.heldByOpenSessions().forEach(held::add);
        long orphanChunks = 0, orphanBytes = 0;
        List<ContentHash> orphans = new ArrayList<>();
        for (ChunkInfo c : stored) {
            if (!referenced.contains(c.id()) && !held.contains(c.id())) {
                orphanChunks++;
                orphanBytes += c.encodedLength();
                if (orphans.size() < MAX_LISTED) {
                    orphans.add(c.id());
                }
            }
        }
        return new Report(repos, commits, expired, files, referenced.size(), verified, bytes, missing, corrupt, problems,
                manifestsBad, manifestProblems, orphanChunks, orphanBytes, orphans, (System.nanoTime() - started) / 1_000_000);
    }
}
