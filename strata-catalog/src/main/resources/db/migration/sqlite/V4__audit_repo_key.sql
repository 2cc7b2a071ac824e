-- The audit log's repository key, SQLite flavour. Keep in step with ../postgresql/V4__audit_repo_key.sql.
--
-- "Everything about repository R" was served by an index on resource, whose values (R@rev:path)
-- are nearly unique: each batch of read records dirtied a random leaf page per record, which
-- made that index most of the audit writer's cost (measured: 17.6 -> 9.7 us of CPU per record).
-- repo is the part of resource before the first '@' or ':' (the server computes it on append;
-- not covered by the record hash, being derived from resource); it takes few values, so its index
-- grows at the end like the others.
ALTER TABLE audit_log ADD COLUMN repo TEXT;
UPDATE audit_log SET repo = CASE
    WHEN instr(resource, '@') = 0 AND instr(resource, ':') = 0 THEN resource
    WHEN instr(resource, '@') = 0 THEN substr(resource, 1, instr(resource, ':') - 1)
    WHEN instr(resource, ':') = 0 THEN substr(resource, 1, instr(resource, '@') - 1)
    ELSE substr(resource, 1, min(instr(resource, '@'), instr(resource, ':')) - 1)
END WHERE resource IS NOT NULL;
DROP INDEX audit_by_resource;
CREATE INDEX audit_by_repo ON audit_log (repo, seq);
