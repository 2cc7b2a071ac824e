package dev.strata.catalog;

import java.time.Instant;

/**
 * How far the replication log has been applied to one replica: every entry with a seq up to
 * {@code replicatedSeq} is on it.
 *
 * @param replicaId the replica's server id ({@link ReplicationCatalog#serverId} of its catalog)
 * @param url       where the replica was last reached
 * @param updatedAt when the watermark last moved
 */
public record ReplicaProgress(String replicaId, String url, long replicatedSeq, Instant updatedAt) {}
