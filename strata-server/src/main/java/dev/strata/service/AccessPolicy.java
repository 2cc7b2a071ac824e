package dev.strata.service;

/**
 * The one authorisation point every request passes (ARCHITECTURE: security from the first
 * endpoint). Throws to deny. The foundation knows only the local user, who may do everything on
 * a server bound to loopback; roles, tokens and grants plug in here.
 */
public interface AccessPolicy {
    /** @param repo the repository concerned, or null for server-wide actions */
    void check(Principal principal, Action action, String repo);

    AccessPolicy LOCAL_ONLY = (principal, action, repo) -> {
        if (!Principal.LOCAL.name().equals(principal.name())) {
            throw new AccessDeniedException("access denied");
        }
    };
}
