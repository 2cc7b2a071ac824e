package dev.strata.service;

import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;

/**
 * A revision expression: a branch, a tag, or a commit id prefix (4-40 hex), optionally followed
 * by {@code ~N} (N first-parent steps back). Parsed from the part after '@' in {@code repo@rev}.
 */
public record RevSpec(String base, int ancestor) {
    public static final int MAX_ANCESTOR = 1_000_000;

    public static RevSpec parse(String rev) {
        if (rev == null || rev.isEmpty()) {
            throw new InvalidInputException("revision is empty");
        }
        int tilde = rev.indexOf('~');
        String base = tilde < 0 ? rev : rev.substring(0, tilde);
        int n = 0;
        if (tilde >= 0) {
            String count = rev.substring(tilde + 1);
            if (count.isEmpty()) {
                n = 1;
            } else {
                try {
                    n = Integer.parseInt(count);
                } catch (NumberFormatException e) {
                    throw new InvalidInputException("invalid revision " + Names.quote(rev) + ": expected NAME~N");
                }
                if (n < 0 || n > MAX_ANCESTOR) {
                    throw new InvalidInputException("invalid revision " + Names.quote(rev) + ": N out of range");
                }
            }
        }
        Names.ref(base);
        return new RevSpec(base, n);
    }

    public boolean looksLikeCommitPrefix() {
        return base.length() >= 4 && base.length() <= 40 && base.chars().allMatch(c -> c >= '0' && c <= '9' || c >= 'a' && c <= 'f');
    }

    @Override
    public String toString() {
        return ancestor == 0 ? base : base + "~" + ancestor;
    }
}
