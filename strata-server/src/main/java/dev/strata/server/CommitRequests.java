package dev.strata.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.service.CommitRequest;
import dev.strata.service.Principal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Parses the commit request JSON (docs/api.md, "Create a commit") into a {@link CommitRequest}, strictly. */
final class CommitRequests {
    static final int MAX_METADATA_BYTES = 1 << 20;

    private CommitRequests() {}

    static CommitRequest parse(JsonNode b, Principal principal) {
        String branch = JsonViews.text(b, "branch");
        if (branch == null) {
            throw new InvalidInputException("'branch' is required");
        }
        Long step = null;
        if (b.hasNonNull("step")) {
            if (!b.get("step").canConvertToLong()) {
                throw new InvalidInputException("'step' must be an integer");
            }
            step = b.get("step").asLong();
        }
        Map<String, Double> metrics = new LinkedHashMap<>();
        JsonNode m = b.get("metrics");
        if (m != null && !m.isNull()) {
            if (!m.isObject()) {
                throw new InvalidInputException("'metrics' must be an object of name to number");
            }
            m.properties().forEach(e -> {
                if (!e.getValue().isNumber() || e.getKey().isEmpty() || e.getKey().length() > 200) {
                    throw new InvalidInputException("metric '" + e.getKey() + "' must have a 1-200 character name and a number value");
                }
                metrics.put(e.getKey(), e.getValue().asDouble());
            });
        }
        ObjectNode metadata = null;
        JsonNode md = b.get("metadata");
        if (md != null && !md.isNull()) {
            if (!md.isObject()) {
                throw new InvalidInputException("'metadata' must be a JSON object");
            }
            if (md.toString().length() > MAX_METADATA_BYTES) {
                throw new InvalidInputException("'metadata' larger than 1 MiB");
            }
            metadata = (ObjectNode) md;
        }
        List<CommitRequest.FileChange> files = new ArrayList<>();
        for (JsonNode f : array(b, "files")) {
            String path = JsonViews.text(f, "path");
            if (path == null || !f.hasNonNull("size") || !f.get("size").canConvertToLong() || f.get("size").asLong() < 0) {
                throw new InvalidInputException("every file needs 'path', 'size' (>= 0), 'sha256' and 'manifest_id'");
            }
            files.add(new CommitRequest.FileChange(path, f.get("size").asLong(),
                    ContentHash.fromHex(JsonViews.text(f, "sha256")), ContentHash.fromHex(JsonViews.text(f, "manifest_id"))));
        }
        List<String> deletes = new ArrayList<>();
        for (JsonNode d : array(b, "deletes")) {
            deletes.add(d.asText());
        }
        List<CommitRequest.LineageRequest> lineage = new ArrayList<>();
        for (JsonNode l : array(b, "lineage")) {
            lineage.add(new CommitRequest.LineageRequest(JsonViews.text(l, "relation"), JsonViews.text(l, "repo"), JsonViews.text(l, "rev")));
        }
        String author = JsonViews.text(b, "author");
        if (author == null) {
            author = principal.name();
        }
        return new CommitRequest(JsonViews.text(b, "upload_id"), branch, JsonViews.text(b, "parent"), author,
                JsonViews.text(b, "message"), step, metrics, metadata, files, deletes,
                b.path("replace_all").asBoolean(false), lineage);
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
}
