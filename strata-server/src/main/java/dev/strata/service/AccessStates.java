package dev.strata.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.AccessState;
import dev.strata.catalog.Catalog;
import dev.strata.catalog.GrantRecord;
import dev.strata.catalog.GroupRecord;
import dev.strata.catalog.Protection;
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
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Function;
import java.util.regex.Pattern;

/**
 * The access state as replication carries it (docs/api.md, "Replication"; docs/decisions/0013-replication.md,
 * "Access state"): taken from the primary's catalog, written as JSON keyed by names (repository ids
 * differ between servers), and read back on the replica with every field checked before anything is
 * changed. Tokens travel as their id, owner, label, scope, repository limits, times and the SHA-256
 * of the token: never a secret, which the server does not have.
 */
public final class AccessStates {
    /** The wire format's version; a replica refuses any other. */
    public static final int FORMAT = 1;
    /** Largest request body a replica accepts for the access state. */
    public static final int MAX_BYTES = 32 << 20;
    static final int MAX_USERS = 100_000;
    static final int MAX_GROUPS = 100_000;
    static final int MAX_MEMBERS = 100_000;
    static final int MAX_TOKENS = 200_000;
    static final int MAX_REPOS = 100_000;
    /** Per repository, per kind of rule (retention, roles, protections, grants). */
    static final int MAX_RULES = 100_000;
    static final int MAX_TOKEN_REPOS = 1000;
    static final int MAX_ALLOW = 1000;
    static final int MAX_LABEL = 200;
    private static final Pattern TOKEN_ID = Pattern.compile("[0-9a-f]{16}");
    private static final Pattern GRANT_ID = Pattern.compile("g[0-9a-f]{16}");
    private static final Pattern COMMIT_ID = Pattern.compile("[0-9a-f]{40}");
    private static final Pattern SHA256_HEX = Pattern.compile("[0-9a-f]{64}");
    /** Catalog instants are epoch nanoseconds in a long: keep well inside that range. */
    private static final Instant LATEST = Instant.parse("2262-01-01T00:00:00Z");

    private AccessStates() {}

    /**
     * Reads the access state of {@code catalog}. Not one transaction: tables that refer to others
     * are read first and the ones they refer to last. Users, groups, repositories and commits are
     * never deleted, so every name read earlier resolves in what is read later; a change that
     * lands in between is sent again with the next state (every change triggers one).
     */
    public static AccessState take(Catalog catalog) {
        List<TokenRecord> tokens = catalog.listTokens();
        Map<String, Set<String>> members = catalog.groupMembers();
        List<RoleBinding> roles = catalog.listRoles();
        List<Protection> protections = catalog.listProtections();
        List<GrantRecord> grants = catalog.listGrants();
        List<GroupRecord> groups = catalog.listGroups();
        List<UserRecord> users = catalog.listUsers();
        List<RepoRecord> repos = catalog.listRepos();

        Map<Long, List<AccessState.Role>> rolesOf = new HashMap<>();
        roles.forEach(b -> rolesOf.computeIfAbsent(b.repoId(), k -> new ArrayList<>()).add(new AccessState.Role(b.kind(), b.subject(), b.role())));
        Map<Long, List<AccessState.ProtectionRule>> protectionsOf = new HashMap<>();
        protections.forEach(p -> protectionsOf.computeIfAbsent(p.repoId(), k -> new ArrayList<>()).add(new AccessState.ProtectionRule(p.pattern(), p.allow())));
        Map<Long, List<AccessState.Grant>> grantsOf = new HashMap<>();
        grants.forEach(g -> grantsOf.computeIfAbsent(g.repoId(), k -> new ArrayList<>()).add(new AccessState.Grant(g.id(), g.ref(),
                g.commitId(), g.kind(), g.subject(), g.grantedBy(), g.createdAt(), g.expiresAt(), g.revokedAt())));
        List<AccessState.RepoAccess> repoAccess = new ArrayList<>();
        for (RepoRecord r : repos) {
            repoAccess.add(new AccessState.RepoAccess(r.name(), r.visibility(), catalog.retentionRules(r.id()),
                    rolesOf.getOrDefault(r.id(), List.of()), protectionsOf.getOrDefault(r.id(), List.of()), grantsOf.getOrDefault(r.id(), List.of())));
        }
        return new AccessState(
                users.stream().map(u -> new AccessState.User(u.name(), u.admin(), u.disabled(), u.createdAt())).toList(),
                groups.stream().map(g -> new AccessState.Group(g.name(), g.createdAt(), List.copyOf(members.getOrDefault(g.name(), Set.of())))).toList(),
                tokens, repoAccess);
    }

