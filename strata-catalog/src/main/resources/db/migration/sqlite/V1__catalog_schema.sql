-- Strata catalog schema, SQLite flavour. Keep in step with ../postgresql/V1__catalog_schema.sql:
-- same tables, columns and constraints; only types and key generation differ (docs/catalog.md).
-- Instants are epoch nanoseconds (exact round trip of java.time.Instant), hashes are 32 raw bytes.

CREATE TABLE repos (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    name        TEXT    NOT NULL UNIQUE,
    description TEXT    NOT NULL,
    created_at  BIGINT  NOT NULL
);

-- seq: the row key child tables point at (compact) and the insertion order that breaks
-- created_at ties in "newest first" listings.
CREATE TABLE commits (
    seq           INTEGER PRIMARY KEY AUTOINCREMENT,
    repo_id       BIGINT  NOT NULL REFERENCES repos (id),
    id            TEXT    NOT NULL CHECK (length(id) = 40),
    author        TEXT    NOT NULL,
    message       TEXT    NOT NULL,
    created_at    BIGINT  NOT NULL,
    step          BIGINT,
    metadata_json TEXT,
    expired       BOOLEAN NOT NULL DEFAULT FALSE,
    UNIQUE (repo_id, id)
);
CREATE INDEX commits_by_time ON commits (repo_id, created_at, seq);
CREATE INDEX commits_by_step ON commits (repo_id, step);

CREATE TABLE commit_parents (
    commit_seq BIGINT  NOT NULL REFERENCES commits (seq),
    position   INTEGER NOT NULL,
    parent_id  TEXT    NOT NULL,
    PRIMARY KEY (commit_seq, position)
);

CREATE TABLE commit_metrics (
    commit_seq BIGINT NOT NULL REFERENCES commits (seq),
    repo_id    BIGINT NOT NULL,
    name       TEXT   NOT NULL,
    value      DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (commit_seq, name)
);
-- "best checkpoint of a repository by val/accuracy": an index range scan, either direction.
CREATE INDEX commit_metrics_best ON commit_metrics (repo_id, name, value);

CREATE TABLE commit_files (
    commit_seq  BIGINT NOT NULL REFERENCES commits (seq),
    path        TEXT   NOT NULL,
    size        BIGINT NOT NULL CHECK (size >= 0),
    sha256      BLOB   NOT NULL CHECK (length(sha256) = 32),
    manifest_id BLOB   NOT NULL CHECK (length(manifest_id) = 32),
    PRIMARY KEY (commit_seq, path)
);
CREATE INDEX commit_files_by_manifest ON commit_files (manifest_id);

CREATE TABLE lineage (
    commit_seq       BIGINT NOT NULL REFERENCES commits (seq),
    relation         TEXT   NOT NULL,
    target_repo_id   BIGINT NOT NULL REFERENCES repos (id),
    target_commit_id TEXT   NOT NULL,
    PRIMARY KEY (commit_seq, relation, target_repo_id, target_commit_id)
);
CREATE INDEX lineage_by_target ON lineage (target_repo_id, target_commit_id);

CREATE TABLE refs (
    repo_id   BIGINT NOT NULL REFERENCES repos (id),
    name      TEXT   NOT NULL,
    kind      TEXT   NOT NULL CHECK (kind IN ('BRANCH', 'TAG')),
    commit_id TEXT   NOT NULL,
    PRIMARY KEY (repo_id, name),
    FOREIGN KEY (repo_id, commit_id) REFERENCES commits (repo_id, id)
);

CREATE TABLE retention (
    repo_id   BIGINT  NOT NULL REFERENCES repos (id),
    branch    TEXT    NOT NULL,
    keep_last INTEGER NOT NULL CHECK (keep_last > 0),
    PRIMARY KEY (repo_id, branch)
);

CREATE TABLE manifests (
    id    BLOB NOT NULL PRIMARY KEY CHECK (length(id) = 32),
    bytes BLOB NOT NULL
);
