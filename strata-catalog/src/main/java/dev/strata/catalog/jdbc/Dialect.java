package dev.strata.catalog.jdbc;

import java.sql.SQLException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import org.sqlite.SQLiteErrorCode;
import org.sqlite.SQLiteException;

/**
 * The little that differs between the two engines once the SQL itself is portable: where the
 * DDL lives, how each driver reports a unique violation or a retryable failure, and the one lock
 * PostgreSQL needs where SQLite's single writer already serialises. Everything else (queries,
 * upserts, {@code RETURNING}) is one text for both.
 */
enum Dialect {
    SQLITE("classpath:db/migration/sqlite", null, null),
    POSTGRESQL("classpath:db/migration/postgresql", "LOCK TABLE users, user_groups IN SHARE ROW EXCLUSIVE MODE",
            // The key is "strata-r" in ASCII read as a 64-bit number: one nobody else picks.
            "SELECT pg_advisory_xact_lock(8319400174550068594)");

    private final String migrations;
    private final String subjectNamespaceLock;
    private final String replicationLogLock;

    Dialect(String migrations, String subjectNamespaceLock, String replicationLogLock) {
        this.migrations = migrations;
        this.subjectNamespaceLock = subjectNamespaceLock;
        this.replicationLogLock = replicationLogLock;
    }

    /** The Flyway location of this engine's schema (types and key generation differ, see docs/catalog.md). */
    String migrations() {
        return migrations;
    }

    /**
     * The statement that makes creating users and groups mutually exclusive until the transaction
     * ends, or null where writers are serialised anyway (SQLite). Users and groups share one
     * namespace but live in two tables: without the lock, two PostgreSQL transactions could create
     * a user and a group of the same name, each checking the other table before the other commits.
     * Readers are not blocked.
     */
    String subjectNamespaceLock() {
        return subjectNamespaceLock;
    }

    /**
     * The statement that serialises replication log appends until the transaction ends, or null
     * where writers are serialised anyway (SQLite). Without it two PostgreSQL transactions could
     * take seqs 10 and 11 and commit 11 first: a replicator reading in between would move its
     * watermark past 10 and never apply it. Taken just before the append, the last statement of
     * its transaction, so it is held only for the commit.
     */
    String replicationLogLock() {
        return replicationLogLock;
    }

    /** A unique or primary key clash: the thing already exists. */
    boolean isUniqueViolation(SQLException e) {
        for (SQLException s : chain(e)) {
            if (this == SQLITE && s instanceof SQLiteException x
                    && (x.getResultCode() == SQLiteErrorCode.SQLITE_CONSTRAINT_UNIQUE
                            || x.getResultCode() == SQLiteErrorCode.SQLITE_CONSTRAINT_PRIMARYKEY)) {
                return true;
            }
            if (this == POSTGRESQL && "23505".equals(s.getSQLState())) {
                return true;
            }
        }
        return false;
    }

    /** Any other constraint (foreign key, check, not null): the input can never be stored as given. */
    boolean isIntegrityViolation(SQLException e) {
        for (SQLException s : chain(e)) {
            if (this == SQLITE && s instanceof SQLiteException x && (x.getResultCode().code & 0xff) == 19) {
                return true;
            }
            if (this == POSTGRESQL && s.getSQLState() != null && s.getSQLState().startsWith("23")) {
                return true;
            }
        }
        return false;
    }

    /**
     * Worth retrying the whole transaction: SQLite's BUSY/LOCKED (another process holds the write
     * lock past the busy timeout), PostgreSQL's serialization failure or deadlock victim.
     */
    boolean isTransient(SQLException e) {
        for (SQLException s : chain(e)) {
            if (this == SQLITE && s instanceof SQLiteException x) {
                int base = x.getResultCode().code & 0xff;
                if (base == 5 || base == 6) {
                    return true;
                }
            }
            if (this == POSTGRESQL && ("40001".equals(s.getSQLState()) || "40P01".equals(s.getSQLState()))) {
                return true;
            }
        }
        return false;
    }

    /** The exception, a batch's next exceptions and causes: drivers bury the real code in any of them. */
    private static List<SQLException> chain(SQLException e) {
        List<SQLException> all = new ArrayList<>();
        ArrayDeque<Throwable> todo = new ArrayDeque<>(List.of(e));
        while (!todo.isEmpty() && all.size() < 16) {
            Throwable t = todo.poll();
            if (t instanceof SQLException s) {
                all.add(s);
                if (s.getNextException() != null && s.getNextException() != s) {
                    todo.add(s.getNextException());
                }
            }
            if (t.getCause() != null && t.getCause() != t) {
                todo.add(t.getCause());
            }
        }
        return all;
    }
}
