-- Access control and audit, SQLite flavour. Keep in step with ../postgresql/V2__access_control.sql:
-- same tables, columns and constraints; only types and key generation differ (docs/catalog.md).
-- Subjects (users, groups) are referred to by their immutable, unique names outside these two
-- tables; users and groups share one namespace (checked by JdbcCatalog on create).

ALTER TABLE repos ADD COLUMN visibility TEXT NOT NULL DEFAULT 'PRIVATE'
    CHECK (visibility IN ('PRIVATE', 'INTERNAL', 'PUBLIC'));

CREATE TABLE users (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    admin      BOOLEAN NOT NULL,
    disabled   BOOLEAN NOT NULL DEFAULT FALSE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE user_groups (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    name       TEXT    NOT NULL UNIQUE,
    created_at BIGINT  NOT NULL
);

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES user_groups (id),
    user_id  BIGINT NOT NULL REFERENCES users (id),
    PRIMARY KEY (group_id, user_id)
);

-- Only the SHA-256 of the token string is stored. repos: JSON array of repository names, [] = all.
CREATE TABLE tokens (
    id          TEXT   NOT NULL PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id),
    label       TEXT   NOT NULL,
    scope       TEXT   NOT NULL CHECK (scope IN ('READ', 'WRITE', 'ADMIN')),
    repos       TEXT   NOT NULL,
    secret_hash BLOB   NOT NULL CHECK (length(secret_hash) = 32),
    created_at  BIGINT NOT NULL,
    expires_at  BIGINT,
    revoked_at  BIGINT
);

CREATE TABLE repo_roles (
    repo_id      BIGINT NOT NULL REFERENCES repos (id),
    subject_kind TEXT   NOT NULL CHECK (subject_kind IN ('USER', 'GROUP')),
    subject      TEXT   NOT NULL,
    role         TEXT   NOT NULL CHECK (role IN ('READER', 'WRITER', 'ADMIN')),
    PRIMARY KEY (repo_id, subject_kind, subject)
);

-- allow: JSON array of "user:NAME" / "group:NAME".
CREATE TABLE protections (
    repo_id BIGINT NOT NULL REFERENCES repos (id),
    pattern TEXT   NOT NULL,
    allow   TEXT   NOT NULL,
    PRIMARY KEY (repo_id, pattern)
);

CREATE TABLE grants (
    id           TEXT   NOT NULL PRIMARY KEY,
    repo_id      BIGINT NOT NULL REFERENCES repos (id),
    ref          TEXT,
    commit_id    TEXT   NOT NULL CHECK (length(commit_id) = 40),
    subject_kind TEXT   NOT NULL CHECK (subject_kind IN ('USER', 'GROUP')),
    subject      TEXT   NOT NULL,
    granted_by   TEXT   NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT,
    revoked_at   BIGINT,
    FOREIGN KEY (repo_id, commit_id) REFERENCES commits (repo_id, id)
);

-- The dedup scope: chunks a repository's writers proved they hold.
CREATE TABLE repo_chunks (
    repo_id  BIGINT NOT NULL REFERENCES repos (id),
    chunk_id BLOB   NOT NULL CHECK (length(chunk_id) = 32),
    PRIMARY KEY (repo_id, chunk_id)
) WITHOUT ROWID;

-- Append-only, hash-chained (hash = SHA-256 over prev_hash and the record, computed by the
-- server). seq is assigned by the caller, contiguous from 1: not autoincrement (here it is the rowid).
CREATE TABLE audit_log (
    seq       INTEGER PRIMARY KEY CHECK (seq > 0),
    at        BIGINT  NOT NULL,
    principal TEXT    NOT NULL,
    token_id  TEXT,
    client    TEXT,
    action    TEXT    NOT NULL,
    resource  TEXT,
    decision  TEXT    NOT NULL,
    status    INTEGER NOT NULL,
    detail    TEXT,
    prev_hash BLOB    NOT NULL CHECK (length(prev_hash) = 32),
    hash      BLOB    NOT NULL CHECK (length(hash) = 32)
);
CREATE INDEX audit_by_principal ON audit_log (principal, seq);
CREATE INDEX audit_by_action ON audit_log (action, seq);
CREATE INDEX audit_by_time ON audit_log (at);
-- "everything about repository R": resource = R or a range R@... / R:... on this index.
CREATE INDEX audit_by_resource ON audit_log (resource, seq);
