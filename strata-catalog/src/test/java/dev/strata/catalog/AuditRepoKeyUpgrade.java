package dev.strata.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;

/**
 * Audit records written before migration V4 (no repo column): the upgrade derives their repository
 * key, so repository queries still find them. Used by the SQLite and PostgreSQL catalog tests.
 */
final class AuditRepoKeyUpgrade {
    private static final List<String> RESOURCES = Arrays.asList(
            "lab/chim", "lab/chim@v1", "lab/chim:w.bin", "lab/chim@v2:a@b:c", "lab/chimera@v1", null, "tokens", "lab/chim:x@y");

    private AuditRepoKeyUpgrade() {}

    /** Inserts one record per resource into a V3 schema (hashes are not checked by the catalog). */
    static void seedV3(Connection c) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO audit_log (seq, at, principal, action, resource, decision, status,"
                + " prev_hash, hash) VALUES (?, 0, 'alice', 'file.read', ?, 'allow', 200, ?, ?)")) {
            for (int i = 0; i < RESOURCES.size(); i++) {
                ps.setLong(1, i + 1);
                ps.setString(2, RESOURCES.get(i));
                ps.setBytes(3, new byte[32]);
                ps.setBytes(4, new byte[32]);
                ps.executeUpdate();
            }
        }
    }

    static void check(Catalog upgraded) {
        assertEquals(List.of(1L, 2L, 3L, 4L, 8L), seqs(upgraded, "lab/chim"), "the repository and what lies in it");
        assertEquals(List.of(5L), seqs(upgraded, "lab/chimera"));
        assertEquals(List.of(7L), seqs(upgraded, "tokens"));
        // Records appended after the upgrade carry the key too.
        upgraded.appendAudit(List.of(new AuditRecord(9, Instant.EPOCH, "bob", null, null, "file.read", "lab/chim@v9:z",
                "allow", 200, null, new byte[32], new byte[32])));
        assertEquals(List.of(1L, 2L, 3L, 4L, 8L, 9L), seqs(upgraded, "lab/chim"));
    }

    private static List<Long> seqs(Catalog catalog, String repo) {
        return catalog.queryAudit(new AuditQuery(repo, null, null, null, null, 0, 100)).stream().map(AuditRecord::seq).toList();
    }
}
