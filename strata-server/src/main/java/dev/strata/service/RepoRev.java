package dev.strata.service;

import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;

/** {@code owner/name@rev} as users type it; rev may be absent (then the default branch "main"). */
public record RepoRev(String repo, String rev) {
    public static final String DEFAULT_BRANCH = "main";

    public static RepoRev parse(String s) {
        if (s == null || s.isEmpty()) {
            throw new InvalidInputException("expected owner/name[@revision]");
        }
        int at = s.indexOf('@');
        String repo = at < 0 ? s : s.substring(0, at);
        String rev = at < 0 ? null : s.substring(at + 1);
        Names.repo(repo);
        if (rev != null) {
            RevSpec.parse(rev);
        }
        return new RepoRev(repo, rev);
    }

    public String revOrDefault() {
        return rev == null ? DEFAULT_BRANCH : rev;
    }

    @Override
    public String toString() {
        return rev == null ? repo : repo + "@" + rev;
    }
}
