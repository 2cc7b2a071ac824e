package dev.strata.catalog;

/** A named pointer at a commit. */
public record Ref(String name, RefKind kind, String commitId) {}
