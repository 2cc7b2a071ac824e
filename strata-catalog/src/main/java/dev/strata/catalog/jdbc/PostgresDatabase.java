package dev.strata.catalog.jdbc;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;

/**
 * The scale-out catalog: a HikariCP pool over PostgreSQL at READ COMMITTED. Many Strata servers
 * write at once; the ref compare-and-set is a conditional {@code UPDATE}, which PostgreSQL
 * serialises on the ref row (the second writer waits, re-reads the row and matches nothing), so
 * no stronger isolation and no retry loop is needed for correctness.
 */
final class PostgresDatabase implements Database {
    private final HikariDataSource pool;
    private final String description;

    /**
     * @param jdbcUrl the URL without credentials, safe to log
     * @param user may be null (the driver's default)
     * @param password may be null; handed to the pool only, never logged
     */
    PostgresDatabase(String jdbcUrl, String user, String password, int poolSize) {
        HikariConfig config = new HikariConfig();
        config.setPoolName("strata-catalog");
        config.setJdbcUrl(jdbcUrl);
        if (user != null) {
            config.setUsername(user);
        }
        if (password != null) {
            config.setPassword(password);
        }
        config.setMaximumPoolSize(poolSize);
        config.setMinimumIdle(1);
        config.setConnectionTimeout(10_000);
        config.setTransactionIsolation("TRANSACTION_READ_COMMITTED");
        // Sends a commit's thousands of file rows as multi-row INSERTs: one round trip per batch.
        config.addDataSourceProperty("reWriteBatchedInserts", "true");
        config.addDataSourceProperty("ApplicationName", "strata");
        this.pool = new HikariDataSource(config);
        this.description = jdbcUrl + (user == null ? "" : " as " + user);
    }

    DataSource dataSource() {
        return pool;
    }

    @Override
    public Dialect dialect() {
        return Dialect.POSTGRESQL;
    }

    @Override
    public <T> T read(SqlWork<T> work) throws SQLException {
        try (Connection c = pool.getConnection()) {
            return work.run(c);
        }
    }

    @Override
    public <T> T write(SqlWork<T> work) throws SQLException {
        try (Connection c = pool.getConnection()) {
            c.setAutoCommit(false);
            return Database.inTransaction(c, work);
        }
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public void close() {
        pool.close();
    }
}
