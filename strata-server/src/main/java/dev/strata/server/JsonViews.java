package dev.strata.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.Ref;
import dev.strata.catalog.RepoRecord;
import dev.strata.service.GarbageCollector;
import dev.strata.service.Queries;
import java.util.List;
import java.util.Locale;

/**
 * The JSON shapes of the API (docs/api.md): built explicitly, with stable snake_case keys, so
 * that renaming a Java field never changes the wire.
 */
final class JsonViews {
    static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonViews() {}

    static ObjectNode repo(RepoRecord r) {
        return MAPPER.createObjectNode().put("name", r.name()).put("description", r.description())
                .put("created_at", r.createdAt().toString()).put("visibility", r.visibility().wire());
    }

    static ObjectNode ref(Ref r) {
        return MAPPER.createObjectNode().put("name", r.name()).put("kind", r.kind().name().toLowerCase(Locale.ROOT))
                .put("commit", r.commitId());
    }

    static ObjectNode commit(CommitRecord c) {
        ObjectNode n = MAPPER.createObjectNode();
        n.put("id", c.id());
        ArrayNode parents = n.putArray("parents");
        c.parents().forEach(parents::add);
        n.put("author", c.author()).put("message", c.message()).put("created_at", c.createdAt().toString());
        if (c.step() != null) {
            n.put("step", c.step());
        } else {
            n.putNull("step");
        }
        ObjectNode metrics = n.putObject("metrics");
        c.metrics().forEach(metrics::put);
        try {
            n.set("metadata", MAPPER.readTree(c.metadataJson()));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            n.put("metadata_raw", c.metadataJson());
        }
        n.put("expired", c.expired());
        return n;
    }

    static ObjectNode file(FileEntry f) {
        return MAPPER.createObjectNode().put("path", f.path()).put("size", f.size()).put("sha256", f.sha256().hex())
                .put("manifest_id", f.manifestId().hex());
    }

    static ArrayNode files(List<FileEntry> files) {
        ArrayNode a = MAPPER.createArrayNode();
        files.forEach(f -> a.add(file(f)));
        return a;
    }

    static ArrayNode commits(List<CommitRecord> commits) {
        ArrayNode a = MAPPER.createArrayNode();
        commits.forEach(c -> a.add(commit(c)));
        return a;
    }

    static ObjectNode lineage(LineageLink l, String repoName, String targetRepoName) {
        return MAPPER.createObjectNode().put("repo", repoName).put("commit", l.commitId())
                .put("relation", l.relation().wireName()).put("target_repo", targetRepoName).put("target_commit", l.targetCommitId());
    }

    static ObjectNode diff(Queries.Diff d) {
        ObjectNode n = MAPPER.createObjectNode().put("from", d.from()).put("to", d.to()).put("added", d.added())
                .put("removed", d.removed()).put("modified", d.modified()).put("unchanged", d.unchanged())
                .put("new_chunk_bytes", d.newChunkBytes());
        ArrayNode files = n.putArray("files");
        for (Queries.FileDiff f : d.files()) {
            ObjectNode fn = files.addObject().put("path", f.path()).put("status", f.status());
            putNullable(fn, "old_size", f.oldSize());
            putNullable(fn, "new_size", f.newSize());
            fn.put("new_chunk_bytes", f.newChunkBytes());
            if (f.tensors() != null) {
                ArrayNode ts = fn.putArray("tensors");
                for (var t : f.tensors()) {
                    ObjectNode tn = ts.addObject().put("name", t.name()).put("dtype", t.dtype()).put("status", t.status());
                    ArrayNode shape = tn.putArray("shape");
                    for (long dim : t.shape()) {
                        shape.add(dim);
                    }
                    if (t.relativeChange() != null) {
                        double r = t.relativeChange();
                        if (Double.isFinite(r)) {
                            tn.put("relative_change", r);
                        } else {
                            tn.put("relative_change", Double.toString(r)); // JSON has no NaN or Infinity
                        }
                    }
                }
            }
        }
        return n;
    }

