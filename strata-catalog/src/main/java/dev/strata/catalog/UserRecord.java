package dev.strata.catalog;

import java.time.Instant;

/** A user. {@code admin}: a server administrator (every right everywhere, intersected with the token's scope). */
public record UserRecord(long id, String name, boolean admin, boolean disabled, Instant createdAt) {}
