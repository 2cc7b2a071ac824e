package dev.strata.service;

import dev.strata.catalog.TokenScope;
import java.util.Set;

/**
 * Who is making a request, as authenticated from its token at the moment of the request.
 *
 * @param name        the user name ("anonymous" without a token)
 * @param tokenId     the token's public id (never its secret); null for anonymous requests
 * @param scope       the most the token allows
 * @param tokenRepos  repositories the token is limited to; empty for all
 * @param serverAdmin whether the user is a server administrator
 * @param groups      the groups the user belongs to
 */
public record Principal(String name, String tokenId, TokenScope scope, Set<String> tokenRepos, boolean serverAdmin,
                        Set<String> groups) {
    public static final Principal ANONYMOUS = new Principal("anonymous", null, TokenScope.READ, Set.of(), false, Set.of());

    public Principal {
        tokenRepos = Set.copyOf(tokenRepos);
        groups = Set.copyOf(groups);
    }

    public boolean anonymous() {
        return tokenId == null;
    }

    /** Whether the token may be used on {@code repo} at all. */
    public boolean tokenCovers(String repo) {
        return tokenRepos.isEmpty() || tokenRepos.contains(repo);
    }

    /** Server-wide administration: an admin user with an admin-scoped token. */
    public boolean actsAsServerAdmin() {
        return serverAdmin && scope == TokenScope.ADMIN;
    }
}