    /** The body of {@code PUT /admin/replication/access}. */
    public static ObjectNode toJson(AccessState s, String sourceServerId, Instant takenAt) {
        ObjectNode n = JsonNodeFactory.instance.objectNode();
        n.put("format", FORMAT).put("source_server_id", sourceServerId).put("taken_at", takenAt.toString());
        ArrayNode users = n.putArray("users");
        s.users().forEach(u -> users.addObject().put("name", u.name()).put("admin", u.admin()).put("disabled", u.disabled())
                .put("created_at", u.createdAt().toString()));
        ArrayNode groups = n.putArray("groups");
        for (AccessState.Group g : s.groups()) {
            ObjectNode o = groups.addObject().put("name", g.name()).put("created_at", g.createdAt().toString());
            ArrayNode m = o.putArray("members");
            g.members().forEach(m::add);
        }
        ArrayNode tokens = n.putArray("tokens");
        for (TokenRecord t : s.tokens()) {
            ObjectNode o = tokens.addObject().put("id", t.id()).put("user", t.user()).put("label", t.label()).put("scope", t.scope().wire());
            ArrayNode r = o.putArray("repos");
            t.repos().forEach(r::add);
            o.put("secret_sha256", HexFormat.of().formatHex(t.secretHash())).put("created_at", t.createdAt().toString());
            o.put("expires_at", instant(t.expiresAt())).put("revoked_at", instant(t.revokedAt()));
        }
        ArrayNode repos = n.putArray("repositories");
        for (AccessState.RepoAccess r : s.repos()) {
            ObjectNode o = repos.addObject().put("name", r.repo()).put("visibility", r.visibility().wire());
            ObjectNode retention = o.putObject("retention");
            new java.util.TreeMap<>(r.retention()).forEach(retention::put);
            ArrayNode roles = o.putArray("roles");
            r.roles().forEach(b -> roles.addObject().put("kind", b.kind().wire()).put("subject", b.subject()).put("role", b.role().wire()));
            ArrayNode protections = o.putArray("protections");
            for (AccessState.ProtectionRule p : r.protections()) {
                ArrayNode allow = protections.addObject().put("pattern", p.pattern()).putArray("allow");
                p.allow().forEach(allow::add);
            }
            ArrayNode grants = o.putArray("grants");
            r.grants().forEach(g -> grants.addObject().put("id", g.id()).put("tag", g.ref()).put("commit", g.commitId())
                    .put("kind", g.kind().wire()).put("subject", g.subject()).put("granted_by", g.grantedBy())
                    .put("created_at", g.createdAt().toString()).put("expires_at", instant(g.expiresAt()))
                    .put("revoked_at", instant(g.revokedAt())));
        }
        return n;
    }

    private static String instant(Instant t) {
        return t == null ? null : t.toString();
    }

    // ---- reading a state sent by a primary: everything checked before anything is changed

