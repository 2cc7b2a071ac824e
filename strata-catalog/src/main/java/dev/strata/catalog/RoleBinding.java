package dev.strata.catalog;

/** {@code subject} (a user or group name) holds {@code role} on repository {@code repoId}. */
public record RoleBinding(long repoId, SubjectKind kind, String subject, RepoRole role) {}
