-- Replication, SQLite flavour. Keep in step with ../postgresql/V3__replication.sql: same tables,
-- columns and constraints; only types and key generation differ (docs/catalog.md).

-- Everything published, in commit order (docs/decisions/0013-replication.md). COMMIT: new_commit
-- was published, moving branch ref_name from old_commit (ref_name null: imported, no ref moved).
-- REF: ref_name (ref_kind) moved by compare-and-set from old_commit (null: created) to
-- new_commit (null: deleted). AUTOINCREMENT: a seq is never reused.
CREATE TABLE replication_log (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         BIGINT  NOT NULL,
    repo_id    BIGINT  NOT NULL REFERENCES repos (id),
    kind       TEXT    NOT NULL CHECK (kind IN ('COMMIT', 'REF')),
    ref_name   TEXT,
    ref_kind   TEXT    CHECK (ref_kind IN ('BRANCH', 'TAG')),
    old_commit TEXT    CHECK (length(old_commit) = 40),
    new_commit TEXT    CHECK (length(new_commit) = 40),
    CHECK (kind = 'REF' OR new_commit IS NOT NULL),
    CHECK (kind = 'COMMIT' OR (ref_name IS NOT NULL AND ref_kind IS NOT NULL))
);

-- The watermark per replica, keyed by the replica's server id (not its URL, which may change).
CREATE TABLE replicas (
    replica_id     TEXT   NOT NULL PRIMARY KEY,
    url            TEXT   NOT NULL,
    replicated_seq BIGINT NOT NULL CHECK (replicated_seq >= 0),
    updated_at     BIGINT NOT NULL
);

-- The target repository's id as a commit's id covers it: the id on the server where the commit
-- was made. Null (rows older than V3) or equal to target_repo_id except for commits a replica
-- imported, whose lineage targets have other ids there.
ALTER TABLE lineage ADD COLUMN id_repo_id BIGINT;

-- One row: this catalog's identity, which a primary keys its watermark by.
CREATE TABLE server_identity (
    singleton INTEGER NOT NULL PRIMARY KEY CHECK (singleton = 1),
    server_id TEXT    NOT NULL
);
INSERT INTO server_identity (singleton, server_id) VALUES (1, lower(hex(randomblob(16))));

-- History older than the log: every commit (oldest first, so parents and lineage targets come
-- before what points at them), then every ref, so a replica configured later receives it all.
INSERT INTO replication_log (at, repo_id, kind, new_commit)
    SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) * 1000000, repo_id, 'COMMIT', id
    FROM commits ORDER BY seq;
INSERT INTO replication_log (at, repo_id, kind, ref_name, ref_kind, new_commit)
    SELECT CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER) * 1000000, repo_id, 'REF', name, kind, commit_id
    FROM refs ORDER BY repo_id, name;
