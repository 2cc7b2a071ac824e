-- The audit log's repository key, PostgreSQL flavour. Keep in step with ../sqlite/V4__audit_repo_key.sql,
-- which says why: repo is resource up to its first '@' or ':', indexed instead of resource.
ALTER TABLE audit_log ADD COLUMN repo TEXT;
UPDATE audit_log SET repo = substring(resource from '^[^@:]*') WHERE resource IS NOT NULL;
DROP INDEX audit_by_resource;
CREATE INDEX audit_by_repo ON audit_log (repo, seq);
