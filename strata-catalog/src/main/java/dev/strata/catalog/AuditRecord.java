package dev.strata.catalog;

import java.time.Instant;

/**
 * One audit-log entry. {@code hash} = SHA-256 over {@code prevHash} and the record's canonical
 * encoding (docs/security.md); the first record's prevHash is 32 zero bytes. Nullable:
 * tokenId, client, resource, detail.
 */
public record AuditRecord(long seq, Instant at, String principal, String tokenId, String client, String action,
                          String resource, String decision, int status, String detail, byte[] prevHash, byte[] hash) {

    /**
     * The repository the resource names or lies in: the resource up to its first '@' or ':'
     * ("lab/chimera@v3:weights.bin" is in "lab/chimera"); null without a resource. The catalog
     * indexes it for {@link AuditQuery#repo()} queries; the hash does not cover it (it is derived).
     */
    public String repo() {
        return repoOf(resource);
    }

    static String repoOf(String resource) {
        if (resource == null) {
            return null;
        }
        for (int i = 0; i < resource.length(); i++) {
            char c = resource.charAt(i);
            if (c == '@' || c == ':') {
                return resource.substring(0, i);
            }
        }
        return resource;
    }
}
