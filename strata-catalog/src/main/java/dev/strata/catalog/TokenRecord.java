package dev.strata.catalog;

import java.time.Instant;
import java.util.List;

/**
 * An API token. Only {@code secretHash} (SHA-256 of the whole token string) is stored, never the
 * secret. {@code repos}: the repositories it is limited to, empty for all. {@code expiresAt} and
 * {@code revokedAt} are null when not set.
 */
public record TokenRecord(String id, String user, String label, TokenScope scope, List<String> repos, byte[] secretHash,
                          Instant createdAt, Instant expiresAt, Instant revokedAt) {
    public TokenRecord {
        repos = List.copyOf(repos);
    }
}
