package dev.strata.catalog;

import java.time.Instant;

/** A named set of users; members come from {@link AccessCatalog#groupMembers()}. */
public record GroupRecord(long id, String name, Instant createdAt) {}
