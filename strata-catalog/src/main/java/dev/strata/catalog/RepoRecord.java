package dev.strata.catalog;

import java.time.Instant;

/** A repository {@code owner/name}, with its surrogate id used by every other table. */
public record RepoRecord(long id, String name, String description, Instant createdAt) {}
