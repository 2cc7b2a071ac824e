package dev.strata.catalog;

import dev.strata.core.ContentHash;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;

/**
 * The access-control and audit part of the catalog (docs/security.md): users, groups, API tokens
 * (only their hashes), repository visibility and roles, protected branch patterns, version
 * grants, the per-repository chunk set that scopes dedup negotiation, and the hash-chained
 * audit log. The server keeps an in-memory snapshot of the access tables (they are small and
 * read on every request) and reloads it after each change it makes; the list methods exist for
 * that snapshot.
 *
 * <p>Subjects (users, groups) are referred to by name: names are immutable and unique.
 * Absent things are {@link Optional#empty()}; clashes are {@link dev.strata.core.ConflictException};
 * changes to things that do not exist are {@link dev.strata.core.NotFoundException}.
 */
public interface AccessCatalog {

    // ---- users and groups

    /** ConflictException if a user or group of that name exists (they share one namespace, as repo owners). */
    default UserRecord createUser(String name, boolean admin) { throw new UnsupportedOperationException("TODO"); }

    default Optional<UserRecord> findUser(String name) { throw new UnsupportedOperationException("TODO"); }

    default List<UserRecord> listUsers() { throw new UnsupportedOperationException("TODO"); }

    /** A disabled user's tokens stop working; NotFoundException if no such user. */
    default void setUserDisabled(String name, boolean disabled) { throw new UnsupportedOperationException("TODO"); }

    /** ConflictException if a user or group of that name exists. */
    default GroupRecord createGroup(String name) { throw new UnsupportedOperationException("TODO"); }

    default List<GroupRecord> listGroups() { throw new UnsupportedOperationException("TODO"); }

    /** Idempotent; NotFoundException if the group or user does not exist. */
    default void addGroupMember(String group, String user) { throw new UnsupportedOperationException("TODO"); }

    /** Idempotent; NotFoundException if the group does not exist. */
    default void removeGroupMember(String group, String user) { throw new UnsupportedOperationException("TODO"); }

    /** Group name → member user names (every group, also empty ones). */
    default Map<String, Set<String>> groupMembers() { throw new UnsupportedOperationException("TODO"); }

    // ---- API tokens

    /** ConflictException if the id exists. */
    default void createToken(TokenRecord token) { throw new UnsupportedOperationException("TODO"); }

    default List<TokenRecord> listTokens() { throw new UnsupportedOperationException("TODO"); }

    /** Sets revoked_at if not yet revoked; NotFoundException if no such token. */
    default void revokeToken(String id, Instant at) { throw new UnsupportedOperationException("TODO"); }

    // ---- repository access

    /** NotFoundException if no such repository. */
    default void setVisibility(long repoId, Visibility visibility) { throw new UnsupportedOperationException("TODO"); }

    /** Binds {@code subject} to {@code role} on a repository, replacing any earlier role; {@code role == null} removes it. */
    default void setRole(long repoId, SubjectKind kind, String subject, RepoRole role) { throw new UnsupportedOperationException("TODO"); }

    /** Every role binding of every repository. */
    default List<RoleBinding> listRoles() { throw new UnsupportedOperationException("TODO"); }

    /** Creates or replaces the protection of {@code pattern}. */
    default void putProtection(Protection protection) { throw new UnsupportedOperationException("TODO"); }

    /** NotFoundException if the pattern is not protected. */
    default void deleteProtection(long repoId, String pattern) { throw new UnsupportedOperationException("TODO"); }

    default List<Protection> listProtections() { throw new UnsupportedOperationException("TODO"); }

    /** ConflictException if the id exists. */
    default void createGrant(GrantRecord grant) { throw new UnsupportedOperationException("TODO"); }

    /** Sets revoked_at if not yet revoked; NotFoundException if no such grant in that repository. */
    default void revokeGrant(long repoId, String id, Instant at) { throw new UnsupportedOperationException("TODO"); }

    /** Every grant, revoked and expired ones included. */
    default List<GrantRecord> listGrants() { throw new UnsupportedOperationException("TODO"); }

    // ---- dedup scope: chunks a repository is known to hold (its writers proved they had the bytes)

    /** Idempotent. */
    default void addRepoChunks(long repoId, Collection<ContentHash> ids) { throw new UnsupportedOperationException("TODO"); }

    /** Of {@code ids}, those recorded for the repository. */
    default Set<ContentHash> repoChunksAmong(long repoId, Collection<ContentHash> ids) { throw new UnsupportedOperationException("TODO"); }

    /** Whether any commit of the repository (expired ones included) has a file with this manifest. */
    default boolean repoReferencesManifest(long repoId, ContentHash manifestId) { throw new UnsupportedOperationException("TODO"); }

    // ---- audit log (append-only; the server computes the hash chain)

    /** Appends records in one transaction; their seqs must continue the log without gaps (ConflictException otherwise). */
    default void appendAudit(List<AuditRecord> records) { throw new UnsupportedOperationException("TODO"); }

    /** The record with the highest seq. */
    default Optional<AuditRecord> lastAudit() { throw new UnsupportedOperationException("TODO"); }

    /** Records matching the query, ascending by seq, at most {@code query.limit()}. */
    default List<AuditRecord> queryAudit(AuditQuery query) { throw new UnsupportedOperationException("TODO"); }

    /** Every record with seq ≥ {@code fromSeq}, ascending, streamed (for verification and export). */
    default void scanAudit(long fromSeq, Consumer<AuditRecord> sink) { throw new UnsupportedOperationException("TODO"); }
}
