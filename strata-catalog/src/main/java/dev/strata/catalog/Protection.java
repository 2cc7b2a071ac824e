package dev.strata.catalog;

import java.util.List;

/**
 * A protected branch pattern ({@code main}, {@code release/*}: '*' matches within one path
 * segment, '**' across segments). Matching branches cannot be deleted or rewritten; only
 * repository admins and the subjects in {@code allow} ("user:NAME" or "group:NAME") may push.
 */
public record Protection(long repoId, String pattern, List<String> allow) {
    public Protection {
        allow = List.copyOf(allow);
    }
}
