package dev.strata.service;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.ContentHash;
import java.util.List;
import java.util.Map;

/**
 * What a client asks to commit on a branch. {@code expectedHead} is the branch head the client
 * built on (null: create the branch, the commit has no parent). The new tree is the parent's
 * tree, minus {@code deletes}, plus {@code files} (added or replaced); with {@code replaceAll}
 * it is exactly {@code files}.
 */
public record CommitRequest(
        String uploadId,
        String branch,
        String expectedHead,
        String author,
        String message,
        Long step,
        Map<String, Double> metrics,
        ObjectNode metadata,
        List<FileChange> files,
        List<String> deletes,
        boolean replaceAll,
        List<LineageRequest> lineage) {

    /** A file to add or replace; its manifest must have been uploaded (or exist already). */
    public record FileChange(String path, long size, ContentHash sha256, ContentHash manifestId) {}

    /** This commit derives from {@code repo@rev} by {@code relation} (base_model, finetune_of ...). */
    public record LineageRequest(String relation, String repo, String rev) {}
}
