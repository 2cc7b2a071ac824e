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
    UserRecord createUser(String name, boolean admin);

    Optional<UserRecord> findUser(String name);

    List<UserRecord> listUsers();

    /** A disabled user's tokens stop working; NotFoundException if no such user. */
    void setUserDisabled(String name, boolean disabled);

    /** ConflictException if a user or group of that name exists. */
    GroupRecord createGroup(String name);

    List<GroupRecord> listGroups();

    /** Idempotent; NotFoundException if the group or user does not exist. */
    void addGroupMember(String group, String user);

    /** Idempotent; NotFoundException if the group does not exist. */
    void removeGroupMember(String group, String user);

    /** Group name → member user names (every group, also empty ones). */
    Map<String, Set<String>> groupMembers();

    // ---- API tokens

    /** ConflictException if the id exists. */
    void createToken(TokenRecord token);

    List<TokenRecord> listTokens();

    /** Sets revoked_at if not yet revoked; NotFoundException if no such token. */
    void revokeToken(String id, Instant at);

    // ---- repository access

    /** NotFoundException if no such repository. */
    void setVisibility(long repoId, Visibility visibility);

    /** Binds {@code subject} to {@code role} on a repository, replacing any earlier role; {@code role == null} removes it. */
    void setRole(long repoId, SubjectKind kind, String subject, RepoRole role);

    /** Every role binding of every repository. */
    List<RoleBinding> listRoles();

    /** Creates or replaces the protection of {@code pattern}. */
    void putProtection(Protection protection);

    /** NotFoundException if the pattern is not protected. */
    void deleteProtection(long repoId, String pattern);

    List<Protection> listProtections();

    /** ConflictException if the id exists. */
    void createGrant(GrantRecord grant);

    /** Sets revoked_at if not yet revoked; NotFoundException if no such grant in that repository. */
    void revokeGrant(long repoId, String id, Instant at);

    /** Every grant, revoked and expired ones included. */
    List<GrantRecord> listGrants();

    // ---- dedup scope: chunks a repository is known to hold (its writers proved they had the bytes)

    /** Idempotent. */
    void addRepoChunks(long repoId, Collection<ContentHash> ids);

    /** Of {@code ids}, those recorded for the repository. */
    Set<ContentHash> repoChunksAmong(long repoId, Collection<ContentHash> ids);

    /** Whether any commit of the repository (expired ones included) has a file with this manifest. */
    boolean repoReferencesManifest(long repoId, ContentHash manifestId);

    // ---- audit log (append-only; the server computes the hash chain)

    /** Appends records in one transaction; their seqs must continue the log without gaps (ConflictException otherwise). */
    void appendAudit(List<AuditRecord> records);

    /** The record with the highest seq. */
    Optional<AuditRecord> lastAudit();

    /** Records matching the query, ascending by seq, at most {@code query.limit()}. */
    List<AuditRecord> queryAudit(AuditQuery query);

    /** Every record with seq ≥ {@code fromSeq}, ascending, streamed (for verification and export). */
    void scanAudit(long fromSeq, Consumer<AuditRecord> sink);
}
