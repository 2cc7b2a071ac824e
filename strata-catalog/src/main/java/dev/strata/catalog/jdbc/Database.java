package dev.strata.catalog.jdbc;

import java.sql.Connection;
import java.sql.SQLException;

/**
 * Where {@link JdbcCatalog} gets its connections. The two engines need different disciplines:
 * SQLite allows one writer per file, so writes go through one guarded connection; PostgreSQL
 * takes many concurrent writers from a pool and serialises them on the ref row. Transaction
 * boundaries are here; retries and error translation live in {@link JdbcCatalog}, once.
 */
sealed interface Database extends AutoCloseable permits SqliteDatabase, PostgresDatabase {

    Dialect dialect();

    /** Runs {@code work} on a connection in auto-commit mode; reads only. */
    <T> T read(SqlWork<T> work) throws SQLException;

    /**
     * Runs {@code work} as one transaction on a connection nobody else uses meanwhile: commits if
     * it returns, rolls back if it throws anything, so a failure never leaves half a write.
     */
    <T> T write(SqlWork<T> work) throws SQLException;

    /** Redacted description for logs and messages: never a password. */
    String describe();

    @Override
    void close();

    /** Commit on return, rollback on any throwable (also when the commit itself fails). */
    static <T> T inTransaction(Connection c, SqlWork<T> work) throws SQLException {
        try {
            T result = work.run(c);
            c.commit();
            return result;
        } catch (Throwable t) {
            try {
                c.rollback();
            } catch (SQLException r) {
                t.addSuppressed(r);
            }
            throw t;
        }
    }

    @FunctionalInterface
    interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }
}
