package dev.strata.catalog;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * A server's access state keyed by names, not by catalog ids, so it can be applied to another
 * catalog whose surrogate ids differ (replication: docs/decisions/0013-replication.md, "Access
 * state"). Tokens carry only the SHA-256 of their secret ({@link TokenRecord#secretHash}).
 *
 * @param users  every user
 * @param groups every group with its members (user names)
 * @param tokens every token, revoked and expired ones included
 * @param repos  every repository's visibility, retention rules, roles, protections and grants
 */
public record AccessState(List<User> users, List<Group> groups, List<TokenRecord> tokens, List<RepoAccess> repos) {
    public AccessState {
        users = List.copyOf(users);
        groups = List.copyOf(groups);
        tokens = List.copyOf(tokens);
        repos = List.copyOf(repos);
    }

    public record User(String name, boolean admin, boolean disabled, Instant createdAt) {
        public User {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }

    public record Group(String name, Instant createdAt, List<String> members) {
        public Group {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(createdAt, "createdAt");
            members = List.copyOf(members);
        }
    }

    /** {@code subject} (a user or group name) holds {@code role}. */
    public record Role(SubjectKind kind, String subject, RepoRole role) {
        public Role {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(role, "role");
        }
    }

    /** A protected branch pattern and who may push to it ("user:NAME", "group:NAME"). */
    public record ProtectionRule(String pattern, List<String> allow) {
        public ProtectionRule {
            Objects.requireNonNull(pattern, "pattern");
            allow = List.copyOf(allow);
        }
    }

    /** A version grant of {@link GrantRecord} without the repository id (the enclosing {@link RepoAccess} names it). */
    public record Grant(String id, String ref, String commitId, SubjectKind kind, String subject, String grantedBy,
                        Instant createdAt, Instant expiresAt, Instant revokedAt) {
        public Grant {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(commitId, "commitId");
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(subject, "subject");
            Objects.requireNonNull(grantedBy, "grantedBy");
            Objects.requireNonNull(createdAt, "createdAt");
        }
    }

    /** One repository's access settings; {@code retention}: branch → keep-last count. */
    public record RepoAccess(String repo, Visibility visibility, Map<String, Integer> retention, List<Role> roles,
                             List<ProtectionRule> protections, List<Grant> grants) {
        public RepoAccess {
            Objects.requireNonNull(repo, "repo");
            Objects.requireNonNull(visibility, "visibility");
            retention = Map.copyOf(retention);
            roles = List.copyOf(roles);
            protections = List.copyOf(protections);
            grants = List.copyOf(grants);
        }
    }
}
