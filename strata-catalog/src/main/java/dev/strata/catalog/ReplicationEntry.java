package dev.strata.catalog;

import java.time.Instant;
import java.util.Objects;

/**
 * One entry of the replication log (docs/catalog.md, "Replication log"): something published,
 * in the order it became visible.
 *
 * <ul>
 *   <li>{@link Kind#COMMIT}: commit {@code newCommit} was published. {@code ref} is the branch it
 *       moved (from {@code oldCommit}, null when the branch was created), or null when the commit
 *       was imported without moving a ref ({@link ReplicationCatalog#importCommit}, and the entries
 *       the schema migration seeded for history older than the log).</li>
 *   <li>{@link Kind#REF}: ref {@code ref} of kind {@code refKind} moved by compare-and-set from
 *       {@code oldCommit} (null: created) to {@code newCommit} (null: deleted).</li>
 * </ul>
 *
 * @param seq increasing in the order the entries' transactions committed (not necessarily contiguous)
 * @param at  when the entry was appended
 */
public record ReplicationEntry(long seq, Instant at, long repoId, Kind kind, String ref, RefKind refKind,
                               String oldCommit, String newCommit) {
    /** Persisted by name. */
    public enum Kind {
        COMMIT,
        REF
    }

    public ReplicationEntry {
        Objects.requireNonNull(at, "at");
        Objects.requireNonNull(kind, "kind");
        if (kind == Kind.COMMIT && newCommit == null) {
            throw new IllegalArgumentException("a commit entry names its commit");
        }
        if (kind == Kind.REF && (ref == null || refKind == null || (oldCommit == null && newCommit == null))) {
            throw new IllegalArgumentException("a ref entry names the ref, its kind and at least one of old and new");
        }
    }
}
