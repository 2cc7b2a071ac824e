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
}
