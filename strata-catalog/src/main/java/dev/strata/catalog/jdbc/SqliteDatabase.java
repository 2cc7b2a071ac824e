package dev.strata.catalog.jdbc;

import dev.strata.core.StorageException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import javax.sql.DataSource;
import org.sqlite.SQLiteConfig;
import org.sqlite.SQLiteDataSource;

/**
 * The embedded catalog: one SQLite file in WAL mode with {@code synchronous=FULL} (a commit
 * survives power loss once {@code publishCommit} returns) and foreign keys enforced.
 *
 * <p>SQLite has one writer per file. Inside this process writers queue on a fair lock in front of
 * the single write connection; against other processes (a CLI next to a running server) every
 * write transaction begins {@code IMMEDIATE}, taking the file's write lock up front so two
 * transactions never deadlock upgrading from read to write, and waits up to the busy timeout.
 * Readers use a few separate connections: WAL lets them read a consistent snapshot while the
 * writer works.
 */
final class SqliteDatabase implements Database {
    static final int BUSY_TIMEOUT_MS = 10_000;
    private static final int READERS = 4;

    private final Path file;
    private final Connection writer;
    private final ReentrantLock writeLock = new ReentrantLock(true);
    private final BlockingQueue<Connection> readers = new ArrayBlockingQueue<>(READERS);
    private final List<Connection> all = new ArrayList<>();
    private volatile boolean closed;

    SqliteDatabase(Path file) throws SQLException {
        this.file = file;
        try {
            // Auto-commit stays on: write() brackets its work in an explicit BEGIN IMMEDIATE, so
            // the driver never holds a transaction (and the file's write lock) between writes.
            writer = dataSource().getConnection();
            all.add(writer);
            for (int i = 0; i < READERS; i++) {
                Connection r = dataSource().getConnection();
                all.add(r);
                readers.add(r);
            }
        } catch (SQLException | RuntimeException e) {
            close();
            throw e;
        }
    }

    /** Also used by Flyway, so migrations run with the same pragmas. */
    DataSource dataSource() {
        SQLiteConfig config = new SQLiteConfig();
        config.setJournalMode(SQLiteConfig.JournalMode.WAL);
        config.setSynchronous(SQLiteConfig.SynchronousMode.FULL);
        config.enforceForeignKeys(true);
        config.setBusyTimeout(BUSY_TIMEOUT_MS);
        SQLiteDataSource ds = new SQLiteDataSource(config);
        ds.setUrl("jdbc:sqlite:" + file);
        return ds;
    }

    @Override
    public Dialect dialect() {
        return Dialect.SQLITE;
    }

    @Override
    public <T> T read(SqlWork<T> work) throws SQLException {
        Connection c;
        try {
            c = readers.take();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while waiting for a catalog read connection", e);
        }
        try {
            ensureOpen();
            return work.run(c);
        } finally {
            readers.add(c);
        }
    }

    @Override
    public <T> T write(SqlWork<T> work) throws SQLException {
        writeLock.lock();
        try {
            ensureOpen();
            exec("BEGIN IMMEDIATE");
            try {
                T result = work.run(writer);
                exec("COMMIT");
                return result;
            } catch (Throwable t) {
                try {
                    exec("ROLLBACK");
                } catch (SQLException r) {
                    t.addSuppressed(r);
                }
                throw t;
            }
        } finally {
            writeLock.unlock();
        }
    }

    private void exec(String sql) throws SQLException {
        try (Statement s = writer.createStatement()) {
            s.execute(sql);
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("catalog " + describe() + " is closed");
        }
    }

    @Override
    public String describe() {
        return "sqlite:" + file;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        // Wait for the writer and for readers in flight, so no connection closes under a caller.
        writeLock.lock();
        try {
            for (int i = 0; i < all.size() - 1; i++) {
                readers.poll(BUSY_TIMEOUT_MS, TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            for (Connection c : all) {
                try {
                    c.close();
                } catch (SQLException ignored) {
                    // Best effort: WAL keeps the file consistent whatever happens here.
                }
            }
            writeLock.unlock();
        }
    }
}
