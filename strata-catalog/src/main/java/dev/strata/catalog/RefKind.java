package dev.strata.catalog;

/** Branches move (by compare-and-set); tags are created once and may only be deleted. Persisted by name. */
public enum RefKind {
    BRANCH,
    TAG
}
