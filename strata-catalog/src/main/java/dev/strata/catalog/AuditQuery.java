package dev.strata.catalog;

import java.time.Instant;

/**
 * Filters of an audit query; null means "any". {@code repo} matches records whose resource is the
 * repository or lies in it ("lab/chimera", "lab/chimera@v3:weights.bin"). {@code since}
 * inclusive, {@code until} exclusive; {@code afterSeq} pages.
 */
public record AuditQuery(String repo, String principal, String action, Instant since, Instant until, long afterSeq, int limit) {}