    /** The state in {@code body}, or {@link InvalidInputException} naming the first field that is wrong. */
    public static AccessState parse(JsonNode body) {
        JsonNode format = body.get("format");
        if (format == null || !format.isInt() || format.asInt() != FORMAT) {
            throw new InvalidInputException("format must be " + FORMAT + " (this server reads access state format " + FORMAT + " only)");
        }
        Set<String> userNames = new HashSet<>();
        List<AccessState.User> users = new ArrayList<>();
        for (JsonNode u : array(body, "users", MAX_USERS)) {
            String at = "users[" + users.size() + "]";
            String name = subject(u, "name", at);
            if (name.equals(Principal.ANONYMOUS.name())) {
                throw new InvalidInputException(at + ".name: '" + name + "' is reserved for unauthenticated requests");
            }
            if (!userNames.add(name)) {
                throw new InvalidInputException(at + ": user " + Names.quote(name) + " is listed twice");
            }
            users.add(new AccessState.User(name, bool(u, "admin", at), bool(u, "disabled", at), instant(u, "created_at", at, true)));
        }
        Set<String> groupNames = new HashSet<>();
        List<AccessState.Group> groups = new ArrayList<>();
        for (JsonNode g : array(body, "groups", MAX_GROUPS)) {
            String at = "groups[" + groups.size() + "]";
            String name = subject(g, "name", at);
            if (userNames.contains(name) || !groupNames.add(name)) {
                throw new InvalidInputException(at + ": " + Names.quote(name) + " is listed twice (users and groups share one namespace)");
            }
            List<String> members = names(g, "members", MAX_MEMBERS, at, m -> {
                if (!userNames.contains(Names.subject(m))) {
                    throw new InvalidInputException(at + ".members: " + Names.quote(m) + " is not a user of this state");
                }
                return m;
            });
            groups.add(new AccessState.Group(name, instant(g, "created_at", at, true), members));
        }
        Set<String> tokenIds = new HashSet<>();
        List<TokenRecord> tokens = new ArrayList<>();
        for (JsonNode t : array(body, "tokens", MAX_TOKENS)) {
            String at = "tokens[" + tokens.size() + "]";
            String id = matching(t, "id", TOKEN_ID, at, "16 lowercase hex characters");
            if (!tokenIds.add(id)) {
                throw new InvalidInputException(at + ": token " + id + " is listed twice");
            }
            String user = subject(t, "user", at);
            if (!userNames.contains(user)) {
                throw new InvalidInputException(at + ".user: " + Names.quote(user) + " is not a user of this state");
            }
            String label = text(t, "label", at);
            if (label.length() > MAX_LABEL) {
                throw new InvalidInputException(at + ".label: longer than " + MAX_LABEL + " characters");
            }
            TokenScope scope = TokenScope.fromWire(text(t, "scope", at));
            List<String> repos = names(t, "repos", MAX_TOKEN_REPOS, at, Names::repo);
            byte[] hash = HexFormat.of().parseHex(matching(t, "secret_sha256", SHA256_HEX, at, "the token's SHA-256: 64 lowercase hex characters (32 bytes)"));
            tokens.add(new TokenRecord(id, user, label, scope, repos, hash, instant(t, "created_at", at, true),
                    instant(t, "expires_at", at, false), instant(t, "revoked_at", at, false)));
        }
        Set<String> repoNames = new HashSet<>();
        Set<String> grantIds = new HashSet<>();
        List<AccessState.RepoAccess> repos = new ArrayList<>();
        for (JsonNode r : array(body, "repositories", MAX_REPOS)) {
            String at = "repositories[" + repos.size() + "]";
            String name = Names.repo(text(r, "name", at));
            if (!repoNames.add(name)) {
                throw new InvalidInputException(at + ": repository " + name + " is listed twice");
            }
            at = "repository " + name;
            Visibility visibility = Visibility.fromWire(text(r, "visibility", at));
            JsonNode ret = r.get("retention");
            if (ret == null || !ret.isObject() || ret.size() > MAX_RULES) {
                throw new InvalidInputException(at + ": retention must be an object of branch → keep-last count (at most " + MAX_RULES + ")");
            }
            Map<String, Integer> retention = new LinkedHashMap<>();
            for (Map.Entry<String, JsonNode> e : ret.properties()) {
                if (!e.getValue().canConvertToInt() || !e.getValue().isIntegralNumber() || e.getValue().asInt() < 1) {
                    throw new InvalidInputException(at + ": retention of " + Names.quote(e.getKey()) + " must be a positive integer");
                }
                retention.put(Names.ref(e.getKey()), e.getValue().asInt());
            }
            List<AccessState.Role> roles = new ArrayList<>();
            Set<String> roleKeys = new HashSet<>();
            for (JsonNode b : array(r, "roles", MAX_RULES, at)) {
                SubjectKind kind = SubjectKind.fromWire(text(b, "kind", at + " role"));
                String subject = existing(kind, subject(b, "subject", at + " role"), userNames, groupNames, at + " role");
                if (!roleKeys.add(kind.wire() + ":" + subject)) {
                    throw new InvalidInputException(at + ": the role of " + kind.wire() + ":" + subject + " is listed twice");
                }
                roles.add(new AccessState.Role(kind, subject, RepoRole.fromWire(text(b, "role", at + " role"))));
            }
            List<AccessState.ProtectionRule> protections = new ArrayList<>();
            Set<String> patterns = new HashSet<>();
            for (JsonNode p : array(r, "protections", MAX_RULES, at)) {
                String pattern = AccessControl.checkPattern(text(p, "pattern", at + " protection"));
                if (!patterns.add(pattern)) {
                    throw new InvalidInputException(at + ": pattern " + Names.quote(pattern) + " is listed twice");
                }
                String where = at + " protection " + Names.quote(pattern);
                List<String> allow = names(p, "allow", MAX_ALLOW, where, a -> {
                    AccessControl.Subject s = AccessControl.Subject.parse(a);
                    existing(s.kind(), s.name(), userNames, groupNames, where);
                    return s.toString();
                });
                protections.add(new AccessState.ProtectionRule(pattern, allow));
            }
            List<AccessState.Grant> grants = new ArrayList<>();
            for (JsonNode g : array(r, "grants", MAX_RULES, at)) {
                String gat = at + " grants[" + grants.size() + "]";
                String id = matching(g, "id", GRANT_ID, gat, "'g' and 16 lowercase hex characters");
                if (!grantIds.add(id)) {
                    throw new InvalidInputException(gat + ": grant " + id + " is listed twice");
                }
                JsonNode tag = g.get("tag");
                if (tag != null && !tag.isNull() && !tag.isTextual()) {
                    throw new InvalidInputException(gat + ".tag must be a tag name or null");
                }
                String ref = tag == null || tag.isNull() ? null : Names.ref(tag.asText());
                String commit = matching(g, "commit", COMMIT_ID, gat, "a 40-character lowercase hex commit id");
                SubjectKind kind = SubjectKind.fromWire(text(g, "kind", gat));
                String subject = existing(kind, subject(g, "subject", gat), userNames, groupNames, gat);
                grants.add(new AccessState.Grant(id, ref, commit, kind, subject, subject(g, "granted_by", gat),
                        instant(g, "created_at", gat, true), instant(g, "expires_at", gat, false), instant(g, "revoked_at", gat, false)));
            }
            repos.add(new AccessState.RepoAccess(name, visibility, retention, roles, protections, grants));
        }
        return new AccessState(users, groups, tokens, repos);
    }

