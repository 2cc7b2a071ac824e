package dev.strata.service;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.core.ContentHash;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Commit ids: the first 20 bytes (40 hex characters, the shape git and Hugging Face tools expect)
 * of SHA-256 over a canonical JSON of everything the commit says (docs/format.md, "Commit id").
 * Equal content gives an equal id, so a retried publish is idempotent.
 */
final class CommitIds {
    private static final ObjectMapper CANONICAL = new ObjectMapper().configure(SerializationFeature.ORDER_MAP_ENTRIES_BY_KEYS, true);

    private CommitIds() {}

    static String compute(String repo, CommitRecord c, List<FileEntry> files, List<LineageLink> lineage) {
        ObjectNode root = CANONICAL.createObjectNode();
        root.put("format", 1);
        root.put("repo", repo);
        ArrayNode parents = root.putArray("parents");
        c.parents().forEach(parents::add);
        root.put("author", c.author());
        root.put("message", c.message());
        root.put("time_ms", c.createdAt().toEpochMilli());
        root.put("metadata", c.metadataJson());
        ArrayNode tree = root.putArray("tree");
        for (FileEntry f : files) {
            tree.addObject().put("path", f.path()).put("size", f.size()).put("sha256", f.sha256().hex()).put("manifest", f.manifestId().hex());
        }
        ArrayNode links = root.putArray("lineage");
        for (LineageLink l : lineage) {
            links.addObject().put("relation", l.relation().wireName()).put("repo_id", l.idRepoId()).put("commit", l.targetCommitId());
        }
        try {
            byte[] bytes = CANONICAL.writeValueAsString(root).getBytes(StandardCharsets.UTF_8);
            return ContentHash.of(bytes).hex().substring(0, 40);
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }
}