    static ObjectNode stats(Queries.Stats s) {
        ObjectNode n = MAPPER.createObjectNode().put("repo", s.repo()).put("commits", s.commits())
                .put("branches", s.branches()).put("tags", s.tags()).put("files", s.files())
                .put("logical_bytes", s.logicalBytes()).put("unique_chunks", s.uniqueChunks())
                .put("unique_bytes", s.uniqueBytes()).put("stored_bytes", s.storedBytes())
                .put("dedup_ratio", s.uniqueBytes() == 0 ? 0.0 : (double) s.logicalBytes() / s.uniqueBytes())
                .put("stored_ratio", s.logicalBytes() == 0 ? 0.0 : (double) s.storedBytes() / s.logicalBytes());
        if (s.commit() != null) {
            n.put("commit", s.commit()).put("new_chunks", s.newChunks()).put("new_bytes", s.newBytes())
                    .put("new_stored_bytes", s.newStoredBytes());
        }
        ObjectNode by = n.putObject("by_codec");
        s.byCodec().forEach((k, v) -> by.putObject(k).put("chunks", v.chunks()).put("raw_bytes", v.rawBytes())
                .put("stored_bytes", v.storedBytes()));
        return n;
    }

    static ObjectNode gc(GarbageCollector.Report r) {
        return MAPPER.createObjectNode().put("commits_expired", r.commitsExpired()).put("live_chunks", r.liveChunks())
                .put("packs_deleted", r.packsDeleted()).put("packs_rewritten", r.packsRewritten())
                .put("chunks_dropped", r.chunksDropped()).put("bytes_freed", r.bytesFreed());
    }

    static ObjectNode error(String code, String message) {
        ObjectNode n = MAPPER.createObjectNode();
        n.putObject("error").put("code", code).put("message", message);
        return n;
    }

    private static void putNullable(ObjectNode n, String key, Long v) {
        if (v == null) {
            n.putNull(key);
        } else {
            n.put(key, v);
        }
    }

    static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }

    // ---- access control and audit

    static ObjectNode user(dev.strata.catalog.UserRecord u, java.util.Set<String> groups) {
        ObjectNode n = MAPPER.createObjectNode().put("name", u.name()).put("admin", u.admin()).put("disabled", u.disabled())
                .put("created_at", u.createdAt().toString());
        ArrayNode g = n.putArray("groups");
        groups.forEach(g::add);
        return n;
    }

    /** A token's public description: never its secret or hash. */
    static ObjectNode token(dev.strata.catalog.TokenRecord t) {
        ObjectNode n = MAPPER.createObjectNode().put("id", t.id()).put("user", t.user()).put("label", t.label())
                .put("scope", t.scope().wire()).put("created_at", t.createdAt().toString());
        ArrayNode r = n.putArray("repos");
        t.repos().forEach(r::add);
        putInstant(n, "expires_at", t.expiresAt());
        putInstant(n, "revoked_at", t.revokedAt());
        return n;
    }

    static ObjectNode grant(dev.strata.catalog.GrantRecord g, String repo) {
        ObjectNode n = MAPPER.createObjectNode().put("id", g.id()).put("repo", repo);
        if (g.ref() == null) {
            n.putNull("tag");
        } else {
            n.put("tag", g.ref());
        }
        n.put("commit", g.commitId()).put("to", g.kind().wire() + ":" + g.subject()).put("granted_by", g.grantedBy())
                .put("created_at", g.createdAt().toString());
        putInstant(n, "expires_at", g.expiresAt());
        putInstant(n, "revoked_at", g.revokedAt());
        return n;
    }

    static ObjectNode protection(dev.strata.catalog.Protection p) {
        ObjectNode n = MAPPER.createObjectNode().put("pattern", p.pattern());
        ArrayNode a = n.putArray("allow");
        p.allow().forEach(a::add);
        return n;
    }

    static ObjectNode member(dev.strata.catalog.RoleBinding b) {
        return MAPPER.createObjectNode().put("kind", b.kind().wire()).put("name", b.subject()).put("role", b.role().wire());
    }

    static ObjectNode audit(dev.strata.catalog.AuditRecord r) {
        java.util.HexFormat hex = java.util.HexFormat.of();
        ObjectNode n = MAPPER.createObjectNode().put("seq", r.seq()).put("at", r.at().toString()).put("principal", r.principal());
        putText(n, "token_id", r.tokenId());
        putText(n, "client", r.client());
        n.put("action", r.action());
        putText(n, "resource", r.resource());
        n.put("decision", r.decision()).put("status", r.status());
        putText(n, "detail", r.detail());
        n.put("prev_hash", hex.formatHex(r.prevHash())).put("hash", hex.formatHex(r.hash()));
        return n;
    }

    private static void putInstant(ObjectNode n, String key, java.time.Instant v) {
        putText(n, key, v == null ? null : v.toString());
    }

    private static void putText(ObjectNode n, String key, String v) {
        if (v == null) {
            n.putNull(key);
        } else {
            n.put(key, v);
        }
    }
}
