package dev.strata.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * An immutable commit. {@code id} is 40 lowercase hex characters (the shape git and Hugging Face
 * tooling expect). {@code step} and {@code metrics} are the well-known, queryable metadata;
 * {@code metadataJson} is the whole free-form metadata object (config, datasets, hardware,
 * code_commit, ...). {@code expired} is set once GC reclaimed the commit's data.
 */
public record CommitRecord(
        String id,
        long repoId,
        List<String> parents,
        String author,
        String message,
        Instant createdAt,
        Long step,
        Map<String, Double> metrics,
        String metadataJson,
        boolean expired) {
    public CommitRecord {
        parents = List.copyOf(parents);
        metrics = Map.copyOf(metrics);
    }
}
