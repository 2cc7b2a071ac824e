package dev.strata.catalog;

/** Commit (repoId, commitId) derives from commit (targetRepoId, targetCommitId) by {@code relation}. */
public record LineageLink(long repoId, String commitId, LineageRelation relation, long targetRepoId, String targetCommitId) {}
