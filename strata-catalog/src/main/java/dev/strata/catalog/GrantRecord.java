package dev.strata.catalog;

import java.time.Instant;

/**
 * Read access for one subject to one commit of a repository (its files and metadata, nothing
 * else). {@code ref}: the tag it was granted by (the subject may name the commit by it), or null.
 */
public record GrantRecord(String id, long repoId, String ref, String commitId, SubjectKind kind, String subject,
                          String grantedBy, Instant createdAt, Instant expiresAt, Instant revokedAt) {}
