package dev.strata.catalog;

import java.util.List;

/** A commit to publish: the record (expired=false) plus its full tree and outgoing lineage. */
public record NewCommit(CommitRecord commit, List<FileEntry> files, List<LineageLink> lineage) {
    public NewCommit {
        files = List.copyOf(files);
        lineage = List.copyOf(lineage);
    }
}
