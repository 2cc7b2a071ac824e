package dev.strata.service;

import dev.strata.catalog.AccessState;
import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.LineageRelation;
import dev.strata.catalog.NewCommit;
import dev.strata.catalog.Ref;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ChunkRef;
import dev.strata.core.ConflictException;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import dev.strata.core.store.ChunkStore;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;

/**
 * The replica's side of replication (docs/api.md, "Replication"; docs/decisions/0013-replication.md):
 * commits and ref moves a primary sends, applied verbatim so the replica is a faithful copy, and
 * idempotently so the primary may send an entry again after a crash.
 *
 * <p>A commit is accepted only if its id recomputes from what it says (a buggy primary cannot
 * plant a mismatched id) and, unless it arrives expired, only once every manifest its files name
 * is in the catalog with every chunk present in the store (ARCHITECTURE invariant 2); otherwise
 * {@link MissingManifestsException} names what to upload first. Runs under the upload lock, as a
 * push does, so garbage collection cannot remove chunks between the check and the publish.
 */
public final class ReplicaWrites {
    private final Repositories repos;
    private final Catalog catalog;
    private final ChunkStore store;
    private final Uploads uploads;
    private final AccessControl access;
    private volatile Instant accessAppliedAt;

    public ReplicaWrites(Repositories repos, ChunkStore store, Uploads uploads, AccessControl access) {
        this.repos = repos;
        this.catalog = repos.catalog();
        this.store = store;
        this.uploads = uploads;
        this.access = access;
    }

    /** What applying an access state did: grants left out until their commit arrives. */
    public record AccessApplied(int users, int groups, int tokens, int repositories, List<String> deferredGrants) {}

    /**
     * Makes a primary's access state this server's ({@link Catalog#replaceAccessState}: one
     * transaction, names authoritative, this server's own users, groups and tokens kept), then
     * replaces the in-memory snapshot, so a token revoked on the primary fails here from the next
     * request on. {@code state} has been checked field by field ({@link AccessStates#parse}).
     */
    public AccessApplied applyAccess(AccessState state) {
        List<String> deferred = catalog.replaceAccessState(state);
        access.reload();
        accessAppliedAt = Instant.now();
        return new AccessApplied(state.users().size(), state.groups().size(), state.tokens().size(), state.repos().size(), deferred);
    }

    /** When a primary's access state was last applied here (since this server started), or null. */
    public Instant accessAppliedAt() {
        return accessAppliedAt;
    }

    /**
     * A lineage link as the primary knows it: the target by repository name, plus the id of that
     * repository that the commit id covers (the primary's {@link LineageLink#idRepoId}), which is
     * kept with the link so this server can prove the id again when it replicates further.
     */
    public record Link(LineageRelation relation, String repo, String commit, long originRepoId) {
        public Link {
            Objects.requireNonNull(relation, "relation");
            Names.repo(repo);
        }
    }

    /**
     * A commit exactly as the primary stored it. {@code commit.repoId()} is ignored (the
     * replica's repository is used); {@code branch} (null: none) moves from {@code expectedHead}
     * to the commit once it is in.
     */
    public record Commit(CommitRecord commit, List<FileEntry> files, List<Link> lineage, String branch, String expectedHead) {
        public Commit {
            Objects.requireNonNull(commit, "commit");
            files = List.copyOf(files);
            lineage = List.copyOf(lineage);
        }
    }

    /** Files name manifests this server lacks, or whose chunks it lacks: upload them, then send the commit again. HTTP 409. */
    public static final class MissingManifestsException extends ConflictException {
        private final List<ContentHash> missing;

        MissingManifestsException(String commitId, List<ContentHash> missing) {
            super("commit " + commitId + " names " + missing.size() + " manifest(s) this replica lacks or holds incompletely,"
                    + " first " + missing.getFirst() + "; upload them (and their chunks) through an upload session, then retry");
            this.missing = List.copyOf(missing);
        }

        public List<ContentHash> missing() {
            return missing;
        }
    }

    /** What applying did: {@code imported} is false when the commit was already here. */
    public record Applied(boolean imported, boolean refMoved) {}

