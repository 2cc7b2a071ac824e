package dev.strata.catalog.jdbc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.core.type.TypeReference;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.catalog.AccessState;
import dev.strata.catalog.AuditQuery;
import dev.strata.catalog.AuditRecord;
import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.GrantRecord;
import dev.strata.catalog.GroupRecord;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.LineageRelation;
import dev.strata.catalog.NewCommit;
import dev.strata.catalog.Protection;
import dev.strata.catalog.Ref;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.ReplicaProgress;
import dev.strata.catalog.ReplicationEntry;
import dev.strata.catalog.RepoRecord;
import dev.strata.catalog.RepoRole;
import dev.strata.catalog.RoleBinding;
import dev.strata.catalog.SubjectKind;
import dev.strata.catalog.TokenRecord;
import dev.strata.catalog.TokenScope;
import dev.strata.catalog.UserRecord;
import dev.strata.catalog.Visibility;
import dev.strata.core.ConflictException;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import dev.strata.core.NotFoundException;
import dev.strata.core.StorageException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Consumer;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Catalog} over JDBC, with one SQL text for SQLite (the embedded default) and
 * PostgreSQL (scale-out). Only the DDL differs per engine (Flyway locations
 * {@code db/migration/sqlite} and {@code db/migration/postgresql}), plus two PostgreSQL locks
 * ({@link Dialect#subjectNamespaceLock}, {@link Dialect#replicationLogLock}); see docs/catalog.md.
 *
 * <p>Transactions: every write is one transaction. {@link #publishCommit} inserts the commit row,
 * moves the branch with a conditional {@code UPDATE ... WHERE commit_id = expected} (whose update
 * count is the compare-and-set's verdict), then inserts parents, metrics, lineage and files; any
 * failure rolls all of it back. Moving the ref early makes a losing racer fail before it writes
 * thousands of file rows. Transient engine failures (SQLite busy, PostgreSQL deadlock) retry the
 * whole transaction a few times.
 *
 * <p>The access-control half ({@link dev.strata.catalog.AccessCatalog}: users, groups, tokens,
 * roles, protections, grants, the per-repository chunk set and the audit log) follows the same
 * rules: one transaction per write, existence checks inside it ({@link NotFoundException}),
 * idempotent inserts as {@code ON CONFLICT DO NOTHING}.
 *
 * <p>The replication log ({@link dev.strata.catalog.ReplicationCatalog}): {@link #publishCommit},
 * {@link #compareAndSetRef} and {@link #importCommit} append their entry as the last statement of
 * their own transaction, so an entry exists exactly when its change committed. On PostgreSQL the
 * append first takes a transaction-scoped advisory lock ({@link Dialect#replicationLogLock}):
 * seqs then become visible in increasing order, which a reader advancing a watermark relies on.
 *
 * <p>Errors: unique clashes become {@link ConflictException}, other constraint violations
 * {@link InvalidInputException}, everything else {@link StorageException}; expected conflicts get
 * a message saying what to do. Instants are stored as epoch nanoseconds, so they round-trip
 * exactly between 1677 and 2262. Thread-safe.
 */
public final class JdbcCatalog implements Catalog, dev.strata.catalog.CatalogBackup {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcCatalog.class);
    private static final Pattern COMMIT_ID = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern HEX_PREFIX = Pattern.compile("[0-9a-f]{1,40}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ATTEMPTS = 6;
    private static final int POSTGRES_POOL_SIZE = 10;
    /** Rows per JDBC batch, ids per {@code IN} list, audit records per page of a scan. */
    private static final int BATCH = 1000;
    private static final int IN_LIST = 500;
    private static final int AUDIT_PAGE = 1000;
    private static final String AUDIT_COLUMNS =
            "seq, at, principal, token_id, client, action, resource, decision, status, detail, prev_hash, hash";
    private static final TypeReference<List<String>> STRING_LIST = new TypeReference<>() {};
    private static final String COMMIT_COLUMNS =
            "c.seq, c.id, c.repo_id, c.author, c.message, c.created_at, c.step, c.metadata_json, c.expired";

    private final Database db;

    private JdbcCatalog(Database db) {
        this.db = db;
    }

    /** Opens (creating if needed, with parent directories) the SQLite catalog file and migrates it. */
    public static JdbcCatalog sqlite(Path file) {
        Path absolute = file.toAbsolutePath();
        try {
            Files.createDirectories(absolute.getParent());
        } catch (IOException e) {
            throw new StorageException("cannot create the directory of catalog " + absolute + ": " + e.getMessage(), e);
        }
        SqliteDatabase db;
        try {
            db = new SqliteDatabase(absolute);
        } catch (SQLException e) {
            throw new StorageException("cannot open SQLite catalog " + absolute + ": " + e.getMessage(), e);
        }
        return migrated(db, db.dataSource());
    }

    /**
     * Connects to PostgreSQL and migrates the schema. {@code jdbcUrl} must carry no credentials
     * ({@link dev.strata.catalog.Catalogs#open} splits them off) because it appears in logs.
     */
    public static JdbcCatalog postgres(String jdbcUrl, String user, String password) {
        PostgresDatabase db;
        try {
            db = new PostgresDatabase(jdbcUrl, user, password, POSTGRES_POOL_SIZE);
        } catch (RuntimeException e) {
            throw new StorageException("cannot connect to PostgreSQL catalog " + jdbcUrl
                    + (user == null ? "" : " as " + user) + ": " + e.getMessage(), e);
        }
        return migrated(db, db.dataSource());
    }

    private static JdbcCatalog migrated(Database db, DataSource dataSource) {
        try {
            Flyway.configure()
                    .dataSource(dataSource)
                    .locations(db.dialect().migrations())
                    .failOnMissingLocations(true)
                    .load()
                    .migrate();
        } catch (RuntimeException e) {
            db.close();
            throw new StorageException("cannot migrate the catalog schema of " + db.describe() + ": " + e.getMessage(), e);
        }
        LOG.info("catalog open: {}", db.describe());
        return new JdbcCatalog(db);
    }

    // ---- online backup

    @Override
    public boolean supportsOnlineBackup() {
        return db.dialect() == Dialect.SQLITE;
    }

    @Override
    public void backupTo(Path target) {
        if (!supportsOnlineBackup()) {
            throw new dev.strata.core.InvalidInputException("the catalog is PostgreSQL (" + db.describe()
                    + "); back it up with pg_dump, not through Strata");
        }
        Path absolute = target.toAbsolutePath();
        if (Files.exists(absolute)) {
            throw new dev.strata.core.ConflictException("backup file " + absolute + " already exists");
        }
        try {
            Files.createDirectories(absolute.getParent());
        } catch (IOException e) {
            throw new StorageException("cannot create the backup directory " + absolute.getParent() + ": " + e.getMessage(), e);
        }
        // VACUUM INTO runs in one read transaction: a consistent snapshot while the writer goes on.
        try {
            db.read(c -> {
                try (java.sql.PreparedStatement ps = c.prepareStatement("VACUUM INTO ?")) {
                    ps.setString(1, absolute.toString());
                    ps.execute();
                }
                return null;
            });
        } catch (SQLException e) {
            try {
                Files.deleteIfExists(absolute);
            } catch (IOException ignored) {
                // best effort: a partial file is named by the error below
            }
            throw new StorageException("catalog backup to " + absolute + " failed: " + e.getMessage(), e);
        }
    }

    // ---- repositories

    @Override
    public RepoRecord createRepo(String name, String description) {
        Names.repo(name);
        String desc = description == null ? "" : description;
        Instant now = Instant.now();
        return write("create repository " + Names.quote(name), c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO repos (name, description, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING RETURNING id, visibility")) {
                ps.setString(1, name);
                ps.setString(2, desc);
                ps.setLong(3, Timestamps.toNanos(now));
                try (ResultSet rs = ps.executeQuery()) {
                    if (!rs.next()) {
                        throw new ConflictException("repository " + Names.quote(name) + " already exists; choose another name");
                    }
                    return new RepoRecord(rs.getLong(1), name, desc, now, Visibility.valueOf(rs.getString(2)));
                }
            }
        });
    }

    @Override
    public Optional<RepoRecord> findRepo(String name) {
        Objects.requireNonNull(name, "name");
        return read("find repository", c -> first(queryRepos(c, "WHERE name = ?", name)));
    }

    @Override
    public List<RepoRecord> listRepos() {
        return read("list repositories", c -> queryRepos(c, "ORDER BY name"));
    }

    private static List<RepoRecord> queryRepos(Connection c, String tail, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, name, description, created_at, visibility FROM repos " + tail)) {
            bind(ps, params);
            List<RepoRecord> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new RepoRecord(rs.getLong(1), rs.getString(2), rs.getString(3), Timestamps.fromNanos(rs.getLong(4)),
                            Visibility.valueOf(rs.getString(5))));
                }
            }
            return out;
        }
    }

    // ---- manifests

    @Override
    public void putManifest(ContentHash id, byte[] encoded) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(encoded, "encoded");
        write("store manifest " + id.hex(), c -> update(c,
                "INSERT INTO manifests (id, bytes) VALUES (?, ?) ON CONFLICT DO NOTHING", id.toBytes(), encoded));
    }

    @Override
    public Optional<byte[]> getManifest(ContentHash id) {
        Objects.requireNonNull(id, "id");
        return read("read manifest " + id.hex(), c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT bytes FROM manifests WHERE id = ?")) {
                ps.setBytes(1, id.toBytes());
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? Optional.of(rs.getBytes(1)) : Optional.empty();
                }
            }
        });
    }

    // ---- commits

    @Override
    public void publishCommit(NewCommit commit, String branch, String expectedHead) {
        Objects.requireNonNull(commit, "commit");
        CommitRecord r = commit.commit();
        validate(commit);
        Names.ref(branch);
        if (expectedHead != null) {
            commitId(expectedHead, "expected head");
        }
        long createdAt = Timestamps.toNanos(r.createdAt());
        write("publish commit " + r.id() + " on " + Names.quote(branch), c -> {
            requireRepo(c, r.repoId());
            Long seq = insertCommitRow(c, r, createdAt);
            moveBranch(c, r.repoId(), branch, expectedHead, r.id());
            if (seq != null) { // else the commit already exists: re-publishing only moves the ref
                insertChildren(c, seq, commit);
            }
            appendLog(c, r.repoId(), ReplicationEntry.Kind.COMMIT, branch, RefKind.BRANCH, expectedHead, r.id());
            return null;
        });
    }

    private static void validate(NewCommit commit) {
        validate(commit, false);
    }

    private static void validate(NewCommit commit, boolean mayBeExpired) {
        CommitRecord r = commit.commit();
        commitId(r.id(), "commit id");
        if (r.expired() && !mayBeExpired) {
            throw new InvalidInputException("a new commit cannot be expired: " + r.id());
        }
        requireField(r.author(), "author", r);
        requireField(r.message(), "message", r);
        requireField(r.createdAt(), "createdAt", r);
        if (new HashSet<>(r.parents()).size() != r.parents().size()) {
            throw new InvalidInputException("commit " + r.id() + " lists a parent twice");
        }
        r.parents().forEach(p -> commitId(p, "parent"));
        r.metrics().forEach((name, value) -> {
            if (name.isBlank() || !Double.isFinite(value)) {
                throw new InvalidInputException("metric " + Names.quote(name) + " = " + value
                        + " of commit " + r.id() + ": metric names are non-blank and values finite");
            }
        });
        if (r.metadataJson() != null) {
            try {
                if (!JSON.readTree(r.metadataJson()).isObject()) {
                    throw new InvalidInputException("metadata of commit " + r.id() + " must be a JSON object");
                }
            } catch (JsonProcessingException e) {
                throw new InvalidInputException("metadata of commit " + r.id() + " is not valid JSON: " + e.getOriginalMessage());
            }
        }
        for (FileEntry f : commit.files()) {
            Names.path(f.path());
            if (f.size() < 0 || f.sha256() == null || f.manifestId() == null) {
                throw new InvalidInputException("file " + Names.quote(f.path()) + " of commit " + r.id()
                        + " needs a size >= 0, a sha256 and a manifest id");
            }
        }
        for (LineageLink l : commit.lineage()) {
            if (l.repoId() != r.repoId() || !r.id().equals(l.commitId()) || l.relation() == null) {
                throw new InvalidInputException("lineage link " + l + " must start at the commit being published, "
                        + r.repoId() + "/" + r.id() + ", and name a relation");
            }
            commitId(l.targetCommitId(), "lineage target");
        }
    }

    private static void requireField(Object value, String field, CommitRecord r) {
        if (value == null) {
            throw new InvalidInputException("commit " + r.id() + " has no " + field);
        }
    }

    /** Returns the new row's seq, or null when the commit already exists. */
    private static Long insertCommitRow(Connection c, CommitRecord r, long createdAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO commits (repo_id, id, author, message, created_at, step, metadata_json, expired)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING RETURNING seq")) {
            bind(ps, r.repoId(), r.id(), r.author(), r.message(), createdAt, r.step(), r.metadataJson(), r.expired());
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getLong(1) : null;
            }
        }
    }

    /** The ref compare-and-set inside a publish; its update count decides who won a race. */
    private static void moveBranch(Connection c, long repoId, String branch, String expected, String next) throws SQLException {
        int changed = expected == null
                ? update(c, "INSERT INTO refs (repo_id, name, kind, commit_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        repoId, branch, RefKind.BRANCH.name(), next)
                : update(c, "UPDATE refs SET commit_id = ? WHERE repo_id = ? AND name = ? AND kind = ? AND commit_id = ?",
                        next, repoId, branch, RefKind.BRANCH.name(), expected);
        if (changed == 1) {
            return;
        }
        Optional<Ref> current = findRef(c, repoId, branch);
        if (current.isPresent() && current.get().kind() == RefKind.TAG) {
            throw new ConflictException(Names.quote(branch) + " is a tag, not a branch; commit to a branch instead");
        }
        if (current.isEmpty()) {
            throw new ConflictException("branch " + Names.quote(branch) + " was deleted meanwhile (expected it at "
                    + expected + "); pull and retry, or publish with no expected head to create it again");
        }
        if (expected == null) {
            throw new ConflictException("branch " + Names.quote(branch) + " already exists at " + current.get().commitId()
                    + "; pull (or rebase onto it) and retry with that as the expected head");
        }
        throw new ConflictException("branch " + Names.quote(branch) + " moved: expected " + expected + " but it is now at "
                + current.get().commitId() + "; pull (or rebase onto it) and retry");
    }

    /** Checks parents and lineage targets, then inserts parents, metrics, lineage and files of the commit row {@code seq}. */
    private static void insertChildren(Connection c, long seq, NewCommit commit) throws SQLException {
        CommitRecord r = commit.commit();
        for (String parent : r.parents()) {
            if (!commitExists(c, r.repoId(), parent)) {
                throw new InvalidInputException("parent " + parent + " of commit " + r.id()
                        + " is not in this repository; publish the parent first");
            }
        }
        for (LineageLink l : commit.lineage()) {
            requireRepo(c, l.targetRepoId());
        }
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO commit_parents (commit_seq, position, parent_id) VALUES (?, ?, ?)")) {
            for (int i = 0; i < r.parents().size(); i++) {
                bind(ps, seq, i, r.parents().get(i));
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO commit_metrics (commit_seq, repo_id, name, value) VALUES (?, ?, ?, ?)")) {
            for (Map.Entry<String, Double> m : r.metrics().entrySet()) {
                bind(ps, seq, r.repoId(), m.getKey(), m.getValue());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO lineage (commit_seq, relation, target_repo_id, target_commit_id, id_repo_id) VALUES (?, ?, ?, ?, ?)")) {
            for (LineageLink l : new HashSet<>(commit.lineage())) {
                bind(ps, seq, l.relation().wireName(), l.targetRepoId(), l.targetCommitId(), l.idRepoId());
                ps.addBatch();
            }
            ps.executeBatch();
        }
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO commit_files (commit_seq, path, size, sha256, manifest_id) VALUES (?, ?, ?, ?, ?)")) {
            int pending = 0;
            for (FileEntry f : commit.files()) {
                bind(ps, seq, f.path(), f.size(), f.sha256().toBytes(), f.manifestId().toBytes());
                ps.addBatch();
                if (++pending == 1000) {
                    ps.executeBatch();
                    pending = 0;
                }
            }
            ps.executeBatch();
        } catch (SQLException e) {
            if (Dialect.SQLITE.isUniqueViolation(e) || Dialect.POSTGRESQL.isUniqueViolation(e)) {
                throw new InvalidInputException("commit " + r.id() + " lists the same file path more than once; "
                        + "a tree holds each path once");
            }
            throw e;
        }
    }

    @Override
    public Optional<CommitRecord> findCommit(long repoId, String commitId) {
        Objects.requireNonNull(commitId, "commitId");
        return read("find commit " + commitId, c -> first(queryCommits(c, "c.repo_id = ? AND c.id = ?", "", repoId, commitId)));
    }

    @Override
    public List<CommitRecord> findCommitsByPrefix(long repoId, String hexPrefix, int limit) {
        if (hexPrefix == null || !HEX_PREFIX.matcher(hexPrefix.toLowerCase(java.util.Locale.ROOT)).matches()) {
            throw new InvalidInputException("a commit id prefix is 1-40 hex characters: " + Names.quote(hexPrefix));
        }
        if (limit < 1) {
            throw new InvalidInputException("limit must be at least 1, got " + limit);
        }
        String lo = hexPrefix.toLowerCase(java.util.Locale.ROOT);
        // Every id starting with lo sorts in [lo, lo + "g"): hex digits are all below 'g'. A range,
        // unlike LIKE, uses the (repo_id, id) index on both engines.
        return read("find commits by prefix " + lo, c -> queryCommits(c,
                "c.repo_id = ? AND c.id >= ? AND c.id < ?", " LIMIT " + limit, repoId, lo, lo + "g"));
    }

    @Override
    public List<CommitRecord> listCommits(long repoId) {
        return read("list commits", c -> queryCommits(c, "c.repo_id = ?", "", repoId));
    }

    /** Commits matching {@code where} (over alias c), newest first, with their parents and metrics. */
    private static List<CommitRecord> queryCommits(Connection c, String where, String tail, Object... params) throws SQLException {
        record Row(long seq, String id, long repoId, String author, String message, Instant createdAt,
                   Long step, String metadataJson, boolean expired) {}
        Map<Long, Row> rows = new LinkedHashMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT " + COMMIT_COLUMNS + " FROM commits c WHERE " + where
                + " ORDER BY c.created_at DESC, c.seq DESC" + tail)) {
            bind(ps, params);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    long step = rs.getLong(7);
                    Long stepOrNull = rs.wasNull() ? null : step;
                    rows.put(rs.getLong(1), new Row(rs.getLong(1), rs.getString(2), rs.getLong(3), rs.getString(4),
                            rs.getString(5), Timestamps.fromNanos(rs.getLong(6)), stepOrNull, rs.getString(8), rs.getBoolean(9)));
                }
            }
        }
        if (rows.isEmpty()) {
            return List.of();
        }
        Map<Long, List<String>> parents = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT p.commit_seq, p.parent_id FROM commit_parents p"
                + " JOIN commits c ON c.seq = p.commit_seq WHERE " + where + " ORDER BY p.commit_seq, p.position")) {
            bind(ps, params);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    parents.computeIfAbsent(rs.getLong(1), k -> new ArrayList<>()).add(rs.getString(2));
                }
            }
        }
        Map<Long, Map<String, Double>> metrics = new TreeMap<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT m.commit_seq, m.name, m.value FROM commit_metrics m"
                + " JOIN commits c ON c.seq = m.commit_seq WHERE " + where)) {
            bind(ps, params);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    metrics.computeIfAbsent(rs.getLong(1), k -> new TreeMap<>()).put(rs.getString(2), rs.getDouble(3));
                }
            }
        }
        List<CommitRecord> out = new ArrayList<>(rows.size());
        for (Row r : rows.values()) {
            out.add(new CommitRecord(r.id(), r.repoId(), parents.getOrDefault(r.seq(), List.of()), r.author(), r.message(),
                    r.createdAt(), r.step(), metrics.getOrDefault(r.seq(), Map.of()), r.metadataJson(), r.expired()));
        }
        return out;
    }

    @Override
    public List<FileEntry> listFiles(long repoId, String commitId) {
        Objects.requireNonNull(commitId, "commitId");
        return read("list files of " + commitId, c -> queryFiles(c, "", repoId, commitId));
    }

    @Override
    public Optional<FileEntry> findFile(long repoId, String commitId, String path) {
        Objects.requireNonNull(commitId, "commitId");
        Objects.requireNonNull(path, "path");
        return read("find file of " + commitId, c -> first(queryFiles(c, " AND f.path = ?", repoId, commitId, path)));
    }

    private static List<FileEntry> queryFiles(Connection c, String filter, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT f.path, f.size, f.sha256, f.manifest_id FROM commit_files f"
                + " JOIN commits c ON c.seq = f.commit_seq WHERE c.repo_id = ? AND c.id = ?" + filter + " ORDER BY f.path")) {
            bind(ps, params);
            List<FileEntry> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new FileEntry(rs.getString(1), rs.getLong(2),
                            ContentHash.fromBytes(rs.getBytes(3)), ContentHash.fromBytes(rs.getBytes(4))));
                }
            }
            return out;
        }
    }

    @Override
    public List<LineageLink> lineageOf(long repoId, String commitId) {
        Objects.requireNonNull(commitId, "commitId");
        return read("lineage of " + commitId, c -> queryLineage(c, "c.repo_id = ? AND c.id = ?", repoId, commitId));
    }

    @Override
    public List<LineageLink> derivedFrom(long targetRepoId, String targetCommitId) {
        return read("commits derived from " + targetRepoId + "/" + targetCommitId, c -> targetCommitId == null
                ? queryLineage(c, "l.target_repo_id = ?", targetRepoId)
                : queryLineage(c, "l.target_repo_id = ? AND l.target_commit_id = ?", targetRepoId, targetCommitId));
    }

    private static List<LineageLink> queryLineage(Connection c, String where, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT c.repo_id, c.id, l.relation, l.target_repo_id, l.target_commit_id,"
                + " COALESCE(l.id_repo_id, l.target_repo_id)"
                + " FROM lineage l JOIN commits c ON c.seq = l.commit_seq WHERE " + where
                + " ORDER BY c.repo_id, c.seq, l.relation, l.target_repo_id, l.target_commit_id")) {
            bind(ps, params);
            List<LineageLink> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new LineageLink(rs.getLong(1), rs.getString(2), LineageRelation.fromWire(rs.getString(3)),
                            rs.getLong(4), rs.getString(5), rs.getLong(6)));
                }
            }
            return out;
        }
    }

    @Override
    public void markExpired(long repoId, Collection<String> commitIds) {
        List<String> ids = List.copyOf(commitIds);
        ids.forEach(id -> commitId(id, "commit id"));
        if (ids.isEmpty()) {
            return;
        }
        write("mark " + ids.size() + " commits expired", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE commits SET expired = ? WHERE repo_id = ? AND id = ?")) {
                for (String id : ids) {
                    bind(ps, true, repoId, id);
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    // ---- refs

    @Override
    public List<Ref> listRefs(long repoId) {
        return read("list refs", c -> queryRefs(c, "repo_id = ? ORDER BY name", repoId));
    }

    @Override
    public Optional<Ref> findRef(long repoId, String name) {
        Objects.requireNonNull(name, "name");
        return read("find ref", c -> findRef(c, repoId, name));
    }

    private static Optional<Ref> findRef(Connection c, long repoId, String name) throws SQLException {
        return first(queryRefs(c, "repo_id = ? AND name = ?", repoId, name));
    }

    private static List<Ref> queryRefs(Connection c, String where, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT name, kind, commit_id FROM refs WHERE " + where)) {
            bind(ps, params);
            List<Ref> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Ref(rs.getString(1), RefKind.valueOf(rs.getString(2)), rs.getString(3)));
                }
            }
            return out;
        }
    }

    @Override
    public void compareAndSetRef(long repoId, String name, RefKind kind, String expected, String next) {
        Names.ref(name);
        Objects.requireNonNull(kind, "kind");
        if (expected == null && next == null) {
            throw new InvalidInputException("compare-and-set of " + Names.quote(name) + " needs an expected or a next commit");
        }
        if (expected != null) {
            commitId(expected, "expected commit");
        }
        if (next != null) {
            commitId(next, "next commit");
        }
        if (kind == RefKind.TAG && expected != null && next != null) {
            throw new InvalidInputException("tag " + Names.quote(name) + " cannot move; tags are created once and may only be deleted");
        }
        String what = kind.name().toLowerCase(java.util.Locale.ROOT) + " " + Names.quote(name);
        write("update " + what, c -> {
            requireRepo(c, repoId);
            if (next != null && !commitExists(c, repoId, next)) {
                throw new NotFoundException("commit " + next + " not found in repository " + repoId + "; cannot point " + what + " at it");
            }
            int changed;
            if (expected == null) {
                changed = update(c, "INSERT INTO refs (repo_id, name, kind, commit_id) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                        repoId, name, kind.name(), next);
            } else if (next == null) {
                changed = update(c, "DELETE FROM refs WHERE repo_id = ? AND name = ? AND kind = ? AND commit_id = ?",
                        repoId, name, kind.name(), expected);
            } else {
                changed = update(c, "UPDATE refs SET commit_id = ? WHERE repo_id = ? AND name = ? AND kind = ? AND commit_id = ?",
                        next, repoId, name, kind.name(), expected);
            }
            if (changed == 1) {
                appendLog(c, repoId, ReplicationEntry.Kind.REF, name, kind, expected, next);
            } else {
                Optional<Ref> current = findRef(c, repoId, name);
                String now = current.map(r -> r.kind() != kind
                                ? "is a " + r.kind().name().toLowerCase(java.util.Locale.ROOT) + " at " + r.commitId()
                                : "is at " + r.commitId())
                        .orElse("does not exist");
                throw new ConflictException(what + " was not updated: expected "
                        + (expected == null ? "it not to exist" : "it at " + expected) + " but it " + now
                        + "; refresh and retry");
            }
            return null;
        });
    }

    // ---- replication log

    private static final String LOG_COLUMNS = "seq, at, repo_id, kind, ref_name, ref_kind, old_commit, new_commit";

    /** Appends one log entry; the last statement of its transaction (the PostgreSQL lock is held only for the commit). */
    private void appendLog(Connection c, long repoId, ReplicationEntry.Kind kind, String ref, RefKind refKind,
                           String oldCommit, String newCommit) throws SQLException {
        String lock = db.dialect().replicationLogLock();
        if (lock != null) {
            try (Statement s = c.createStatement()) {
                s.execute(lock);
            }
        }
        update(c, "INSERT INTO replication_log (at, repo_id, kind, ref_name, ref_kind, old_commit, new_commit)"
                        + " VALUES (?, ?, ?, ?, ?, ?, ?)",
                Timestamps.toNanos(Instant.now()), repoId, kind.name(), ref, ref == null ? null : refKind.name(), oldCommit, newCommit);
    }

    @Override
    public String serverId() {
        return read("read the server id", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT server_id FROM server_identity WHERE singleton = 1");
                 ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new StorageException("catalog " + db.describe() + " has no server identity row", null);
                }
                return rs.getString(1);
            }
        });
    }

    @Override
    public List<ReplicationEntry> replicationLog(long afterSeq, int limit) {
        if (limit < 1) {
            throw new InvalidInputException("limit must be at least 1, got " + limit);
        }
        return read("read the replication log after seq " + afterSeq, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT " + LOG_COLUMNS + " FROM replication_log WHERE seq > ?"
                    + " ORDER BY seq LIMIT " + limit)) {
                bind(ps, afterSeq);
                List<ReplicationEntry> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        String refKind = rs.getString(6);
                        out.add(new ReplicationEntry(rs.getLong(1), Timestamps.fromNanos(rs.getLong(2)), rs.getLong(3),
                                ReplicationEntry.Kind.valueOf(rs.getString(4)), rs.getString(5),
                                refKind == null ? null : RefKind.valueOf(refKind), rs.getString(7), rs.getString(8)));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public long lastReplicationSeq() {
        return read("read the last replication log seq", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT COALESCE(MAX(seq), 0) FROM replication_log");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }

    @Override
    public long countReplicationLog(long afterSeq) {
        return read("count replication log entries after seq " + afterSeq, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM replication_log WHERE seq > ?")) {
                bind(ps, afterSeq);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getLong(1);
                }
            }
        });
    }

    @Override
    public Optional<ReplicaProgress> replicaProgress(String replicaId) {
        Objects.requireNonNull(replicaId, "replicaId");
        return read("read the progress of replica " + replicaId, c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT replica_id, url, replicated_seq, updated_at FROM replicas WHERE replica_id = ?")) {
                bind(ps, replicaId);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next()
                            ? Optional.of(new ReplicaProgress(rs.getString(1), rs.getString(2), rs.getLong(3), Timestamps.fromNanos(rs.getLong(4))))
                            : Optional.empty();
                }
            }
        });
    }

    @Override
    public List<ReplicaProgress> replicas() {
        return read("list replicas", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT replica_id, url, replicated_seq, updated_at FROM replicas ORDER BY replica_id");
                 ResultSet rs = ps.executeQuery()) {
                List<ReplicaProgress> out = new ArrayList<>();
                while (rs.next()) {
                    out.add(new ReplicaProgress(rs.getString(1), rs.getString(2), rs.getLong(3), Timestamps.fromNanos(rs.getLong(4))));
                }
                return out;
            }
        });
    }

    @Override
    public void recordReplicated(String replicaId, String url, long seq, Instant at) {
        requireName(replicaId, "replica id");
        requireName(url, "replica url");
        Objects.requireNonNull(at, "at");
        if (seq < 0) {
            throw new InvalidInputException("a replicated seq is at least 0, got " + seq);
        }
        write("record replica " + replicaId + " at seq " + seq, c -> update(c,
                "INSERT INTO replicas (replica_id, url, replicated_seq, updated_at) VALUES (?, ?, ?, ?)"
                        + " ON CONFLICT (replica_id) DO UPDATE SET url = excluded.url, updated_at = excluded.updated_at,"
                        + " replicated_seq = CASE WHEN excluded.replicated_seq > replicas.replicated_seq"
                        + " THEN excluded.replicated_seq ELSE replicas.replicated_seq END",
                replicaId, url, seq, Timestamps.toNanos(at)));
    }

    @Override
    public boolean importCommit(NewCommit commit) {
        Objects.requireNonNull(commit, "commit");
        CommitRecord r = commit.commit();
        validate(commit, true);
        long createdAt = Timestamps.toNanos(r.createdAt());
        return write("import commit " + r.id(), c -> {
            requireRepo(c, r.repoId());
            Long seq = insertCommitRow(c, r, createdAt);
            if (seq == null) {
                return false;
            }
            insertChildren(c, seq, commit);
            appendLog(c, r.repoId(), ReplicationEntry.Kind.COMMIT, null, null, null, r.id());
            return true;
        });
    }

    @Override
    public List<String> replaceAccessState(AccessState state) {
        Objects.requireNonNull(state, "state");
        for (AccessState.User u : state.users()) {
            requireName(u.name(), "user name");
        }
        for (AccessState.Group g : state.groups()) {
            requireName(g.name(), "group name");
        }
        for (TokenRecord t : state.tokens()) {
            requireName(t.id(), "token id");
            requireFields("token " + Names.quote(t.id()), t.user(), t.label(), t.scope(), t.createdAt());
            requireHash(t.secretHash(), "secret hash of token " + Names.quote(t.id()));
        }
        for (AccessState.RepoAccess r : state.repos()) {
            r.retention().forEach((branch, keep) -> {
                Names.ref(branch);
                if (keep == null || keep < 1) {
                    throw new InvalidInputException("keep-last of " + Names.quote(branch) + " in " + r.repo() + " must be at least 1");
                }
            });
            r.protections().forEach(p -> requireName(p.pattern(), "protected branch pattern"));
            for (AccessState.Grant g : r.grants()) {
                requireName(g.id(), "grant id");
                commitId(g.commitId(), "granted commit");
            }
        }
        return write("replace the access state", c -> {
            Map<String, Long> repoIds = new LinkedHashMap<>();
            for (AccessState.RepoAccess r : state.repos()) {
                long id = idByName(c, "SELECT id FROM repos WHERE name = ?", r.repo(), "repository");
                if (repoIds.put(r.repo(), id) != null) {
                    throw new InvalidInputException("repository " + Names.quote(r.repo()) + " is listed twice");
                }
            }
            String lock = db.dialect().subjectNamespaceLock();
            if (lock != null) {
                try (Statement st = c.createStatement()) {
                    st.execute(lock);
                }
            }
            try (PreparedStatement upd = c.prepareStatement("UPDATE users SET admin = ?, disabled = ?, created_at = ? WHERE name = ?");
                 PreparedStatement ins = c.prepareStatement("INSERT INTO users (name, admin, disabled, created_at) VALUES (?, ?, ?, ?)")) {
                for (AccessState.User u : state.users()) {
                    bind(upd, u.admin(), u.disabled(), Timestamps.toNanos(u.createdAt()), u.name());
                    if (upd.executeUpdate() == 0) {
                        bind(ins, u.name(), u.admin(), u.disabled(), Timestamps.toNanos(u.createdAt()));
                        ins.executeUpdate();
                    }
                }
            }
            for (AccessState.Group g : state.groups()) {
                if (update(c, "UPDATE user_groups SET created_at = ? WHERE name = ?", Timestamps.toNanos(g.createdAt()), g.name()) == 0) {
                    update(c, "INSERT INTO user_groups (name, created_at) VALUES (?, ?)", g.name(), Timestamps.toNanos(g.createdAt()));
                }
                long groupId = groupId(c, g.name());
                update(c, "DELETE FROM group_members WHERE group_id = ?", groupId);
                for (String member : new LinkedHashSet<>(g.members())) {
                    update(c, "INSERT INTO group_members (group_id, user_id) VALUES (?, ?)", groupId, userId(c, member));
                }
            }
            try (PreparedStatement ps = c.prepareStatement("SELECT u.name FROM users u JOIN user_groups g ON g.name = u.name");
                 ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    throw new ConflictException("both a user and a group are named " + Names.quote(rs.getString(1))
                            + " (users and groups share one namespace)");
                }
            }
            try (PreparedStatement upd = c.prepareStatement("UPDATE tokens SET user_id = ?, label = ?, scope = ?, repos = ?,"
                    + " secret_hash = ?, created_at = ?, expires_at = ?, revoked_at = COALESCE(revoked_at, ?) WHERE id = ?");
                 PreparedStatement ins = c.prepareStatement("INSERT INTO tokens (user_id, label, scope, repos, secret_hash,"
                         + " created_at, expires_at, revoked_at, id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                for (TokenRecord t : state.tokens()) {
                    Object[] values = {userId(c, t.user()), t.label(), t.scope().name(), toJson(t.repos()), t.secretHash(),
                            Timestamps.toNanos(t.createdAt()), nanosOrNull(t.expiresAt()), nanosOrNull(t.revokedAt()), t.id()};
                    bind(upd, values);
                    if (upd.executeUpdate() == 0) {
                        bind(ins, values);
                        ins.executeUpdate();
                    }
                }
            }
            List<String> deferred = new ArrayList<>();
            for (AccessState.RepoAccess r : state.repos()) {
                long repoId = repoIds.get(r.repo());
                update(c, "UPDATE repos SET visibility = ? WHERE id = ?", r.visibility().name(), repoId);
                for (String table : List.of("retention", "repo_roles", "protections", "grants")) {
                    update(c, "DELETE FROM " + table + " WHERE repo_id = ?", repoId);
                }
                for (Map.Entry<String, Integer> e : new TreeMap<>(r.retention()).entrySet()) {
                    update(c, "INSERT INTO retention (repo_id, branch, keep_last) VALUES (?, ?, ?)", repoId, e.getKey(), e.getValue());
                }
                for (AccessState.Role role : r.roles()) {
                    requireSubject(c, role.kind(), role.subject());
                    update(c, "INSERT INTO repo_roles (repo_id, subject_kind, subject, role) VALUES (?, ?, ?, ?)",
                            repoId, role.kind().name(), role.subject(), role.role().name());
                }
                for (AccessState.ProtectionRule p : r.protections()) {
                    update(c, "INSERT INTO protections (repo_id, pattern, allow) VALUES (?, ?, ?)", repoId, p.pattern(), toJson(p.allow()));
                }
                for (AccessState.Grant g : r.grants()) {
                    if (!commitExists(c, repoId, g.commitId())) {
                        deferred.add(g.id());
                        continue;
                    }
                    requireSubject(c, g.kind(), g.subject());
                    update(c, "INSERT INTO grants (id, repo_id, ref, commit_id, subject_kind, subject, granted_by, created_at,"
                                    + " expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            g.id(), repoId, g.ref(), g.commitId(), g.kind().name(), g.subject(), g.grantedBy(),
                            Timestamps.toNanos(g.createdAt()), nanosOrNull(g.expiresAt()), nanosOrNull(g.revokedAt()));
                }
            }
            return List.copyOf(deferred);
        });
    }

    // ---- retention

    @Override
    public void setRetention(long repoId, String branch, Integer keepLast) {
        Names.ref(branch);
        if (keepLast != null && keepLast < 1) {
            throw new InvalidInputException("keep-last must be at least 1, got " + keepLast + "; pass null to remove the rule");
        }
        write("set retention of " + Names.quote(branch), c -> {
            requireRepo(c, repoId);
            return keepLast == null
                    ? update(c, "DELETE FROM retention WHERE repo_id = ? AND branch = ?", repoId, branch)
                    : update(c, "INSERT INTO retention (repo_id, branch, keep_last) VALUES (?, ?, ?)"
                            + " ON CONFLICT (repo_id, branch) DO UPDATE SET keep_last = excluded.keep_last", repoId, branch, keepLast);
        });
    }

    @Override
    public Map<String, Integer> retentionRules(long repoId) {
        return read("read retention rules", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT branch, keep_last FROM retention WHERE repo_id = ? ORDER BY branch")) {
                bind(ps, repoId);
                Map<String, Integer> out = new LinkedHashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.put(rs.getString(1), rs.getInt(2));
                    }
                }
                return Collections.unmodifiableMap(out);
            }
        });
    }

    // ---- users and groups

    @Override
    public UserRecord createUser(String name, boolean admin) {
        requireName(name, "user name");
        Instant now = Instant.now();
        return write("create user " + Names.quote(name), c -> {
            requireFreeSubjectName(c, name);
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO users (name, admin, disabled, created_at) VALUES (?, ?, ?, ?) RETURNING id")) {
                bind(ps, name, admin, false, Timestamps.toNanos(now));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new UserRecord(rs.getLong(1), name, admin, false, now);
                }
            }
        });
    }

    @Override
    public Optional<UserRecord> findUser(String name) {
        Objects.requireNonNull(name, "name");
        return read("find user", c -> first(queryUsers(c, "WHERE name = ?", name)));
    }

    @Override
    public List<UserRecord> listUsers() {
        return read("list users", c -> queryUsers(c, "ORDER BY name"));
    }

    private static List<UserRecord> queryUsers(Connection c, String tail, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, name, admin, disabled, created_at FROM users " + tail)) {
            bind(ps, params);
            List<UserRecord> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new UserRecord(rs.getLong(1), rs.getString(2), rs.getBoolean(3), rs.getBoolean(4),
                            Timestamps.fromNanos(rs.getLong(5))));
                }
            }
            return out;
        }
    }

    @Override
    public void setUserDisabled(String name, boolean disabled) {
        Objects.requireNonNull(name, "name");
        write((disabled ? "disable" : "enable") + " user " + Names.quote(name), c -> {
            if (update(c, "UPDATE users SET disabled = ? WHERE name = ?", disabled, name) == 0) {
                throw new NotFoundException("user " + Names.quote(name) + " does not exist");
            }
            return null;
        });
    }

    @Override
    public GroupRecord createGroup(String name) {
        requireName(name, "group name");
        Instant now = Instant.now();
        return write("create group " + Names.quote(name), c -> {
            requireFreeSubjectName(c, name);
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO user_groups (name, created_at) VALUES (?, ?) RETURNING id")) {
                bind(ps, name, Timestamps.toNanos(now));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return new GroupRecord(rs.getLong(1), name, now);
                }
            }
        });
    }

    @Override
    public List<GroupRecord> listGroups() {
        return read("list groups", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, name, created_at FROM user_groups ORDER BY name")) {
                List<GroupRecord> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new GroupRecord(rs.getLong(1), rs.getString(2), Timestamps.fromNanos(rs.getLong(3))));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public void addGroupMember(String group, String user) {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(user, "user");
        write("add " + Names.quote(user) + " to group " + Names.quote(group), c -> {
            long groupId = groupId(c, group);
            long userId = userId(c, user);
            return update(c, "INSERT INTO group_members (group_id, user_id) VALUES (?, ?) ON CONFLICT DO NOTHING", groupId, userId);
        });
    }

    @Override
    public void removeGroupMember(String group, String user) {
        Objects.requireNonNull(group, "group");
        Objects.requireNonNull(user, "user");
        write("remove " + Names.quote(user) + " from group " + Names.quote(group), c -> update(c,
                "DELETE FROM group_members WHERE group_id = ? AND user_id IN (SELECT id FROM users WHERE name = ?)",
                groupId(c, group), user));
    }

    @Override
    public Map<String, Set<String>> groupMembers() {
        return read("list group members", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT g.name, u.name FROM user_groups g"
                    + " LEFT JOIN group_members m ON m.group_id = g.id LEFT JOIN users u ON u.id = m.user_id"
                    + " ORDER BY g.name, u.name")) {
                Map<String, Set<String>> out = new LinkedHashMap<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        Set<String> members = out.computeIfAbsent(rs.getString(1), k -> new LinkedHashSet<>());
                        String member = rs.getString(2);
                        if (member != null) {
                            members.add(member);
                        }
                    }
                }
                out.replaceAll((group, members) -> Collections.unmodifiableSet(members));
                return Collections.unmodifiableMap(out);
            }
        });
    }

    /** Users and groups share one namespace (two tables): the check and the insert after it must not interleave. */
    private void requireFreeSubjectName(Connection c, String name) throws SQLException {
        String lock = db.dialect().subjectNamespaceLock();
        if (lock != null) {
            try (Statement s = c.createStatement()) {
                s.execute(lock);
            }
        }
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT 'user' FROM users WHERE name = ? UNION ALL SELECT 'group' FROM user_groups WHERE name = ?")) {
            bind(ps, name, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next()) {
                    throw new ConflictException("a " + rs.getString(1) + " named " + Names.quote(name)
                            + " already exists (users and groups share one namespace); choose another name");
                }
            }
        }
    }

    private static long userId(Connection c, String name) throws SQLException {
        return idByName(c, "SELECT id FROM users WHERE name = ?", name, "user");
    }

    private static long groupId(Connection c, String name) throws SQLException {
        return idByName(c, "SELECT id FROM user_groups WHERE name = ?", name, "group");
    }

    private static long idByName(Connection c, String sql, String name, String what) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, name);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    throw new NotFoundException(what + " " + Names.quote(name) + " does not exist");
                }
                return rs.getLong(1);
            }
        }
    }

    private static void requireSubject(Connection c, SubjectKind kind, String name) throws SQLException {
        if (kind == SubjectKind.USER) {
            userId(c, name);
        } else {
            groupId(c, name);
        }
    }

    // ---- API tokens

    @Override
    public void createToken(TokenRecord token) {
        Objects.requireNonNull(token, "token");
        requireName(token.id(), "token id");
        String what = "create token " + Names.quote(token.id());
        requireFields(what, token.user(), token.label(), token.scope(), token.createdAt());
        requireHash(token.secretHash(), "secret hash of token " + Names.quote(token.id()));
        String repos = toJson(token.repos());
        write(what, c -> {
            long userId = userId(c, token.user());
            int inserted = update(c, "INSERT INTO tokens (id, user_id, label, scope, repos, secret_hash, created_at, expires_at, revoked_at)"
                            + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    token.id(), userId, token.label(), token.scope().name(), repos, token.secretHash(),
                    Timestamps.toNanos(token.createdAt()), nanosOrNull(token.expiresAt()), nanosOrNull(token.revokedAt()));
            if (inserted == 0) {
                throw new ConflictException("token id " + Names.quote(token.id()) + " already exists; generate another");
            }
            return null;
        });
    }

    @Override
    public List<TokenRecord> listTokens() {
        return read("list tokens", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT t.id, u.name, t.label, t.scope, t.repos, t.secret_hash,"
                    + " t.created_at, t.expires_at, t.revoked_at FROM tokens t JOIN users u ON u.id = t.user_id"
                    + " ORDER BY t.created_at, t.id")) {
                List<TokenRecord> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new TokenRecord(rs.getString(1), rs.getString(2), rs.getString(3), TokenScope.valueOf(rs.getString(4)),
                                fromJson(rs.getString(5)), rs.getBytes(6), Timestamps.fromNanos(rs.getLong(7)),
                                instantOrNull(rs, 8), instantOrNull(rs, 9)));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public void revokeToken(String id, Instant at) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(at, "at");
        write("revoke token " + Names.quote(id), c -> {
            // The first revocation time stands: revoking again changes nothing.
            if (update(c, "UPDATE tokens SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", Timestamps.toNanos(at), id) == 0
                    && !exists(c, "SELECT 1 FROM tokens WHERE id = ?", id)) {
                throw new NotFoundException("token " + Names.quote(id) + " does not exist");
            }
            return null;
        });
    }

    // ---- repository access

    @Override
    public void setVisibility(long repoId, Visibility visibility) {
        Objects.requireNonNull(visibility, "visibility");
        write("set visibility of repository id " + repoId, c -> {
            if (update(c, "UPDATE repos SET visibility = ? WHERE id = ?", visibility.name(), repoId) == 0) {
                throw new NotFoundException("repository id " + repoId + " does not exist");
            }
            return null;
        });
    }

    @Override
    public void setRole(long repoId, SubjectKind kind, String subject, RepoRole role) {
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(subject, "subject");
        String who = kind.wire() + " " + Names.quote(subject);
        String what = role == null ? "remove the role of " + who : "make " + who + " " + role.wire();
        write(what + " on repository id " + repoId, c -> {
            requireRepo(c, repoId);
            if (role == null) {
                return update(c, "DELETE FROM repo_roles WHERE repo_id = ? AND subject_kind = ? AND subject = ?",
                        repoId, kind.name(), subject);
            }
            requireSubject(c, kind, subject);
            return update(c, "INSERT INTO repo_roles (repo_id, subject_kind, subject, role) VALUES (?, ?, ?, ?)"
                    + " ON CONFLICT (repo_id, subject_kind, subject) DO UPDATE SET role = excluded.role",
                    repoId, kind.name(), subject, role.name());
        });
    }

    @Override
    public List<RoleBinding> listRoles() {
        return read("list roles", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT repo_id, subject_kind, subject, role FROM repo_roles"
                    + " ORDER BY repo_id, subject_kind, subject")) {
                List<RoleBinding> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new RoleBinding(rs.getLong(1), SubjectKind.valueOf(rs.getString(2)), rs.getString(3),
                                RepoRole.valueOf(rs.getString(4))));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public void putProtection(Protection protection) {
        Objects.requireNonNull(protection, "protection");
        requireName(protection.pattern(), "protected branch pattern");
        String allow = toJson(protection.allow());
        write("protect " + Names.quote(protection.pattern()) + " in repository id " + protection.repoId(), c -> {
            requireRepo(c, protection.repoId());
            return update(c, "INSERT INTO protections (repo_id, pattern, allow) VALUES (?, ?, ?)"
                    + " ON CONFLICT (repo_id, pattern) DO UPDATE SET allow = excluded.allow",
                    protection.repoId(), protection.pattern(), allow);
        });
    }

    @Override
    public void deleteProtection(long repoId, String pattern) {
        Objects.requireNonNull(pattern, "pattern");
        write("unprotect " + Names.quote(pattern) + " in repository id " + repoId, c -> {
            if (update(c, "DELETE FROM protections WHERE repo_id = ? AND pattern = ?", repoId, pattern) == 0) {
                throw new NotFoundException("branch pattern " + Names.quote(pattern) + " is not protected in repository id " + repoId);
            }
            return null;
        });
    }

    @Override
    public List<Protection> listProtections() {
        return read("list protections", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT repo_id, pattern, allow FROM protections ORDER BY repo_id, pattern")) {
                List<Protection> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new Protection(rs.getLong(1), rs.getString(2), fromJson(rs.getString(3))));
                    }
                }
                return out;
            }
        });
    }

    @Override
    public void createGrant(GrantRecord grant) {
        Objects.requireNonNull(grant, "grant");
        requireName(grant.id(), "grant id");
        String what = "create grant " + Names.quote(grant.id());
        requireFields(what, grant.kind(), grant.subject(), grant.grantedBy(), grant.createdAt());
        commitId(grant.commitId(), "granted commit");
        if (grant.ref() != null) {
            Names.ref(grant.ref());
        }
        write(what, c -> {
            requireRepo(c, grant.repoId());
            if (!commitExists(c, grant.repoId(), grant.commitId())) {
                throw new NotFoundException("commit " + grant.commitId() + " not found in repository id " + grant.repoId());
            }
            requireSubject(c, grant.kind(), grant.subject());
            int inserted = update(c, "INSERT INTO grants (id, repo_id, ref, commit_id, subject_kind, subject, granted_by,"
                            + " created_at, expires_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                    grant.id(), grant.repoId(), grant.ref(), grant.commitId(), grant.kind().name(), grant.subject(),
                    grant.grantedBy(), Timestamps.toNanos(grant.createdAt()), nanosOrNull(grant.expiresAt()),
                    nanosOrNull(grant.revokedAt()));
            if (inserted == 0) {
                throw new ConflictException("grant id " + Names.quote(grant.id()) + " already exists; generate another");
            }
            return null;
        });
    }

    @Override
    public void revokeGrant(long repoId, String id, Instant at) {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(at, "at");
        write("revoke grant " + Names.quote(id), c -> {
            // The first revocation time stands: revoking again changes nothing.
            if (update(c, "UPDATE grants SET revoked_at = ? WHERE repo_id = ? AND id = ? AND revoked_at IS NULL",
                    Timestamps.toNanos(at), repoId, id) == 0
                    && !exists(c, "SELECT 1 FROM grants WHERE repo_id = ? AND id = ?", repoId, id)) {
                throw new NotFoundException("grant " + Names.quote(id) + " does not exist in repository id " + repoId);
            }
            return null;
        });
    }

    @Override
    public List<GrantRecord> listGrants() {
        return read("list grants", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT id, repo_id, ref, commit_id, subject_kind, subject, granted_by,"
                    + " created_at, expires_at, revoked_at FROM grants ORDER BY repo_id, created_at, id")) {
                List<GrantRecord> out = new ArrayList<>();
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        out.add(new GrantRecord(rs.getString(1), rs.getLong(2), rs.getString(3), rs.getString(4),
                                SubjectKind.valueOf(rs.getString(5)), rs.getString(6), rs.getString(7),
                                Timestamps.fromNanos(rs.getLong(8)), instantOrNull(rs, 9), instantOrNull(rs, 10)));
                    }
                }
                return out;
            }
        });
    }

    // ---- dedup scope

    @Override
    public void addRepoChunks(long repoId, Collection<ContentHash> ids) {
        List<ContentHash> all = List.copyOf(ids);
        if (all.isEmpty()) {
            return;
        }
        write("record " + all.size() + " chunks of repository id " + repoId, c -> {
            requireRepo(c, repoId);
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO repo_chunks (repo_id, chunk_id) VALUES (?, ?) ON CONFLICT DO NOTHING")) {
                int pending = 0;
                for (ContentHash id : all) {
                    bind(ps, repoId, id.toBytes());
                    ps.addBatch();
                    if (++pending == BATCH) {
                        ps.executeBatch();
                        pending = 0;
                    }
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    @Override
    public Set<ContentHash> repoChunksAmong(long repoId, Collection<ContentHash> ids) {
        List<ContentHash> distinct = List.copyOf(new LinkedHashSet<>(ids));
        if (distinct.isEmpty()) {
            return Set.of();
        }
        return read("look up " + distinct.size() + " chunks of repository id " + repoId, c -> {
            Set<ContentHash> found = new HashSet<>();
            for (int from = 0; from < distinct.size(); from += IN_LIST) {
                List<ContentHash> part = distinct.subList(from, Math.min(distinct.size(), from + IN_LIST));
                try (PreparedStatement ps = c.prepareStatement("SELECT chunk_id FROM repo_chunks WHERE repo_id = ? AND chunk_id IN ("
                        + String.join(", ", Collections.nCopies(part.size(), "?")) + ")")) {
                    ps.setLong(1, repoId);
                    for (int i = 0; i < part.size(); i++) {
                        ps.setBytes(i + 2, part.get(i).toBytes());
                    }
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            found.add(ContentHash.fromBytes(rs.getBytes(1)));
                        }
                    }
                }
            }
            return Collections.unmodifiableSet(found);
        });
    }

    @Override
    public boolean repoReferencesManifest(long repoId, ContentHash manifestId) {
        Objects.requireNonNull(manifestId, "manifestId");
        return read("find manifest " + manifestId.hex() + " in repository id " + repoId, c -> exists(c,
                "SELECT 1 FROM commit_files f JOIN commits c ON c.seq = f.commit_seq WHERE f.manifest_id = ? AND c.repo_id = ? LIMIT 1",
                manifestId.toBytes(), repoId));
    }

    // ---- audit log

    @Override
    public void appendAudit(List<AuditRecord> records) {
        List<AuditRecord> all = List.copyOf(records);
        if (all.isEmpty()) {
            return;
        }
        long first = all.getFirst().seq();
        for (int i = 0; i < all.size(); i++) {
            AuditRecord r = all.get(i);
            String what = "audit record " + r.seq();
            requireFields(what, r.at(), r.principal(), r.action(), r.decision());
            requireHash(r.prevHash(), "prev hash of " + what);
            requireHash(r.hash(), "hash of " + what);
            if (r.seq() != first + i) {
                throw new ConflictException("audit records to append must have consecutive seqs, but " + r.seq()
                        + " follows " + all.get(i - 1).seq());
            }
        }
        write("append " + all.size() + " audit records from seq " + first, c -> {
            long last;
            try (PreparedStatement ps = c.prepareStatement("SELECT COALESCE(MAX(seq), 0) FROM audit_log");
                 ResultSet rs = ps.executeQuery()) {
                rs.next();
                last = rs.getLong(1);
            }
            if (first != last + 1) {
                throw new ConflictException("audit record " + first + " does not continue the log, whose last seq is " + last
                        + "; reload the log's tail and retry");
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO audit_log (" + AUDIT_COLUMNS + ", repo)"
                    + " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                int pending = 0;
                for (AuditRecord r : all) {
                    bind(ps, r.seq(), Timestamps.toNanos(r.at()), r.principal(), r.tokenId(), r.client(), r.action(),
                            r.resource(), r.decision(), r.status(), r.detail(), r.prevHash(), r.hash(), r.repo());
                    ps.addBatch();
                    if (++pending == BATCH) {
                        ps.executeBatch();
                        pending = 0;
                    }
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    @Override
    public Optional<AuditRecord> lastAudit() {
        return read("read the last audit record", c -> first(queryAudit(c, "", " ORDER BY seq DESC LIMIT 1")));
    }

    @Override
    public List<AuditRecord> queryAudit(AuditQuery query) {
        Objects.requireNonNull(query, "query");
        if (query.limit() < 1) {
            throw new InvalidInputException("limit must be at least 1, got " + query.limit());
        }
        StringBuilder where = new StringBuilder("WHERE seq > ?");
        List<Object> params = new ArrayList<>(List.of(query.afterSeq()));
        if (query.repo() != null) {
            // The repository itself, or a resource inside it ("R@rev", "R:..."): AuditRecord.repo().
            where.append(" AND repo = ?");
            params.add(query.repo());
        }
        if (query.principal() != null) {
            where.append(" AND principal = ?");
            params.add(query.principal());
        }
        if (query.action() != null) {
            String a = query.action();
            if (a.endsWith(".")) {
                // "grant." is a prefix: every action in [grant., grant/), as '/' follows '.'.
                where.append(" AND action >= ? AND action < ?");
                params.addAll(List.of(a, a.substring(0, a.length() - 1) + "/"));
            } else {
                where.append(" AND action = ?");
                params.add(a);
            }
        }
        if (query.since() != null) {
            where.append(" AND at >= ?");
            params.add(Timestamps.toNanos(query.since()));
        }
        if (query.until() != null) {
            where.append(" AND at < ?");
            params.add(Timestamps.toNanos(query.until()));
        }
        return read("query the audit log", c -> queryAudit(c, where.toString(),
                " ORDER BY seq LIMIT " + query.limit(), params.toArray()));
    }

    @Override
    public void scanAudit(long fromSeq, Consumer<AuditRecord> sink) {
        Objects.requireNonNull(sink, "sink");
        // Page by seq, each page its own read: memory stays bounded and no connection is held
        // while the sink works (it may well use the catalog itself).
        for (long from = fromSeq; ; ) {
            long at = from;
            List<AuditRecord> page = read("scan the audit log from seq " + at,
                    c -> queryAudit(c, "WHERE seq >= ?", " ORDER BY seq LIMIT " + AUDIT_PAGE, at));
            page.forEach(sink);
            if (page.size() < AUDIT_PAGE) {
                return;
            }
            from = page.getLast().seq() + 1;
        }
    }

    private static List<AuditRecord> queryAudit(Connection c, String where, String tail, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + AUDIT_COLUMNS + " FROM audit_log " + where + tail)) {
            bind(ps, params);
            List<AuditRecord> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new AuditRecord(rs.getLong(1), Timestamps.fromNanos(rs.getLong(2)), rs.getString(3), rs.getString(4),
                            rs.getString(5), rs.getString(6), rs.getString(7), rs.getString(8), rs.getInt(9), rs.getString(10),
                            rs.getBytes(11), rs.getBytes(12)));
                }
            }
            return out;
        }
    }

    @Override
    public void close() {
        db.close();
    }

    @Override
    public String toString() {
        return "JdbcCatalog[" + db.describe() + "]";
    }

    // ---- plumbing

    private <T> T read(String what, Database.SqlWork<T> work) {
        try {
            return db.read(work);
        } catch (SQLException e) {
            throw translate(what, e);
        }
    }

    private <T> T write(String what, Database.SqlWork<T> work) {
        for (int attempt = 1; ; attempt++) {
            try {
                return db.write(work);
            } catch (SQLException e) {
                if (attempt < MAX_ATTEMPTS && db.dialect().isTransient(e)) {
                    LOG.debug("{}: transient failure (attempt {}), retrying: {}", what, attempt, e.getMessage());
                    backOff(attempt);
                    continue;
                }
                throw translate(what, e);
            }
        }
    }

    private static void backOff(int attempt) {
        try {
            Thread.sleep((long) (Math.random() * 20 * (1L << attempt)));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while retrying a catalog write", e);
        }
    }

    private RuntimeException translate(String what, SQLException e) {
        if (db.dialect().isUniqueViolation(e)) {
            return new ConflictException(what + ": it already exists (" + e.getMessage() + ")");
        }
        if (db.dialect().isIntegrityViolation(e)) {
            return new InvalidInputException(what + ": rejected by the catalog's constraints (" + e.getMessage() + ")");
        }
        return new StorageException(what + " failed in catalog " + db.describe() + ": " + e.getMessage(), e);
    }

    private static void requireRepo(Connection c, long repoId) throws SQLException {
        if (queryRepos(c, "WHERE id = ?", repoId).isEmpty()) {
            throw new NotFoundException("repository id " + repoId + " does not exist");
        }
    }

    private static boolean commitExists(Connection c, long repoId, String commitId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT 1 FROM commits WHERE repo_id = ? AND id = ?")) {
            bind(ps, repoId, commitId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static String commitId(String id, String what) {
        if (id == null || !COMMIT_ID.matcher(id).matches()) {
            throw new InvalidInputException(what + " must be 40 lowercase hex characters: " + Names.quote(id));
        }
        return id;
    }

    private static int update(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, params);
            return ps.executeUpdate();
        }
    }

    private static void bind(PreparedStatement ps, Object... params) throws SQLException {
        for (int i = 0; i < params.length; i++) {
            int at = i + 1;
            switch (params[i]) {
                case null -> ps.setNull(at, Types.NULL);
                case String s -> ps.setString(at, s);
                case Long l -> ps.setLong(at, l);
                case Integer n -> ps.setInt(at, n);
                case Double d -> ps.setDouble(at, d);
                case Boolean b -> ps.setBoolean(at, b);
                case byte[] bytes -> ps.setBytes(at, bytes);
                default -> throw new IllegalArgumentException("cannot bind " + params[i].getClass());
            }
        }
    }

    private static boolean exists(Connection c, String sql, Object... params) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            bind(ps, params);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    private static void requireName(String name, String what) {
        if (name == null || name.isBlank()) {
            throw new InvalidInputException(what + " is empty");
        }
    }

    private static void requireFields(String what, Object... values) {
        for (Object v : values) {
            if (v == null) {
                throw new InvalidInputException(what + ": a required field is missing");
            }
        }
    }

    private static void requireHash(byte[] hash, String what) {
        if (hash == null || hash.length != ContentHash.LENGTH) {
            throw new InvalidInputException(what + " must be " + ContentHash.LENGTH + " bytes, got "
                    + (hash == null ? "none" : hash.length));
        }
    }

    private static Long nanosOrNull(Instant t) {
        return t == null ? null : Timestamps.toNanos(t);
    }

    private static Instant instantOrNull(ResultSet rs, int column) throws SQLException {
        long nanos = rs.getLong(column);
        return rs.wasNull() ? null : Timestamps.fromNanos(nanos);
    }

    /** Name lists (token repositories, protection allow lists) are stored as a JSON array of strings. */
    private static String toJson(List<String> names) {
        try {
            return JSON.writeValueAsString(names);
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("cannot encode a list of names as JSON", e);
        }
    }

    private List<String> fromJson(String json) {
        try {
            return JSON.readValue(json, STRING_LIST);
        } catch (JsonProcessingException e) {
            throw new StorageException("catalog " + db.describe() + " holds a name list that is not a JSON array of strings: "
                    + e.getOriginalMessage(), e);
        }
    }

    private static <T> Optional<T> first(List<T> list) {
        return list.isEmpty() ? Optional.empty() : Optional.of(list.getFirst());
    }
}
