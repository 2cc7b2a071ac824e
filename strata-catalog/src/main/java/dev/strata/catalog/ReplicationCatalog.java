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

    /**
     * Makes {@code state} this catalog's access state, in one transaction (a replica applying its
     * primary's; docs/decisions/0013-replication.md, "Access state"). Everything the state names is
     * authoritative: users and groups are created or updated by name, each named group's members
     * become exactly those listed, tokens are created or updated by id, and each named
     * repository's visibility, retention rules, roles, protections and grants become exactly
     * those listed. What the state does not name is kept: this server's own users, groups and
     * tokens (its bootstrap administrator, the token the primary replicates with) and the rules
     * of repositories the state does not list. A token revoked here stays revoked (revocation is
     * one-way everywhere). Repositories are matched by name and must all exist
     * ({@link dev.strata.core.NotFoundException}); members, token owners and subjects must be
     * users or groups of the state or of this catalog, and users and groups must keep sharing one
     * namespace ({@link dev.strata.core.ConflictException}); on any failure nothing changes.
     *
     * @return the ids of grants left out because their commit is not (yet) in this catalog; sent
     *         again once it is, they are stored
     */
    List<String> replaceAccessState(AccessState state);
}
