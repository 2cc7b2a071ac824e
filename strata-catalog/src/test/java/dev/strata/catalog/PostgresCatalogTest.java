package dev.strata.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.core.StorageException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The conformance suite against a real PostgreSQL server, started once for the class; each test
 * gets its own fresh database, so tests stay independent without a server per test.
 */
class PostgresCatalogTest extends CatalogConformanceTest {
    private static PostgresServer server;

    @BeforeAll
    static void startServer() {
        server = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Override
    protected Catalog newCatalog() {
        return Catalogs.open(server.jdbcUrl(server.createDatabase()));
    }

    @Test
    void reopeningSeesTheSameDataAndMigratesOnce() {
        String db = server.createDatabase();
        long id;
        try (Catalog first = Catalogs.open(server.jdbcUrl(db))) {
            id = first.createRepo("lab/run", "kept").id();
        }
        try (Catalog again = Catalogs.open(server.jdbcUrl(db) + "&password=s3cret-value")) {
            assertEquals(id, again.findRepo("lab/run").orElseThrow().id());
        }
    }

    @Test
    void connectionFailuresNameTheServerButNeverThePassword() {
        String url = "jdbc:postgresql://127.0.0.1:" + server.port() + "/no_such_db?user=postgres&password=s3cret-value";
        StorageException e = assertThrows(StorageException.class, () -> Catalogs.open(url));
        assertFalse(String.valueOf(e.getMessage()).contains("s3cret-value"), e.getMessage());
        for (Throwable t = e; t != null; t = t.getCause()) {
            assertFalse(String.valueOf(t.getMessage()).contains("s3cret-value"), t.getMessage());
        }
    }

    /** A catalog written before the replication log existed: V3 seeds the log with its history, parents first. */
    @Test
    void upgradingSeedsTheReplicationLogWithExistingHistory() throws Exception {
        String url = server.jdbcUrl(server.createDatabase());
        OldSchema.create(url, "postgresql", "2");
        String a = "a".repeat(40), b = "b".repeat(40);
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url); java.sql.Statement st = c.createStatement()) {
            st.execute("INSERT INTO repos (id, name, description, created_at) VALUES (1, 'lab/old', '', 0)");
            st.execute("INSERT INTO commits (seq, repo_id, id, author, message, created_at) VALUES (1, 1, '" + a + "', 'x', 'm', 0)");
            st.execute("INSERT INTO commits (seq, repo_id, id, author, message, created_at) VALUES (2, 1, '" + b + "', 'x', 'm', 0)");
            st.execute("INSERT INTO commit_parents (commit_seq, position, parent_id) VALUES (2, 0, '" + a + "')");
            st.execute("INSERT INTO refs (repo_id, name, kind, commit_id) VALUES (1, 'main', 'BRANCH', '" + b + "')");
            st.execute("INSERT INTO refs (repo_id, name, kind, commit_id) VALUES (1, 'v1', 'TAG', '" + a + "')");
        }
        try (Catalog upgraded = Catalogs.open(url)) {
            java.util.List<ReplicationEntry> log = upgraded.replicationLog(0, 100);
            assertEquals(java.util.Arrays.asList(a, b, b, a), log.stream().map(ReplicationEntry::newCommit).toList());
            assertEquals(java.util.Arrays.asList(null, null, "main", "v1"), log.stream().map(ReplicationEntry::ref).toList());
            assertEquals(RefKind.TAG, log.get(3).refKind());
            assertEquals(true, upgraded.serverId().matches("[0-9a-f]{32}"));
        }
    }

    /** Audit records from before V4: the upgrade gives them their repository key. */
    @Test
    void upgradingKeysExistingAuditRecordsByRepository() throws Exception {
        String url = server.jdbcUrl(server.createDatabase());
        OldSchema.create(url, "postgresql", "3");
        try (java.sql.Connection c = java.sql.DriverManager.getConnection(url)) {
            AuditRepoKeyUpgrade.seedV3(c);
        }
        try (Catalog upgraded = Catalogs.open(url)) {
            AuditRepoKeyUpgrade.check(upgraded);
        }
    }
}
