package dev.strata.cli;

import dev.strata.core.InvalidInputException;
import dev.strata.core.StorageException;
import dev.strata.server.ServerConfig;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * Offline restore of the embedded catalog from a file written by {@code strata backup}. Takes the
 * data directory's lock as the server does, so it refuses while a server runs there; moves the
 * current catalog (and its WAL) aside, checks a copy of the backup and moves it into place.
 */
@Command(name = "restore-catalog", mixinStandardHelpOptions = true,
        description = {"Restore the embedded SQLite catalog from a backup (`strata backup`), with the server stopped.", "",
                "Runs locally on the server's machine, not through the API. Refuses while a server holds DATA/strata.lock. "
                        + "The current catalog.db (and -wal, -shm) is kept as catalog.db.before-restore-<UTC time>; a copy of "
                        + "BACKUP_FILE is checked (SQLite quick_check) and put in its place. The audit head anchor (audit.head) "
                        + "is kept aside the same way and re-anchored at the restored audit log's last record.", "",
                "What the catalog forgets: commits, refs, users and tokens made after the backup are gone. Chunks stored "
                        + "after the backup stay on disk as orphans that fsck reports and `strata gc` reclaims; no commit of the "
                        + "backup loses a chunk, as long as gc did not run between the backup and the restore."})
final class RestoreCatalogCommand implements Callable<Integer> {
    private static final DateTimeFormatter STAMP = DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    @Spec CommandSpec spec;

    @Parameters(paramLabel = "BACKUP_FILE", description = "A catalog backup written by `strata backup` (DATA/backups/...).")
    Path backup;

    @Option(names = "--data", paramLabel = "DIR", description = "The server's data directory (default: as `strata serve`).")
    String data;

    @Option(names = "--catalog", paramLabel = "URL", description = "Catalog URL if not DATA/catalog.db (sqlite:PATH only).")
    String catalog;

    @Override
    public Integer call() {
        Map<String, String> flags = new HashMap<>();
        if (data != null) flags.put("data", data);
        if (catalog != null) flags.put("catalog", catalog);
        ServerConfig cfg = ServerConfig.resolve(flags, System.getenv());
        String url = cfg.catalogUrl();
        if (!url.startsWith("sqlite:")) {
            throw new InvalidInputException("the catalog is not an embedded SQLite file; restore PostgreSQL with pg_restore");
        }
        Path target = Path.of(url.substring("sqlite:".length())).toAbsolutePath().normalize();
        Path dataDir = cfg.dataDir().toAbsolutePath().normalize();
        if (!Files.isRegularFile(backup)) {
            throw new InvalidInputException("backup file " + backup + " does not exist");
        }
        if (!Files.isDirectory(dataDir)) {
            throw new InvalidInputException("data directory " + dataDir + " does not exist");
        }
        try (FileChannel ch = FileChannel.open(dataDir.resolve("strata.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
            FileLock lock;
            try {
                lock = ch.tryLock();
            } catch (OverlappingFileLockException e) {
                lock = null;
            }
            if (lock == null) {
                throw new StorageException("data directory " + dataDir + " is in use by a running Strata server; stop it before restoring", null);
            }
            String ts = STAMP.format(Instant.now());
            Path staged = target.resolveSibling(target.getFileName() + ".restoring-" + ts);
            Files.copy(backup, staged, StandardCopyOption.REPLACE_EXISTING);
            long[] auditSeq = {0};
            byte[][] auditHash = {null};
            try {
                check(staged, auditSeq, auditHash);
            } catch (RuntimeException e) {
                deleteWithSidecars(staged);
                throw e;
            }
            deleteSidecars(staged);
            Path aside = target.resolveSibling(target.getFileName() + ".before-restore-" + ts);
            PrintWriter out = Cli.out(spec);
            for (String suffix : new String[] {"", "-wal", "-shm"}) {
                Path f = Path.of(target + suffix);
                if (Files.exists(f)) {
                    Path to = Path.of(aside + suffix);
                    Files.move(f, to);
                    out.println("kept " + f.getFileName() + " as " + to);
                }
            }
            Files.move(staged, target, StandardCopyOption.ATOMIC_MOVE);
            // The audit head anchor names the old log's tail; the restored log ends earlier. Keep the old
            // anchor beside the old catalog and anchor the restored tail, so the start does not report removal.
            Path head = dataDir.resolve("audit.head");
            if (Files.exists(head)) {
                Path to = dataDir.resolve("audit.head.before-restore-" + ts);
                Files.move(head, to);
                out.println("kept audit.head as " + to);
            }
            if (auditSeq[0] > 0) {
                Files.writeString(head, String.format("%020d %s%n", auditSeq[0], java.util.HexFormat.of().formatHex(auditHash[0])),
                        java.nio.charset.StandardCharsets.US_ASCII);
            }
            out.println("restored " + target + " from " + backup.toAbsolutePath());
            out.println("commits made after the backup are gone from the catalog; chunks stored after it are orphans "
                    + "(`strata fsck` lists them, `strata gc` reclaims them)");
            out.flush();
            lock.release();
        } catch (IOException e) {
            throw new StorageException("restore failed: " + e.getMessage(), e);
        }
        return 0;
    }

    /** The staged copy must be a sound SQLite file holding a Strata catalog. */
    private static void check(Path file, long[] auditSeq, byte[][] auditHash) {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); Statement s = c.createStatement()) {
            try (ResultSet rs = s.executeQuery("PRAGMA quick_check")) {
                String r = rs.next() ? rs.getString(1) : "no answer";
                if (!"ok".equalsIgnoreCase(r)) {
                    throw new InvalidInputException("backup file fails SQLite quick_check: " + r);
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('repos', 'commits', 'refs')")) {
                if (!rs.next() || rs.getInt(1) != 3) {
                    throw new InvalidInputException("backup file is not a Strata catalog (no repos, commits and refs tables)");
                }
            }
            try (ResultSet rs = s.executeQuery("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")) {
                if (rs.next()) {
                    auditSeq[0] = rs.getLong(1);
                    auditHash[0] = rs.getBytes(2);
                }
            }
        } catch (SQLException e) {
            throw new InvalidInputException("backup file is not a readable SQLite database: " + e.getMessage());
        }
    }

    private static void deleteSidecars(Path file) throws IOException {
        Files.deleteIfExists(Path.of(file + "-wal"));
        Files.deleteIfExists(Path.of(file + "-shm"));
    }

    private static void deleteWithSidecars(Path file) {
        try {
            deleteSidecars(file);
            Files.deleteIfExists(file);
        } catch (IOException ignored) {
            // best effort
        }
    }
}
