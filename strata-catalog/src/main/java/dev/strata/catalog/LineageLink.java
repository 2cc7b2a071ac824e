package dev.strata.catalog;

/**
 * Commit (repoId, commitId) derives from commit (targetRepoId, targetCommitId) by {@code relation}.
 *
 * <p>{@code idRepoId} is the target repository's id as the commit's id covers it: the target
 * repository's id on the server where the commit was made. It equals {@code targetRepoId} except
 * for commits a replica imported, where the same repository has another id (docs/decisions/0013-replication.md).
 */
public record LineageLink(long repoId, String commitId, LineageRelation relation, long targetRepoId, String targetCommitId,
                          long idRepoId) {
    /** A link made on this server: the commit id covers the target's own id. */
    public LineageLink(long repoId, String commitId, LineageRelation relation, long targetRepoId, String targetCommitId) {
        this(repoId, commitId, relation, targetRepoId, targetCommitId, targetRepoId);
    }
}
