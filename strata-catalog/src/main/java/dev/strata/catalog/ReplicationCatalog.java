package dev.strata.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * The replication part of the catalog (docs/catalog.md, "Replication log";
 * docs/decisions/0013-replication.md): an ordered log of everything published, a watermark per
 * replica, the server's identity, and the verbatim import a replica needs.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link Catalog#publishCommit}, {@link Catalog#compareAndSetRef} and {@link #importCommit}
 *       append their log entry in their own transaction: an entry exists if and only if the
 *       change it describes was committed. Nothing else appends.</li>
 *   <li>Entries' seqs increase in the order their transactions committed, so a reader that saw
 *       seq N will never later see a new entry below N (PostgreSQL serialises appends with a
 *       transaction-scoped advisory lock). Seqs may have gaps.</li>
 *   <li>The log is never trimmed by the catalog.</li>
 * </ul>
 */
public interface ReplicationCatalog {

    /** This catalog's server identity: random, created with the schema, never changed. */
    String serverId();

    /** Entries with a seq above {@code afterSeq}, ascending, at most {@code limit}. */
    List<ReplicationEntry> replicationLog(long afterSeq, int limit);

    /** The highest seq in the log; 0 when it is empty. */
    long lastReplicationSeq();

    /** How many entries have a seq above {@code afterSeq}. */
    long countReplicationLog(long afterSeq);

    /** Where replication to {@code replicaId} stands; empty if nothing was ever recorded for it. */
    Optional<ReplicaProgress> replicaProgress(String replicaId);

    /** Every replica ever recorded, by replica id. */
    List<ReplicaProgress> replicas();

    /**
     * Records that every entry up to {@code seq} is on replica {@code replicaId}, reached at
     * {@code url}. The watermark never moves back: a lower seq only updates the url and time.
     */
    void recordReplicated(String replicaId, String url, long seq, Instant at);

    /**
     * Inserts a commit exactly as given (id, times, expired flag, files, lineage) without moving
     * any ref, in one transaction, appending a {@link ReplicationEntry.Kind#COMMIT} entry with no
     * ref. Parents and lineage targets' repositories must exist ({@link
     * dev.strata.core.InvalidInputException} / {@link dev.strata.core.NotFoundException}).
     * Idempotent: returns false, writing nothing, if the commit id already exists in the repository.
     */
    boolean importCommit(NewCommit commit);
}
