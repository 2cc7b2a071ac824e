package dev.strata.service;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.Ref;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ConflictException;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import dev.strata.core.NotFoundException;
import dev.strata.core.StrataException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

/**
 * Repositories, refs and revision resolution: the read side of the catalog as users name
 * things ({@code owner/name@branch~2}). Every method that names something missing throws
 * {@link NotFoundException} with the name in the message.
 */
public final class Repositories {
    /** Chunk references the decoded-manifest cache may hold in all (about 100 bytes each). */
    static final int MANIFEST_CACHE_CHUNKS = 256 * 1024;
    private final Catalog catalog;
    /**
     * Decoded manifests by id, least recently used first. A pull fetches a large file's chunks in
     * many runs, and each run named the manifest again: read from the catalog, decoded, its tensor
     * table checked (about 1.5 ms of server CPU per run for a 1 GiB model). Manifests are
     * content-addressed and immutable, so a cached one is always right.
     */
    private final java.util.LinkedHashMap<ContentHash, FileManifest> manifests = new java.util.LinkedHashMap<>(64, 0.75f, true);
    private long cachedChunks;

    public Repositories(Catalog catalog) {
        this.catalog = catalog;
    }

    public Catalog catalog() {
        return catalog;
    }

    public RepoRecord create(String name, String description) {
        Names.repo(name);
        if (description != null && description.length() > 4096) {
            throw new InvalidInputException("description longer than 4096 characters");
        }
        return catalog.createRepo(name, description == null ? "" : description);
    }

    public RepoRecord get(String name) {
        Names.repo(name);
        return catalog.findRepo(name).orElseThrow(() -> new NotFoundException("repository '" + name + "' not found"));
    }

    public List<RepoRecord> list() {
        return catalog.listRepos();
    }

    /** Resolves a revision: ref name first, then a unique commit id prefix; then walks {@code ~N}. */
    public CommitRecord resolve(RepoRecord repo, String rev) {
        RevSpec spec = RevSpec.parse(rev);
        String id = catalog.findRef(repo.id(), spec.base()).map(Ref::commitId).orElse(null);
        if (id == null && spec.looksLikeCommitPrefix()) {
            List<CommitRecord> matches = catalog.findCommitsByPrefix(repo.id(), spec.base(), 2);
            if (matches.size() > 1) {
                throw new InvalidInputException("commit prefix '" + spec.base() + "' is ambiguous in " + repo.name() + "; give more characters");
            }
            if (matches.size() == 1) {
                id = matches.get(0).id();
            }
        }
        if (id == null) {
            throw new NotFoundException("revision '" + rev + "' not found in " + repo.name());
        }
        CommitRecord c = commit(repo, id);
        for (int i = 0; i < spec.ancestor(); i++) {
            if (c.parents().isEmpty()) {
                throw new NotFoundException("revision '" + rev + "' not found in " + repo.name() + ": history has only " + i + " ancestors");
            }
            c = commit(repo, c.parents().get(0));
        }
        return c;
    }

    public CommitRecord commit(RepoRecord repo, String id) {
        return catalog.findCommit(repo.id(), id)
                .orElseThrow(() -> new NotFoundException("commit " + id + " not found in " + repo.name()));
    }

    /** A commit whose data can be read; expired commits (reclaimed by retention or GC) are refused. */
    public CommitRecord readable(RepoRecord repo, String rev) {
        CommitRecord c = resolve(repo, rev);
        if (c.expired()) {
            throw new GoneException("commit " + c.id() + " of " + repo.name() + " expired: its data was reclaimed by retention or branch deletion");
        }
        return c;
    }

    public List<FileEntry> tree(RepoRecord repo, CommitRecord c) {
        return catalog.listFiles(repo.id(), c.id());
    }

    public FileEntry file(RepoRecord repo, CommitRecord c, String path) {
        Names.path(path);
        return catalog.findFile(repo.id(), c.id(), path)
                .orElseThrow(() -> new NotFoundException("path '" + path + "' not found in " + repo.name() + "@" + c.id()));
    }

    public FileManifest manifest(FileEntry f) {
        synchronized (manifests) {
            FileManifest m = manifests.get(f.manifestId());
            if (m != null) {
                return m;
            }
        }
        byte[] bytes = catalog.getManifest(f.manifestId())
                .orElseThrow(() -> new StrataException("catalog damaged: manifest " + f.manifestId() + " of '" + f.path() + "' is missing"));
        FileManifest m = FileManifest.decode(bytes);
        int size = m.chunks().size();
        if (size <= MANIFEST_CACHE_CHUNKS / 4) {
            synchronized (manifests) {
                if (manifests.putIfAbsent(f.manifestId(), m) == null) {
                    cachedChunks += size;
                    var it = manifests.values().iterator();
                    while (cachedChunks > MANIFEST_CACHE_CHUNKS && it.hasNext()) {
                        cachedChunks -= it.next().chunks().size();
                        it.remove();
                    }
                }
            }
        }
        return m;
    }

    /** Chunk references held by the decoded-manifest cache (for tests). */
    long cachedManifestChunks() {
        synchronized (manifests) {
            return cachedChunks;
        }
    }

    public List<Ref> refs(RepoRecord repo) {
        return catalog.listRefs(repo.id());
    }

    public Ref createRef(RepoRecord repo, String name, RefKind kind, String fromRev) {
        Names.ref(name);
        if (catalog.findRef(repo.id(), name).isPresent()) {
            throw new ConflictException((kind == RefKind.TAG ? "tag" : "branch") + " '" + name + "' already exists in " + repo.name());
        }
        CommitRecord target = resolve(repo, fromRev);
        catalog.compareAndSetRef(repo.id(), name, kind, null, target.id());
        return new Ref(name, kind, target.id());
    }

    public void deleteRef(RepoRecord repo, String name, String expected) {
        Names.ref(name);
        Ref ref = catalog.findRef(repo.id(), name)
                .orElseThrow(() -> new NotFoundException("branch or tag '" + name + "' not found in " + repo.name()));
        if (expected != null && !ref.commitId().equals(expected)) {
            throw new ConflictException("'" + name + "' moved to " + ref.commitId() + "; refusing to delete it");
        }
        catalog.compareAndSetRef(repo.id(), name, ref.kind(), ref.commitId(), null);
    }

    /** Ancestors of {@code head} (itself included), newest first by time, at most {@code limit}. */
    public List<CommitRecord> history(RepoRecord repo, CommitRecord head, int limit) {
        List<CommitRecord> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        java.util.PriorityQueue<CommitRecord> frontier = new java.util.PriorityQueue<>(
                (a, b) -> b.createdAt().compareTo(a.createdAt()));
        frontier.add(head);
        seen.add(head.id());
        while (!frontier.isEmpty() && out.size() < limit) {
            CommitRecord c = frontier.poll();
            out.add(c);
            for (String p : c.parents()) {
                if (seen.add(p)) {
                    catalog.findCommit(repo.id(), p).ifPresent(frontier::add);
                }
            }
        }
        return out;
    }
}