    private static String existing(SubjectKind kind, String name, Set<String> users, Set<String> groups, String at) {
        if (!(kind == SubjectKind.USER ? users : groups).contains(name)) {
            throw new InvalidInputException(at + ": " + kind.wire() + " " + Names.quote(name) + " is not in this state");
        }
        return name;
    }

    private static JsonNode array(JsonNode n, String field, int max, String... at) {
        JsonNode a = n.get(field);
        String where = at.length == 0 ? field : at[0] + "." + field;
        if (a == null || !a.isArray()) {
            throw new InvalidInputException(where + " must be an array");
        }
        if (a.size() > max) {
            throw new InvalidInputException(where + ": more than " + max + " entries");
        }
        for (JsonNode e : a) {
            if (!e.isObject()) {
                throw new InvalidInputException(where + " must hold objects");
            }
        }
        return a;
    }

    private static List<String> names(JsonNode n, String field, int max, String at, Function<String, String> check) {
        JsonNode a = n.get(field);
        if (a == null || !a.isArray() || a.size() > max) {
            throw new InvalidInputException(at + "." + field + " must be an array of at most " + max + " names");
        }
        List<String> out = new ArrayList<>();
        Set<String> seen = new HashSet<>();
        for (JsonNode e : a) {
            if (!e.isTextual()) {
                throw new InvalidInputException(at + "." + field + " must hold strings");
            }
            String v = check.apply(e.asText());
            if (!seen.add(v)) {
                throw new InvalidInputException(at + "." + field + ": " + Names.quote(v) + " is listed twice");
            }
            out.add(v);
        }
        return out;
    }

    private static String text(JsonNode n, String field, String at) {
        JsonNode v = n.get(field);
        if (v == null || !v.isTextual()) {
            throw new InvalidInputException(at + "." + field + " is required (a string)");
        }
        return v.asText();
    }

    private static String subject(JsonNode n, String field, String at) {
        try {
            return Names.subject(text(n, field, at));
        } catch (InvalidInputException e) {
            throw new InvalidInputException(at + "." + field + ": " + e.getMessage());
        }
    }

    private static String matching(JsonNode n, String field, Pattern p, String at, String what) {
        String v = text(n, field, at);
        if (!p.matcher(v).matches()) {
            throw new InvalidInputException(at + "." + field + " must be " + what);
        }
        return v;
    }

    private static boolean bool(JsonNode n, String field, String at) {
        JsonNode v = n.get(field);
        if (v == null || !v.isBoolean()) {
            throw new InvalidInputException(at + "." + field + " is required (true or false)");
        }
        return v.asBoolean();
    }

    private static Instant instant(JsonNode n, String field, String at, boolean required) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            if (required) {
                throw new InvalidInputException(at + "." + field + " is required (an ISO-8601 instant)");
            }
            return null;
        }
        if (!v.isTextual()) {
            throw new InvalidInputException(at + "." + field + " must be an ISO-8601 instant or null");
        }
        try {
            Instant t = Instant.parse(v.asText());
            if (t.isBefore(Instant.EPOCH) || !t.isBefore(LATEST)) {
                throw new InvalidInputException(at + "." + field + " is out of range (1970 to 2261)");
            }
            return t;
        } catch (DateTimeParseException e) {
            throw new InvalidInputException(at + "." + field + " must be an ISO-8601 instant, got " + Names.quote(v.asText()));
        }
    }
}
