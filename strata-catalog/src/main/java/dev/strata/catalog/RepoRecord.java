package dev.strata.catalog;

import java.time.Instant;

/** A repository {@code owner/name}, with its surrogate id used by every other table, and who may read it without a role. */
public record RepoRecord(long id, String name, String description, Instant createdAt, Visibility visibility) {}
