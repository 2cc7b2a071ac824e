package dev.strata.catalog.jdbc;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.LineageRelation;
import dev.strata.catalog.NewCommit;
import dev.strata.catalog.Ref;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
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
import java.sql.Types;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.TreeMap;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link Catalog} over JDBC, with one SQL text for SQLite (the embedded default) and
 * PostgreSQL (scale-out). Only the DDL differs per engine (Flyway locations
 * {@code db/migration/sqlite} and {@code db/migration/postgresql}); see docs/catalog.md.
 *
 * <p>Transactions: every write is one transaction. {@link #publishCommit} inserts the commit row,
 * moves the branch with a conditional {@code UPDATE ... WHERE commit_id = expected} (whose update
 * count is the compare-and-set's verdict), then inserts parents, metrics, lineage and files; any
 * failure rolls all of it back. Moving the ref early makes a losing racer fail before it writes
 * thousands of file rows. Transient engine failures (SQLite busy, PostgreSQL deadlock) retry the
 * whole transaction a few times.
 *
 * <p>Errors: unique clashes become {@link ConflictException}, other constraint violations
 * {@link InvalidInputException}, everything else {@link StorageException}; expected conflicts get
 * a message saying what to do. Instants are stored as epoch nanoseconds, so they round-trip
 * exactly between 1677 and 2262. Thread-safe.
 */
public final class JdbcCatalog implements Catalog {
    private static final Logger LOG = LoggerFactory.getLogger(JdbcCatalog.class);
    private static final Pattern COMMIT_ID = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern HEX_PREFIX = Pattern.compile("[0-9a-f]{1,40}");
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final int MAX_ATTEMPTS = 6;
    private static final int POSTGRES_POOL_SIZE = 10;
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
            if (seq == null) {
                return null; // the commit already exists: re-publishing only moves the ref
            }
            for (String parent : r.parents()) {
                if (!commitExists(c, r.repoId(), parent)) {
                    throw new InvalidInputException("parent " + parent + " of commit " + r.id()
                            + " is not in this repository; publish the parent first");
                }
            }
            for (LineageLink l : commit.lineage()) {
                requireRepo(c, l.targetRepoId());
            }
            insertChildren(c, seq, commit);
            return null;
        });
    }

    private static void validate(NewCommit commit) {
        CommitRecord r = commit.commit();
        commitId(r.id(), "commit id");
        if (r.expired()) {
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
            bind(ps, r.repoId(), r.id(), r.author(), r.message(), createdAt, r.step(), r.metadataJson(), false);
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

    private static void insertChildren(Connection c, long seq, NewCommit commit) throws SQLException {
        CommitRecord r = commit.commit();
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
                "INSERT INTO lineage (commit_seq, relation, target_repo_id, target_commit_id) VALUES (?, ?, ?, ?)")) {
            for (LineageLink l : new HashSet<>(commit.lineage())) {
                bind(ps, seq, l.relation().wireName(), l.targetRepoId(), l.targetCommitId());
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
        try (PreparedStatement ps = c.prepareStatement("SELECT c.repo_id, c.id, l.relation, l.target_repo_id, l.target_commit_id"
                + " FROM lineage l JOIN commits c ON c.seq = l.commit_seq WHERE " + where
                + " ORDER BY c.repo_id, c.seq, l.relation, l.target_repo_id, l.target_commit_id")) {
            bind(ps, params);
            List<LineageLink> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new LineageLink(rs.getLong(1), rs.getString(2), LineageRelation.fromWire(rs.getString(3)),
                            rs.getLong(4), rs.getString(5)));
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
            if (changed != 1) {
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

    private static <T> Optional<T> first(List<T> list) {
        return list.isEmpty() ? Optional.empty() : Optional.of(list.getFirst());
    }
}
