package dev.strata.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageRelation;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import dev.strata.catalog.AccessState;
import dev.strata.service.AccessStates;
import dev.strata.service.ReplicaWrites;
import dev.strata.service.Replicator;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Replication (docs/api.md, "Replication"): the status of this server's replication to its
 * replica, and the two endpoints through which a primary writes verbatim into this server when
 * it is the replica. Server administrators only: a replicated commit keeps the primary's author
 * and time, which no other write may set.
 */
final class ReplicationRoutes {
    private static final String REPO = ApiServer.PREFIX + "/repos/{owner}/{name}";

    private final Strata strata;

    private ReplicationRoutes(Strata strata) {
        this.strata = strata;
    }

    static void register(ApiServer api, Strata strata) {
        new ReplicationRoutes(strata).registerOn(api);
    }

    private void registerOn(ApiServer api) {
        api.route(HandlerType.GET, ApiServer.PREFIX + "/admin/replication", "replication.status", ApiServer.Need.SERVER_ADMIN,
                ctx -> ctx.json(status()));
        api.route(HandlerType.POST, REPO + "/replicated-commits", "replication.commit", ApiServer.Need.SERVER_ADMIN, this::commit);
        api.route(HandlerType.PUT, REPO + "/replicated-refs/<ref>", "replication.ref", ApiServer.Need.SERVER_ADMIN, this::ref);
        api.route(HandlerType.PUT, ApiServer.PREFIX + "/admin/replication/access", "replication.access", ApiServer.Need.SERVER_ADMIN,
                this::access);
    }

    private ObjectNode status() {
        ObjectNode n = JsonViews.MAPPER.createObjectNode();
        n.put("server_id", strata.repos().catalog().serverId());
        Replicator r = strata.replicator();
        if (r == null) {
            n.putNull("replica_url");
            n.putNull("replica_id");
            n.put("last_seq", strata.repos().catalog().lastReplicationSeq());
            for (String k : List.of("replicated_seq", "lag_entries", "lag_seconds", "last_error", "last_error_at", "last_success_at",
                    "access_synced_at", "access_pending", "access_pending_since", "access_error", "access_error_at")) {
                n.putNull(k);
            }
            n.put("access_applied_at", instant(strata.replicaWrites().accessAppliedAt()));
            return n;
        }
        Replicator.Status s = r.status();
        n.put("replica_url", s.replicaUrl()).put("replica_id", s.replicaId()).put("last_seq", s.lastSeq())
                .put("replicated_seq", s.replicatedSeq()).put("lag_entries", s.lagEntries()).put("lag_seconds", s.lagSeconds())
                .put("last_error", s.lastError())
                .put("last_error_at", s.lastErrorAt() == null ? null : s.lastErrorAt().toString())
                .put("last_success_at", s.lastSuccessAt() == null ? null : s.lastSuccessAt().toString())
                .put("entries_applied", s.entriesApplied()).put("chunks_sent", s.chunksSent()).put("bytes_sent", s.bytesSent())
                .put("access_synced_at", instant(s.accessSyncedAt())).put("access_pending", s.accessPending())
                .put("access_pending_since", instant(s.accessPendingSince())).put("access_error", s.accessError())
                .put("access_error_at", instant(s.accessErrorAt()))
                .put("access_applied_at", instant(strata.replicaWrites().accessAppliedAt()));
        return n;
    }

    private static String instant(Instant t) {
        return t == null ? null : t.toString();
    }

    /**
     * {@code PUT /admin/replication/access}: a primary's whole access state, checked field by field
     * before anything changes, then applied in one catalog transaction. The audit record names the
     * counts, never a token hash.
     */
    private void access(Context ctx) throws java.io.IOException {
        JsonNode body = ApiServer.jsonBody(ctx, AccessStates.MAX_BYTES);
        AccessState state = AccessStates.parse(body);
        String source = JsonViews.text(body, "source_server_id");
        String from = source != null && source.matches("[0-9a-f]{1,64}") ? " from server " + source : "";
        ctx.attribute(ApiServer.AUDIT_DETAIL, "access state" + from + ": " + state.users().size() + " users, " + state.groups().size()
                + " groups, " + state.tokens().size() + " tokens, " + state.repos().size() + " repositories");
        ReplicaWrites.AccessApplied a = strata.replicaWrites().applyAccess(state);
        ObjectNode n = JsonViews.MAPPER.createObjectNode().put("users", a.users()).put("groups", a.groups()).put("tokens", a.tokens())
                .put("repositories", a.repositories());
        ArrayNode deferred = n.putArray("deferred_grants");
        a.deferredGrants().forEach(deferred::add);
        ctx.json(n);
    }

    private RepoRecord repo(Context ctx) {
        return strata.repos().get(ctx.pathParam("owner") + "/" + ctx.pathParam("name"));
    }

    private void commit(Context ctx) throws java.io.IOException {
        RepoRecord repo = repo(ctx);
        JsonNode body = ApiServer.jsonBody(ctx, ApiServer.MAX_COMMIT_JSON_BYTES);
        ReplicaWrites.Commit c = parse(body);
        if (c.branch() != null) {
            ctx.attribute(ApiServer.AUDIT_RESOURCE, repo.name() + "@" + c.branch());
        }
        ctx.attribute(ApiServer.AUDIT_DETAIL, "commit " + c.commit().id());
        ReplicaWrites.Applied a;
        try {
            a = strata.replicaWrites().apply(repo, c);
        } catch (ReplicaWrites.MissingManifestsException e) {
            ObjectNode n = JsonViews.error("missing_manifests", e.getMessage());
            ArrayNode missing = n.putArray("missing_manifests");
            e.missing().forEach(id -> missing.add(id.hex()));
            ctx.status(409).json(n);
            return;
        }
        ctx.status(a.imported() ? 201 : 200).json(JsonViews.MAPPER.createObjectNode().put("id", c.commit().id())
                .put("imported", a.imported()).put("ref_moved", a.refMoved()));
    }

