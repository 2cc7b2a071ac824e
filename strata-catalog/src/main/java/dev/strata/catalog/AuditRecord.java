package dev.strata.catalog;

import java.time.Instant;

/**
 * One audit-log entry. {@code hash} = SHA-256 over {@code prevHash} and the record's canonical
 * encoding (docs/security.md); the first record's prevHash is 32 zero bytes. Nullable:
 * tokenId, client, resource, detail.
 */
public record AuditRecord(long seq, Instant at, String principal, String tokenId, String client, String action,
                          String resource, String decision, int status, String detail, byte[] prevHash, byte[] hash) {}