    /**
     * Imports the commit into {@code repo} unless it is there already, then moves the branch if
     * one is named. Throws {@link InvalidInputException} if the id does not recompute, {@link
     * MissingManifestsException} if data is missing, {@link ConflictException} if the branch is
     * neither at the expected head nor already at the commit (the replica diverged).
     */
    public Applied apply(RepoRecord repo, Commit c) {
        CommitRecord given = c.commit();
        if (given.id() == null || !given.id().matches("[0-9a-f]{40}")) {
            throw new InvalidInputException("commit id must be 40 lowercase hex characters");
        }
        if (c.branch() != null) {
            Names.ref(c.branch());
        }
        uploads.gcLock().readLock().lock();
        try {
            boolean imported = false;
            if (catalog.findCommit(repo.id(), given.id()).isEmpty()) {
                List<FileEntry> files = new ArrayList<>(c.files());
                files.sort(Comparator.comparing(FileEntry::path)); // the order the id was computed in (Uploads: a TreeMap)
                CommitRecord record = new CommitRecord(given.id(), repo.id(), given.parents(), given.author(), given.message(),
                        given.createdAt(), given.step(), given.metrics(), given.metadataJson(), given.expired());
                verifyId(repo, record, files, c.lineage());
                if (!record.expired()) {
                    requireData(record.id(), files);
                }
                List<LineageLink> lineage = new ArrayList<>();
                for (Link l : c.lineage()) {
                    RepoRecord target = catalog.findRepo(l.repo()).orElseThrow(() -> new InvalidInputException(
                            "lineage target repository '" + l.repo() + "' of commit " + record.id() + " is not on this replica; replicate it first"));
                    lineage.add(new LineageLink(repo.id(), record.id(), l.relation(), target.id(), l.commit(), l.originRepoId()));
                }
                imported = catalog.importCommit(new NewCommit(record, files, lineage));
            }
            boolean moved = c.branch() != null && applyRef(repo, c.branch(), RefKind.BRANCH, c.expectedHead(), given.id());
            return new Applied(imported, moved);
        } finally {
            uploads.gcLock().readLock().unlock();
        }
    }

    /**
     * Moves a ref from {@code expected} (null: it must not exist) to {@code next} (null: delete).
     * Idempotent: a ref already in the target state is left alone (returns false). Otherwise a
     * compare-and-set, so a replica whose ref is elsewhere (written to directly) is a conflict.
     */
    public boolean applyRef(RepoRecord repo, String name, RefKind kind, String expected, String next) {
        Names.ref(name);
        Objects.requireNonNull(kind, "kind");
        Optional<Ref> current = catalog.findRef(repo.id(), name);
        if (next == null ? current.isEmpty() : current.isPresent() && current.get().kind() == kind && current.get().commitId().equals(next)) {
            return false;
        }
        catalog.compareAndSetRef(repo.id(), name, kind, expected, next);
        return true;
    }

    private void verifyId(RepoRecord repo, CommitRecord record, List<FileEntry> files, List<Link> links) {
        List<LineageLink> forId = new ArrayList<>();
        for (Link l : links) {
            forId.add(new LineageLink(repo.id(), record.id(), l.relation(), l.originRepoId(), l.commit(), l.originRepoId()));
        }
        String computed = CommitIds.compute(repo.name(), record, files, forId);
        if (!computed.equals(record.id())) {
            throw new InvalidInputException("commit " + record.id() + " does not match its content (it computes to " + computed
                    + "); refusing to store it");
        }
    }

    /** Every manifest present and complete, or MissingManifestsException listing those that are not. */
    private void requireData(String commitId, List<FileEntry> files) {
        Set<ContentHash> checked = new LinkedHashSet<>();
        List<ContentHash> missing = new ArrayList<>();
        for (FileEntry f : files) {
            if (!checked.add(f.manifestId())) {
                continue;
            }
            Optional<byte[]> bytes = catalog.getManifest(f.manifestId());
            if (bytes.isEmpty()) {
                missing.add(f.manifestId());
                continue;
            }
            FileManifest m = FileManifest.decode(bytes.get());
            if (m.size() != f.size()) {
                throw new InvalidInputException("size of '" + f.path() + "' is " + f.size() + " but its manifest covers " + m.size() + " bytes");
            }
            for (ChunkRef ch : m.chunks()) {
                if (!store.exists(ch.id())) {
                    missing.add(f.manifestId());
                    break;
                }
            }
        }
        if (!missing.isEmpty()) {
            throw new MissingManifestsException(commitId, missing);
        }
    }
}