    private void ref(Context ctx) throws java.io.IOException {
        RepoRecord repo = repo(ctx);
        String name = Names.ref(ctx.pathParam("ref"));
        JsonNode body = ApiServer.jsonBody(ctx, ApiServer.MAX_JSON_BYTES);
        RefKind kind = switch (String.valueOf(JsonViews.text(body, "kind"))) {
            case "branch" -> RefKind.BRANCH;
            case "tag" -> RefKind.TAG;
            default -> throw new InvalidInputException("kind must be 'branch' or 'tag'");
        };
        String expected = commitIdOrNull(body, "expected");
        String next = commitIdOrNull(body, "next");
        if (expected == null && next == null) {
            throw new InvalidInputException("a ref move needs 'expected' (null: create) or 'next' (null: delete)");
        }
        boolean moved = strata.replicaWrites().applyRef(repo, name, kind, expected, next);
        ObjectNode n = JsonViews.MAPPER.createObjectNode().put("name", name).put("kind", kind.name().toLowerCase(java.util.Locale.ROOT))
                .put("commit", next).put("moved", moved);
        ctx.json(n);
    }

    /** The request body of {@code POST .../replicated-commits}, strictly: every field the commit id covers is required. */
    static ReplicaWrites.Commit parse(JsonNode b) {
        String id = commitIdOrNull(b, "id");
        if (id == null) {
            throw new InvalidInputException("'id' is required");
        }
        List<String> parents = new ArrayList<>();
        for (JsonNode p : array(b, "parents")) {
            parents.add(commitId(p.asText(), "parent"));
        }
        String author = requiredText(b, "author");
        String message = requiredText(b, "message");
        Instant createdAt;
        try {
            createdAt = Instant.parse(requiredText(b, "created_at"));
        } catch (DateTimeParseException e) {
            throw new InvalidInputException("created_at must be an ISO-8601 instant, got " + Names.quote(b.path("created_at").asText()));
        }
        JsonNode step = b.get("step");
        if (step != null && !step.isNull() && !step.canConvertToLong()) {
            throw new InvalidInputException("step must be an integer or null");
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        JsonNode m = b.get("metrics");
        if (m != null && !m.isNull()) {
            if (!m.isObject()) {
                throw new InvalidInputException("metrics must be an object of numbers");
            }
            m.properties().forEach(e -> {
                if (!e.getValue().isNumber()) {
                    throw new InvalidInputException("metric " + Names.quote(e.getKey()) + " must be a number");
                }
                metrics.put(e.getKey(), e.getValue().asDouble());
            });
        }
        JsonNode meta = b.get("metadata_json");
        if (meta != null && !meta.isNull() && !meta.isTextual()) {
            throw new InvalidInputException("metadata_json must be the commit's metadata as a JSON string, or null");
        }
        JsonNode expired = b.get("expired");
        if (expired != null && !expired.isNull() && !expired.isBoolean()) {
            throw new InvalidInputException("expired must be true or false");
        }
        List<FileEntry> files = new ArrayList<>();
        for (JsonNode f : array(b, "files")) {
            JsonNode size = f.get("size");
            if (size == null || !size.canConvertToLong()) {
                throw new InvalidInputException("every file needs a size");
            }
            files.add(new FileEntry(Names.path(requiredText(f, "path")), size.asLong(), ContentHash.fromHex(requiredText(f, "sha256")),
                    ContentHash.fromHex(requiredText(f, "manifest_id"))));
        }
        List<ReplicaWrites.Link> lineage = new ArrayList<>();
        for (JsonNode l : array(b, "lineage")) {
            JsonNode origin = l.get("origin_repo_id");
            if (origin == null || !origin.canConvertToLong()) {
                throw new InvalidInputException("every lineage link needs origin_repo_id: the primary's id of the target repository");
            }
            lineage.add(new ReplicaWrites.Link(LineageRelation.fromWire(requiredText(l, "relation")), Names.repo(requiredText(l, "repo")),
                    commitId(requiredText(l, "commit"), "lineage target"), origin.asLong()));
        }
        CommitRecord record = new CommitRecord(id, 0, parents, author, message, createdAt,
                step == null || step.isNull() ? null : step.asLong(), metrics, meta == null || meta.isNull() ? null : meta.asText(),
                expired != null && expired.asBoolean());
        String branch = JsonViews.text(b, "branch");
        return new ReplicaWrites.Commit(record, files, lineage, branch == null ? null : Names.ref(branch), commitIdOrNull(b, "expected_head"));
    }

    private static Iterable<JsonNode> array(JsonNode b, String field) {
        JsonNode a = b.get(field);
        if (a == null || a.isNull()) {
            return List.of();
        }
        if (!a.isArray()) {
            throw new InvalidInputException("'" + field + "' must be an array");
        }
        return a;
    }

    private static String requiredText(JsonNode b, String field) {
        JsonNode n = b.get(field);
        if (n == null || !n.isTextual()) {
            throw new InvalidInputException("'" + field + "' is required (a string)");
        }
        return n.asText();
    }

    private static String commitIdOrNull(JsonNode b, String field) {
        JsonNode n = b.get(field);
        return n == null || n.isNull() ? null : commitId(n.asText(), field);
    }

    private static String commitId(String s, String what) {
        if (s == null || !s.matches("[0-9a-f]{40}")) {
            throw new InvalidInputException(what + " must be a 40-character lowercase hex commit id, got " + Names.quote(s));
        }
        return s;
    }
}
