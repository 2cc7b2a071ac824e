package dev.strata.catalog;

import dev.strata.core.ContentHash;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The metadata catalog SPI: repositories, immutable commits with their file trees, refs moved by
 * compare-and-set, lineage, retention rules and file manifests. Implementations: {@code
 * JdbcCatalog} over the embedded SQLite default and over PostgreSQL; both run {@code
 * CatalogConformanceTest}.
 *
 * <p>Contract:
 * <ul>
 *   <li>Commits are immutable. {@link #publishCommit} inserts a commit, its files, metrics and
 *       lineage and moves the branch in ONE transaction: a commit with many files appears all at
 *       once or not at all; if the branch is not at {@code expectedHead} nothing is written and
 *       {@link dev.strata.core.ConflictException} is thrown.</li>
 *   <li>Ref names are unique per repository across branches and tags.</li>
 *   <li>Absent things are {@link Optional#empty()}, not exceptions; uniqueness clashes and lost
 *       compare-and-sets are {@link dev.strata.core.ConflictException}.</li>
 *   <li>Every published commit and every ref compare-and-set appends an entry to the replication
 *       log in the same transaction ({@link ReplicationCatalog}).</li>
 *   <li>Implementations are thread-safe.</li>
 * </ul>
 */
public interface Catalog extends AccessCatalog, ReplicationCatalog, AutoCloseable {

    // ---- repositories

    /** Creates a repository; ConflictException if the name is taken. */
    RepoRecord createRepo(String name, String description);

    Optional<RepoRecord> findRepo(String name);

    List<RepoRecord> listRepos();

    // ---- manifests (content-addressed chunk lists of files)

    /** Stores an encoded manifest under its id; idempotent. */
    void putManifest(ContentHash id, byte[] encoded);

    Optional<byte[]> getManifest(ContentHash id);

    // ---- commits

    /**
     * Atomically inserts {@code commit} (with files, metrics, lineage) and moves {@code branch}
     * from {@code expectedHead} (null: the branch must not exist yet) to the new commit.
     * Re-publishing an existing commit id only moves the ref.
     */
    void publishCommit(NewCommit commit, String branch, String expectedHead);

    Optional<CommitRecord> findCommit(long repoId, String commitId);

    /** Commits whose id starts with {@code hexPrefix}, at most {@code limit}. */
    List<CommitRecord> findCommitsByPrefix(long repoId, String hexPrefix, int limit);

    /** Every commit of a repository, newest first. */
    List<CommitRecord> listCommits(long repoId);

    /** The tree of a commit, ordered by path. */
    List<FileEntry> listFiles(long repoId, String commitId);

    Optional<FileEntry> findFile(long repoId, String commitId, String path);

    /** Lineage links going out of a commit (this commit derives from ...). */
    List<LineageLink> lineageOf(long repoId, String commitId);

    /** Lineage links pointing at {@code targetRepoId} (and at {@code targetCommitId} unless null). */
    List<LineageLink> derivedFrom(long targetRepoId, String targetCommitId);

    /** Marks commits whose data retention or branch deletion let GC reclaim; reads of them answer "expired". */
    void markExpired(long repoId, Collection<String> commitIds);

    // ---- refs

    List<Ref> listRefs(long repoId);

    Optional<Ref> findRef(long repoId, String name);

    /**
     * Creates ({@code expected == null}), moves, or deletes ({@code next == null}) a ref if it is
     * currently at {@code expected}; else ConflictException naming the current value. The kind
     * of an existing ref must match.
     */
    void compareAndSetRef(long repoId, String name, RefKind kind, String expected, String next);

    // ---- retention

    /** Keep the last {@code keepLast} commits of a branch (plus every tagged one); null removes the rule. */
    void setRetention(long repoId, String branch, Integer keepLast);

    /** Branch name → keep-last count. */
    Map<String, Integer> retentionRules(long repoId);

    @Override
    void close();
}
