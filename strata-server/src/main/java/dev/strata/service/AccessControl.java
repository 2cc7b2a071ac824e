package dev.strata.service;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.GrantRecord;
import dev.strata.catalog.GroupRecord;
import dev.strata.catalog.Protection;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
import dev.strata.catalog.RepoRole;
import dev.strata.catalog.RoleBinding;
import dev.strata.catalog.SubjectKind;
import dev.strata.catalog.TokenRecord;
import dev.strata.catalog.TokenScope;
import dev.strata.catalog.UserRecord;
import dev.strata.catalog.Visibility;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import dev.strata.core.NotFoundException;
import dev.strata.core.StorageException;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Identities, tokens and the authorisation rules (docs/security.md). Every request's principal
 * comes from {@link #authenticate}; its rights on a repository from {@link #access}. Access
 * tables are small and read on every request, so they live in an immutable in-memory snapshot
 * that every change made through this class replaces at once: a revoked token or role stops
 * working for the very next request, uploads in progress included. (One server per catalog;
 * changes made behind its back are seen after a restart.) Every change is reported to the
 * {@link #onChange} listener, through which a primary replicates its access state.
 *
 * <p>Tokens look like {@code strata_<16 hex id>_<43 base64url secret>}: 256 random bits. Only
 * SHA-256 of the whole token is stored; it is compared in constant time.
 */
public final class AccessControl {
    public static final String TOKEN_PREFIX = "strata_";
    public static final String BOOTSTRAP_USER = "admin";
    private static final int TOKEN_LENGTH = TOKEN_PREFIX.length() + 16 + 1 + 43;
    private static final MessageDigest SHA256 = newSha256();
    private static final int MAX_LABEL = 200;
    private static final int MAX_TOKEN_REPOS = 1000;
    private static final int MAX_ALLOW = 1000;

    private final Catalog catalog;
    private final Repositories repos;
    private final Clock clock;
    private final SecureRandom random = new SecureRandom();
    private final AuthFailures failures;
    private volatile Snapshot snap;
    private volatile Runnable changeListener;

    /** The access tables as of the last change. */
    private record Snapshot(Map<String, UserRecord> users, Set<String> groups, Map<String, Set<String>> groupsOf,
                            Map<String, TokenRecord> tokens, Map<Long, Map<String, RepoRole>> roles,
                            Map<Long, List<Protection>> protections, Map<Long, List<GrantRecord>> grants) {}

    /** A freshly created token: the secret, shown once, and what is stored. */
    public record IssuedToken(String secret, TokenRecord record) {}

    public AccessControl(Repositories repos, Clock clock, int authFailureLimit, Duration authFailureWindow) {
        this.repos = repos;
        this.catalog = repos.catalog();
        this.clock = clock;
        this.failures = new AuthFailures(authFailureLimit, authFailureWindow, clock);
        reload();
    }

    /** Re-reads the access tables. Called after every change. */
    public synchronized void reload() {
        Map<String, UserRecord> users = new HashMap<>();
        catalog.listUsers().forEach(u -> users.put(u.name(), u));
        Set<String> groups = new TreeSet<>();
        catalog.listGroups().forEach(g -> groups.add(g.name()));
        Map<String, Set<String>> groupsOf = new HashMap<>();
        catalog.groupMembers().forEach((g, members) -> members.forEach(u -> groupsOf.computeIfAbsent(u, k -> new TreeSet<>()).add(g)));
        Map<String, TokenRecord> tokens = new HashMap<>();
        catalog.listTokens().forEach(t -> tokens.put(t.id(), t));
        Map<Long, Map<String, RepoRole>> roles = new HashMap<>();
        for (RoleBinding b : catalog.listRoles()) {
            roles.computeIfAbsent(b.repoId(), k -> new HashMap<>()).put(subjectKey(b.kind(), b.subject()), b.role());
        }
        Map<Long, List<Protection>> protections = new HashMap<>();
        catalog.listProtections().forEach(p -> protections.computeIfAbsent(p.repoId(), k -> new ArrayList<>()).add(p));
        Map<Long, List<GrantRecord>> grants = new HashMap<>();
        catalog.listGrants().forEach(g -> grants.computeIfAbsent(g.repoId(), k -> new ArrayList<>()).add(g));
        snap = new Snapshot(users, groups, groupsOf, tokens, roles, protections, grants);
        changed();
    }

    /**
     * Calls {@code listener} after every change of the access state made through this class
     * (the snapshot's replacement, repository visibility, retention rules), once it is in the
     * catalog: the replicator sends the new state to the replica. One listener; null removes it.
     */
    public void onChange(Runnable listener) {
        changeListener = listener;
    }

    private void changed() {
        Runnable l = changeListener;
        if (l != null) {
            l.run();
        }
    }

    private static String subjectKey(SubjectKind kind, String name) {
        return kind.wire() + ":" + name;
    }

    // ---- bootstrap

    /**
     * On a server without users: creates the administrator {@value #BOOTSTRAP_USER} and writes its
     * token to {@code tokenFile}, created readable by its owner only (0600) before the secret is
     * written. Returns the file, or empty when users already exist.
     */
    public synchronized Optional<Path> bootstrap(Path tokenFile) {
        if (!snap.users().isEmpty()) {
            return Optional.empty();
        }
        try {
            Files.deleteIfExists(tokenFile); // a stale file from a deleted catalog; never reuse its permissions
            Files.createFile(tokenFile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            throw new StorageException("cannot create " + tokenFile + ": it appeared while bootstrapping", e);
        } catch (IOException e) {
            throw new StorageException("cannot create the admin token file " + tokenFile + ": " + e, e);
        }
        catalog.createUser(BOOTSTRAP_USER, true);
        reload();
        IssuedToken t = issue(BOOTSTRAP_USER, "bootstrap", TokenScope.ADMIN, List.of(), null);
        try {
            Files.writeString(tokenFile, t.secret() + "\n", StandardCharsets.US_ASCII);
        } catch (IOException e) {
            throw new StorageException("cannot write the admin token file " + tokenFile + ": " + e, e);
        }
        return Optional.of(tokenFile);
    }

    // ---- authentication

    /**
     * The principal of a request from its {@code Authorization} header (null: anonymous).
     * Throws {@link UnauthenticatedException} for any bad credential and
     * {@link TooManyRequestsException} while {@code client} is locked out after repeated failures.
     */
    public Principal authenticate(String authorization, String client) {
        if (authorization == null) {
            return Principal.ANONYMOUS;
        }
        failures.check(client);
        String token = authorization.startsWith("Bearer ") ? authorization.substring(7).trim() : null;
        if (token == null) {
            throw fail(client, "malformed Authorization header (expected 'Bearer <token>')", null);
        }
        String id = tokenId(token);
        Snapshot s = snap;
        TokenRecord t = id == null ? null : s.tokens().get(id);
        // Compare even when the id is unknown, so timing does not tell known ids from unknown ones.
        byte[] expected = t != null ? t.secretHash() : new byte[32];
        boolean match = MessageDigest.isEqual(sha256(token), expected) && t != null;
        if (!match) {
            throw fail(client, id == null ? "malformed token" : t == null ? "unknown token" : "wrong secret", id);
        }
        Instant now = clock.instant();
        if (t.revokedAt() != null) {
            throw fail(client, "revoked token", id);
        }
        if (t.expiresAt() != null && !now.isBefore(t.expiresAt())) {
            throw fail(client, "expired token", id);
        }
        UserRecord u = s.users().get(t.user());
        if (u == null || u.disabled()) {
            throw fail(client, "user disabled", id);
        }
        return new Principal(u.name(), t.id(), t.scope(), Set.copyOf(t.repos()), u.admin(), s.groupsOf().getOrDefault(u.name(), Set.of()));
    }

    private UnauthenticatedException fail(String client, String reason, String tokenId) {
        failures.fail(client);
        return new UnauthenticatedException("authentication failed: invalid, expired or revoked token", reason, tokenId);
    }

    /** The id part of a well-formed token ({@code strata_<16 hex>_<43 base64url>}), else null. Checked by hand: this runs on every request. */
    static String tokenId(String token) {
        if (token.length() != TOKEN_LENGTH || !token.startsWith(TOKEN_PREFIX) || token.charAt(TOKEN_PREFIX.length() + 16) != '_') {
            return null;
        }
        for (int i = TOKEN_PREFIX.length(); i < TOKEN_PREFIX.length() + 16; i++) {
            char c = token.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) {
                return null;
            }
        }
        for (int i = TOKEN_PREFIX.length() + 17; i < TOKEN_LENGTH; i++) {
            char c = token.charAt(i);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '-' || c == '_')) {
                return null;
            }
        }
        return token.substring(TOKEN_PREFIX.length(), TOKEN_PREFIX.length() + 16);
    }

    private static MessageDigest newSha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    static byte[] sha256(String s) {
        MessageDigest md;
        try {
            md = (MessageDigest) SHA256.clone(); // cheaper than a provider lookup per request
        } catch (CloneNotSupportedException e) {
            md = newSha256();
        }
        return md.digest(s.getBytes(StandardCharsets.UTF_8));
    }

    // ---- authorisation

    /** The principal's effective access to {@code repo} (null: a missing repository, NONE). */
    public Access access(Principal p, RepoRecord repo) {
        if (repo == null || !p.tokenCovers(repo.name())) {
            return Access.NONE;
        }
        Access have = Access.NONE;
        if (p.serverAdmin()) {
            have = Access.ADMIN;
        } else {
            Map<String, RepoRole> roles = snap.roles().getOrDefault(repo.id(), Map.of());
            if (!p.anonymous()) {
                have = max(have, roles.get(subjectKey(SubjectKind.USER, p.name())));
                for (String g : p.groups()) {
                    have = max(have, roles.get(subjectKey(SubjectKind.GROUP, g)));
                }
            }
            if (repo.visibility() == Visibility.PUBLIC || (repo.visibility() == Visibility.INTERNAL && !p.anonymous())) {
                have = have.atLeast(Access.READ) ? have : Access.READ;
            }
        }
        Access cap = switch (p.scope()) {
            case READ -> Access.READ;
            case WRITE -> Access.WRITE;
            case ADMIN -> Access.ADMIN;
        };
        Access effective = have.compareTo(cap) <= 0 ? have : cap;
        if (effective == Access.NONE && !activeGrants(p, repo).isEmpty()) {
            return Access.GRANTED;
        }
        return effective;
    }

    private static Access max(Access a, RepoRole r) {
        if (r == null) {
            return a;
        }
        Access b = switch (r) {
            case READER -> Access.READ;
            case WRITER -> Access.WRITE;
            case ADMIN -> Access.ADMIN;
        };
        return a.atLeast(b) ? a : b;
    }

    /** Grants to the principal (or one of its groups) on {@code repo} that are neither revoked nor expired. */
    private List<GrantRecord> activeGrants(Principal p, RepoRecord repo) {
        if (p.anonymous()) {
            return List.of();
        }
        Instant now = clock.instant();
        List<GrantRecord> out = new ArrayList<>();
        for (GrantRecord g : snap.grants().getOrDefault(repo.id(), List.of())) {
            boolean mine = g.kind() == SubjectKind.USER ? g.subject().equals(p.name()) : p.groups().contains(g.subject());
            if (mine && g.revokedAt() == null && (g.expiresAt() == null || now.isBefore(g.expiresAt()))) {
                out.add(g);
            }
        }
        return out;
    }

    /**
     * For a principal whose access is {@link Access#GRANTED}: the commit a revision names if it is
     * granted. Only the granted tag's name or the full commit id are accepted; branches, prefixes
     * and {@code ~N} are not, so nothing about other versions can be learned. Empty otherwise.
     */
    public Optional<String> grantedCommit(Principal p, RepoRecord repo, String rev) {
        for (GrantRecord g : activeGrants(p, repo)) {
            if (rev.equals(g.commitId()) || rev.equals(g.ref())) {
                return Optional.of(g.commitId());
            }
        }
        return Optional.empty();
    }

    /** Refuses a push (commit or branch creation) to a protected branch unless the principal may push there. */
    public void requirePush(Principal p, RepoRecord repo, String branch) {
        Protection prot = protectionOf(repo, branch);
        if (prot == null || access(p, repo) == Access.ADMIN) {
            return;
        }
        if (prot.allow().contains(subjectKey(SubjectKind.USER, p.name()))) {
            return;
        }
        for (String g : p.groups()) {
            if (prot.allow().contains(subjectKey(SubjectKind.GROUP, g))) {
                return;
            }
        }
        throw new AccessDeniedException("branch '" + branch + "' of " + repo.name() + " is protected (pattern '"
                + prot.pattern() + "'); only repository admins and its allowed pushers may push to it");
    }

    /** Protected branches are never deleted (remove the protection first); tags only by repository admins. */
    public void requireRefDelete(Principal p, RepoRecord repo, String name, RefKind kind) {
        if (kind == RefKind.BRANCH) {
            Protection prot = protectionOf(repo, name);
            if (prot != null) {
                throw new AccessDeniedException("branch '" + name + "' of " + repo.name() + " is protected (pattern '"
                        + prot.pattern() + "') and cannot be deleted; remove the protection first");
            }
        } else if (access(p, repo) != Access.ADMIN) {
            throw new AccessDeniedException("only repository admins may delete tags of " + repo.name());
        }
    }

    private Protection protectionOf(RepoRecord repo, String branch) {
        for (Protection prot : snap.protections().getOrDefault(repo.id(), List.of())) {
            if (globMatches(prot.pattern(), branch)) {
                return prot;
            }
        }
        return null;
    }

    /** '*' matches within one '/'-separated segment, '**' across segments; everything else literally. */
    static boolean globMatches(String pattern, String name) {
        StringBuilder re = new StringBuilder();
        for (int i = 0; i < pattern.length(); i++) {
            char c = pattern.charAt(i);
            if (c == '*') {
                if (i + 1 < pattern.length() && pattern.charAt(i + 1) == '*') {
                    re.append(".*");
                    i++;
                } else {
                    re.append("[^/]*");
                }
            } else {
                re.append(Pattern.quote(String.valueOf(c)));
            }
        }
        return name.matches(re.toString());
    }

    /** Who may create {@code repo}: server admins anywhere; others under their own name or a group they belong to. */
    public void requireCreate(Principal p, String repo) {
        String owner = repo.substring(0, repo.indexOf('/'));
        if (p.scope() == TokenScope.READ || !p.tokenCovers(repo)) {
            throw new AccessDeniedException("this token may not create repositories" + (p.scope() == TokenScope.READ ? " (read scope)" : " outside its repositories"));
        }
        if (!p.actsAsServerAdmin() && !owner.equals(p.name()) && !p.groups().contains(owner)) {
            throw new AccessDeniedException("you may create repositories only under your own name ('" + p.name()
                    + "/...') or a group you belong to");
        }
    }

    // ---- users and groups (server administration; the API checks the caller)

    public UserRecord createUser(String name, boolean admin) {
        Names.subject(name);
        if (name.equals(Principal.ANONYMOUS.name())) {
            throw new InvalidInputException("'" + name + "' is reserved: it names unauthenticated requests in the audit trail");
        }
        UserRecord u = catalog.createUser(name, admin);
        reload();
        return u;
    }

    public void setUserDisabled(String name, boolean disabled) {
        catalog.setUserDisabled(Names.subject(name), disabled);
        reload();
    }

    public List<UserRecord> users() {
        return catalog.listUsers();
    }

    public Set<String> groupsOf(String user) {
        return snap.groupsOf().getOrDefault(user, Set.of());
    }

    public GroupRecord createGroup(String name) {
        GroupRecord g = catalog.createGroup(Names.subject(name));
        reload();
        return g;
    }

    public Map<String, Set<String>> groups() {
        return catalog.groupMembers();
    }

    public void addGroupMember(String group, String user) {
        catalog.addGroupMember(Names.subject(group), Names.subject(user));
        reload();
    }

    public void removeGroupMember(String group, String user) {
        catalog.removeGroupMember(Names.subject(group), Names.subject(user));
        reload();
    }

    // ---- tokens

    /**
     * Creates a token for {@code user} (the caller's own unless the caller is a server admin).
     * A token never exceeds the caller's: its scope is at most the caller's scope, and a caller
     * limited to some repositories can only create tokens limited to a subset of them.
     */
    public IssuedToken createToken(Principal caller, String user, String label, TokenScope scope, List<String> tokenRepos,
                                   Instant expiresAt) {
        String owner = user == null ? caller.name() : Names.subject(user);
        if (!owner.equals(caller.name()) && !caller.actsAsServerAdmin()) {
            throw new AccessDeniedException("only server admins may create tokens for other users");
        }
        if (!snap.users().containsKey(owner)) {
            throw new NotFoundException("user '" + owner + "' not found");
        }
        if (scope.compareTo(caller.scope()) > 0) {
            throw new AccessDeniedException("a " + caller.scope().wire() + " token cannot create a " + scope.wire() + " token");
        }
        if (tokenRepos.size() > MAX_TOKEN_REPOS) {
            throw new InvalidInputException("a token may name at most " + MAX_TOKEN_REPOS + " repositories");
        }
        tokenRepos.forEach(Names::repo);
        if (!caller.tokenRepos().isEmpty() && (tokenRepos.isEmpty() || !caller.tokenRepos().containsAll(tokenRepos))) {
            throw new AccessDeniedException("this token is limited to some repositories; new tokens must be limited to a subset of them");
        }
        if (label != null && label.length() > MAX_LABEL) {
            throw new InvalidInputException("token label longer than " + MAX_LABEL + " characters");
        }
        if (expiresAt != null && !expiresAt.isAfter(clock.instant())) {
            throw new InvalidInputException("expiry must be in the future");
        }
        TokenRecord callerToken = snap.tokens().get(caller.tokenId());
        Instant callerExpiry = callerToken == null ? null : callerToken.expiresAt();
        if (callerExpiry != null && (expiresAt == null || expiresAt.isAfter(callerExpiry))) {
            throw new AccessDeniedException("this token expires at " + callerExpiry + "; tokens it creates must expire no later");
        }
        return issue(owner, label == null ? "" : label, scope, tokenRepos, expiresAt);
    }

    private IssuedToken issue(String user, String label, TokenScope scope, List<String> tokenRepos, Instant expiresAt) {
        byte[] idBytes = new byte[8];
        byte[] secretBytes = new byte[32];
        random.nextBytes(idBytes);
        random.nextBytes(secretBytes);
        String id = HexFormat.of().formatHex(idBytes);
        String secret = TOKEN_PREFIX + id + "_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
        TokenRecord r = new TokenRecord(id, user, label, scope, List.copyOf(new TreeSet<>(tokenRepos)), sha256(secret),
                clock.instant(), expiresAt, null);
        catalog.createToken(r);
        reload();
        return new IssuedToken(secret, r);
    }

    /** The caller's tokens; a server admin may list another user's ({@code user}) or everyone's ({@code "*"}). */
    public List<TokenRecord> tokens(Principal caller, String user) {
        String who = user == null ? caller.name() : user;
        if (!who.equals(caller.name()) && !caller.actsAsServerAdmin()) {
            throw new AccessDeniedException("only server admins may list other users' tokens");
        }
        List<TokenRecord> out = new ArrayList<>();
        for (TokenRecord t : catalog.listTokens()) {
            if ("*".equals(who) || t.user().equals(who)) {
                out.add(t);
            }
        }
        return out;
    }

    /** Revokes one of the caller's tokens (any token for a server admin); someone else's token is "not found". */
    public void revokeToken(Principal caller, String id) {
        TokenRecord t = snap.tokens().get(id);
        if (t == null || (!t.user().equals(caller.name()) && !caller.actsAsServerAdmin())) {
            throw new NotFoundException("token '" + id + "' not found");
        }
        catalog.revokeToken(id, clock.instant());
        reload();
    }

    // ---- repository access settings (repository admins; the API checks the caller)

    public void setVisibility(RepoRecord repo, Visibility v) {
        catalog.setVisibility(repo.id(), v);
        changed();
    }

    /** Keep the last {@code keepLast} commits of {@code branch} (plus tagged ones); null removes the rule. */
    public void setRetention(RepoRecord repo, String branch, Integer keepLast) {
        catalog.setRetention(repo.id(), branch, keepLast);
        changed();
    }

    public List<RoleBinding> roles(RepoRecord repo) {
        return catalog.listRoles().stream().filter(b -> b.repoId() == repo.id()).toList();
    }

    public void setRole(RepoRecord repo, SubjectKind kind, String subject, RepoRole role) {
        Names.subject(subject);
        requireSubject(kind, subject);
        catalog.setRole(repo.id(), kind, subject, role);
        reload();
    }

    private void requireSubject(SubjectKind kind, String subject) {
        boolean exists = kind == SubjectKind.USER ? snap.users().containsKey(subject) : snap.groups().contains(subject);
        if (!exists) {
            throw new NotFoundException(kind.wire() + " '" + subject + "' not found");
        }
    }

    public List<Protection> protections(RepoRecord repo) {
        return snap.protections().getOrDefault(repo.id(), List.of());
    }

    public Protection protect(RepoRecord repo, String pattern, List<String> allow) {
        checkPattern(pattern);
        if (allow.size() > MAX_ALLOW) {
            throw new InvalidInputException("at most " + MAX_ALLOW + " allowed pushers");
        }
        List<String> normal = new ArrayList<>();
        for (String a : allow) {
            Subject s = Subject.parse(a);
            requireSubject(s.kind(), s.name());
            normal.add(subjectKey(s.kind(), s.name()));
        }
        Protection prot = new Protection(repo.id(), pattern, normal);
        catalog.putProtection(prot);
        reload();
        return prot;
    }

    /** A protected branch pattern's syntax; returns it unchanged. */
    static String checkPattern(String pattern) {
        if (pattern == null || pattern.isEmpty() || pattern.length() > Names.MAX_REF
                || !pattern.matches("[A-Za-z0-9._/*-]+") || pattern.contains("..")) {
            throw new InvalidInputException("invalid branch pattern " + Names.quote(String.valueOf(pattern))
                    + ": letters, digits, '.', '_', '-', '/' and '*' (one segment) or '**' (any)");
        }
        return pattern;
    }

    public void unprotect(RepoRecord repo, String pattern) {
        catalog.deleteProtection(repo.id(), pattern);
        reload();
    }

    // ---- version grants

    /** {@code user:NAME}, {@code group:NAME}, or a bare user name. */
    public record Subject(SubjectKind kind, String name) {
        public static Subject parse(String s) {
            if (s == null) {
                throw new InvalidInputException("a subject (user:NAME or group:NAME) is required");
            }
            int colon = s.indexOf(':');
            SubjectKind kind = colon < 0 ? SubjectKind.USER : SubjectKind.fromWire(s.substring(0, colon));
            return new Subject(kind, Names.subject(colon < 0 ? s : s.substring(colon + 1)));
        }

        @Override
        public String toString() {
            return subjectKey(kind, name);
        }
    }

    /**
     * Grants {@code subject} read access to the commit {@code rev} names now. Granted by tag, the
     * tag's name becomes a way for the grantee to name it; a branch is resolved to its current
     * commit (branches move; the grant does not).
     */
    public GrantRecord grant(Principal caller, RepoRecord repo, String rev, String subject, Instant expiresAt) {
        Subject s = Subject.parse(subject);
        requireSubject(s.kind(), s.name());
        if (expiresAt != null && !expiresAt.isAfter(clock.instant())) {
            throw new InvalidInputException("expiry must be in the future");
        }
        CommitRecord c = repos.resolve(repo, rev);
        String tag = catalog.findRef(repo.id(), rev).filter(r -> r.kind() == RefKind.TAG).map(r -> r.name()).orElse(null);
        byte[] b = new byte[8];
        random.nextBytes(b);
        GrantRecord g = new GrantRecord("g" + HexFormat.of().formatHex(b), repo.id(), tag, c.id(), s.kind(), s.name(),
                caller.name(), clock.instant(), expiresAt, null);
        catalog.createGrant(g);
        reload();
        return g;
    }

    public List<GrantRecord> grants(RepoRecord repo) {
        return snap.grants().getOrDefault(repo.id(), List.of());
    }

    public void revokeGrant(RepoRecord repo, String id) {
        catalog.revokeGrant(repo.id(), id, clock.instant());
        reload();
    }
}
