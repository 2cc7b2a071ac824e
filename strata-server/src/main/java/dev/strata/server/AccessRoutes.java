package dev.strata.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.AuditQuery;
import dev.strata.catalog.AuditRecord;
import dev.strata.catalog.GrantRecord;
import dev.strata.catalog.RepoRecord;
import dev.strata.catalog.RepoRole;
import dev.strata.catalog.SubjectKind;
import dev.strata.catalog.TokenRecord;
import dev.strata.catalog.TokenScope;
import dev.strata.catalog.UserRecord;
import dev.strata.catalog.Visibility;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import dev.strata.service.Access;
import dev.strata.service.AccessControl;
import dev.strata.service.AccessDeniedException;
import dev.strata.service.AuditLog;
import dev.strata.service.Principal;
import io.javalin.http.Context;
import io.javalin.http.HandlerType;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The API of identities, tokens, repository access settings, version grants and the audit trail
 * (docs/api.md, "Access control"). Registered through {@link ApiServer#route}, so the same
 * authentication, authorisation and audit apply as everywhere.
 */
final class AccessRoutes {
    private static final String REPO = ApiServer.PREFIX + "/repos/{owner}/{name}";
    private static final int MAX_AUDIT_PAGE = 10_000;

    private final Strata strata;
    private final AccessControl access;

    private AccessRoutes(Strata strata) {
        this.strata = strata;
        this.access = strata.access();
    }

    static void register(ApiServer api, Strata strata) {
        new AccessRoutes(strata).registerOn(api);
    }

    private void registerOn(ApiServer api) {
        String p = ApiServer.PREFIX;
        api.route(HandlerType.GET, p + "/auth/whoami", "auth.whoami", ApiServer.Need.SIGNED_IN, ctx -> {
            Principal me = ApiServer.principal(ctx);
            ObjectNode n = JsonViews.MAPPER.createObjectNode().put("user", me.name()).put("admin", me.serverAdmin())
                    .put("token_id", me.tokenId()).put("scope", me.scope().wire());
            ArrayNode r = n.putArray("repos");
            me.tokenRepos().stream().sorted().forEach(r::add);
            ArrayNode g = n.putArray("groups");
            me.groups().stream().sorted().forEach(g::add);
            ctx.json(n);
        });

        // ---- tokens
        api.route(HandlerType.POST, p + "/tokens", "token.create", ApiServer.Need.SIGNED_IN, ctx -> {
            JsonNode body = ApiServer.jsonBody(ctx, ApiServer.MAX_JSON_BYTES);
            String scope = JsonViews.text(body, "scope");
            List<String> repos = new ArrayList<>();
            JsonNode rs = body.get("repos");
            if (rs != null && !rs.isNull()) {
                if (!rs.isArray()) {
                    throw new InvalidInputException("'repos' must be an array of repository names");
                }
                rs.forEach(n -> repos.add(n.asText()));
            }
            AccessControl.IssuedToken t = access.createToken(ApiServer.principal(ctx), JsonViews.text(body, "user"),
                    JsonViews.text(body, "label"), scope == null ? TokenScope.READ : TokenScope.fromWire(scope), repos, expiry(body));
            ctx.attribute(ApiServer.AUDIT_RESOURCE, "token:" + t.record().id());
            ctx.attribute(ApiServer.AUDIT_DETAIL, "for " + t.record().user() + ", scope " + t.record().scope().wire());
            ObjectNode n = JsonViews.token(t.record());
            n.put("token", t.secret());
            ctx.status(201).json(n);
        });
        api.route(HandlerType.GET, p + "/tokens", "token.list", ApiServer.Need.SIGNED_IN, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            for (TokenRecord t : access.tokens(ApiServer.principal(ctx), ctx.queryParam("user"))) {
                a.add(JsonViews.token(t));
            }
            ctx.json(a);
        });
        api.route(HandlerType.DELETE, p + "/tokens/{token}", "token.revoke", ApiServer.Need.SIGNED_IN, ctx -> {
            String id = ctx.pathParam("token");
            ctx.attribute(ApiServer.AUDIT_RESOURCE, "token:" + id);
            access.revokeToken(ApiServer.principal(ctx), id);
            ctx.status(204);
        });

        // ---- users and groups
        api.route(HandlerType.GET, p + "/users", "user.list", ApiServer.Need.SERVER_ADMIN, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            for (UserRecord u : access.users()) {
                a.add(JsonViews.user(u, access.groupsOf(u.name())));
            }
            ctx.json(a);
        });
        api.route(HandlerType.POST, p + "/users", "user.create", ApiServer.Need.SERVER_ADMIN, ctx -> {
            JsonNode body = ApiServer.jsonBody(ctx, ApiServer.MAX_JSON_BYTES);
            String name = JsonViews.text(body, "name");
            ctx.attribute(ApiServer.AUDIT_RESOURCE, "user:" + name);
            JsonNode admin = body.get("admin");
            UserRecord u = access.createUser(name, admin != null && admin.asBoolean());
            ctx.status(201).json(JsonViews.user(u, Set.of()));
        });
        api.route(HandlerType.DELETE, p + "/users/{user}", "user.disable", ApiServer.Need.SERVER_ADMIN, ctx -> {
            String name = ctx.pathParam("user");
            ctx.attribute(ApiServer.AUDIT_RESOURCE, "user:" + name);
            if (name.equals(ApiServer.principal(ctx).name())) {
                throw new InvalidInputException("you cannot disable yourself");
            }
            access.setUserDisabled(name, true);
            ctx.status(204);
        });
        api.route(HandlerType.GET, p + "/groups", "group.list", ApiServer.Need.SERVER_ADMIN, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            for (Map.Entry<String, Set<String>> g : access.groups().entrySet()) {
                ObjectNode n = a.addObject().put("name", g.getKey());
                ArrayNode m = n.putArray("members");
                g.getValue().stream().sorted().forEach(m::add);
            }
            ctx.json(a);
        });
        api.route(HandlerType.POST, p + "/groups", "group.create", ApiServer.Need.SERVER_ADMIN, ctx -> {
            String name = JsonViews.text(ApiServer.jsonBody(ctx, ApiServer.MAX_JSON_BYTES), "name");
            ctx.attribute(ApiServer.AUDIT_RESOURCE, "group:" + name);
            access.createGroup(name);
            ctx.status(201).json(JsonViews.MAPPER.createObjectNode().put("name", name));
        });
        api.route(HandlerType.PUT, p + "/groups/{group}/members/{user}", "group.member.add", ApiServer.Need.SERVER_ADMIN, ctx -> {
            ctx.attribute(ApiServer.AUDIT_RESOURCE, "group:" + ctx.pathParam("group"));
            ctx.attribute(ApiServer.AUDIT_DETAIL, "user:" + ctx.pathParam("user"));
            access.addGroupMember(ctx.pathParam("group"), ctx.pathParam("user"));
            ctx.status(204);
        });
        api.route(HandlerType.DELETE, p + "/groups/{group}/members/{user}", "group.member.remove", ApiServer.Need.SERVER_ADMIN, ctx -> {
            ctx.attribute(ApiServer.AUDIT_RESOURCE, "group:" + ctx.pathParam("group"));
            ctx.attribute(ApiServer.AUDIT_DETAIL, "user:" + ctx.pathParam("user"));
            access.removeGroupMember(ctx.pathParam("group"), ctx.pathParam("user"));
            ctx.status(204);
        });

        // ---- repository access settings
        api.route(HandlerType.PUT, REPO + "/visibility", "visibility.set", ApiServer.Need.REPO_ADMIN, ctx -> {
            Visibility v = Visibility.fromWire(JsonViews.text(ApiServer.jsonBody(ctx, ApiServer.MAX_JSON_BYTES), "visibility"));
            RepoRecord repo = ApiServer.repo(ctx);
            ctx.attribute(ApiServer.AUDIT_DETAIL, v.wire());
            access.setVisibility(repo, v);
            ctx.json(JsonViews.repo(strata.repos().get(repo.name())));
        });
        api.route(HandlerType.GET, REPO + "/members", "member.list", ApiServer.Need.REPO_ADMIN, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            access.roles(ApiServer.repo(ctx)).forEach(b -> a.add(JsonViews.member(b)));
            ctx.json(a);
        });
        api.route(HandlerType.PUT, REPO + "/members/{kind}/{subject}", "member.set", ApiServer.Need.REPO_ADMIN, ctx -> {
            RepoRole role = RepoRole.fromWire(JsonViews.text(ApiServer.jsonBody(ctx, ApiServer.MAX_JSON_BYTES), "role"));
            SubjectKind kind = SubjectKind.fromWire(ctx.pathParam("kind"));
            String subject = ctx.pathParam("subject");
            ctx.attribute(ApiServer.AUDIT_DETAIL, kind.wire() + ":" + subject + " " + role.wire());
            access.setRole(ApiServer.repo(ctx), kind, subject, role);
            ctx.json(JsonViews.MAPPER.createObjectNode().put("kind", kind.wire()).put("name", subject).put("role", role.wire()));
        });
        api.route(HandlerType.DELETE, REPO + "/members/{kind}/{subject}", "member.remove", ApiServer.Need.REPO_ADMIN, ctx -> {
            SubjectKind kind = SubjectKind.fromWire(ctx.pathParam("kind"));
            String subject = ctx.pathParam("subject");
            ctx.attribute(ApiServer.AUDIT_DETAIL, kind.wire() + ":" + subject);
            access.setRole(ApiServer.repo(ctx), kind, subject, null);
            ctx.status(204);
        });
        api.route(HandlerType.GET, REPO + "/protections", "protection.list", ApiServer.Need.REPO_READ, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            access.protections(ApiServer.repo(ctx)).forEach(pr -> a.add(JsonViews.protection(pr)));
            ctx.json(a);
        });
        api.route(HandlerType.PUT, REPO + "/protections", "protection.set", ApiServer.Need.REPO_ADMIN, ctx -> {
            JsonNode body = ApiServer.jsonBody(ctx, ApiServer.MAX_JSON_BYTES);
            List<String> allow = new ArrayList<>();
            JsonNode a = body.get("allow");
            if (a != null && !a.isNull()) {
                if (!a.isArray()) {
                    throw new InvalidInputException("'allow' must be an array of user:NAME / group:NAME");
                }
                a.forEach(n -> allow.add(n.asText()));
            }
            String pattern = JsonViews.text(body, "pattern");
            ctx.attribute(ApiServer.AUDIT_DETAIL, "pattern " + pattern);
            ctx.json(JsonViews.protection(access.protect(ApiServer.repo(ctx), pattern, allow)));
        });
        api.route(HandlerType.DELETE, REPO + "/protections", "protection.remove", ApiServer.Need.REPO_ADMIN, ctx -> {
            String pattern = ApiServer.required(ctx, "pattern");
            ctx.attribute(ApiServer.AUDIT_DETAIL, "pattern " + pattern);
            access.unprotect(ApiServer.repo(ctx), pattern);
            ctx.status(204);
        });

        // ---- version grants
        api.route(HandlerType.POST, REPO + "/grants", "grant.create", ApiServer.Need.REPO_ADMIN, ctx -> {
            JsonNode body = ApiServer.jsonBody(ctx, ApiServer.MAX_JSON_BYTES);
            RepoRecord repo = ApiServer.repo(ctx);
            String rev = JsonViews.text(body, "rev");
            if (rev == null) {
                throw new InvalidInputException("'rev' (the tag or commit to share) is required");
            }
            ctx.attribute(ApiServer.AUDIT_RESOURCE, repo.name() + "@" + rev);
            GrantRecord g = access.grant(ApiServer.principal(ctx), repo, rev, JsonViews.text(body, "to"), expiry(body));
            ctx.attribute(ApiServer.AUDIT_DETAIL, "grant " + g.id() + " to " + g.kind().wire() + ":" + g.subject() + " commit " + g.commitId());
            ctx.status(201).json(JsonViews.grant(g, repo.name()));
        });
        api.route(HandlerType.GET, REPO + "/grants", "grant.list", ApiServer.Need.REPO_ADMIN, ctx -> {
            RepoRecord repo = ApiServer.repo(ctx);
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            access.grants(repo).forEach(g -> a.add(JsonViews.grant(g, repo.name())));
            ctx.json(a);
        });
        api.route(HandlerType.DELETE, REPO + "/grants/{grant}", "grant.revoke", ApiServer.Need.REPO_ADMIN, ctx -> {
            ctx.attribute(ApiServer.AUDIT_DETAIL, "grant " + ctx.pathParam("grant"));
            access.revokeGrant(ApiServer.repo(ctx), ctx.pathParam("grant"));
            ctx.status(204);
        });

        // ---- audit
        api.route(HandlerType.GET, p + "/audit", "audit.read", ApiServer.Need.SIGNED_IN, this::auditQuery);
        api.route(HandlerType.GET, p + "/audit/verify", "audit.verify", ApiServer.Need.SERVER_ADMIN, ctx -> {
            AuditLog.Verification v = strata.audit().verify();
            ObjectNode n = JsonViews.MAPPER.createObjectNode().put("ok", v.ok()).put("records", v.records()).put("last_seq", v.lastSeq());
            if (!v.ok()) {
                n.put("first_bad_seq", v.firstBadSeq()).put("problem", v.problem());
            }
            ctx.json(n);
        });
    }

    /**
     * Server admins query everything; a repository admin may query records of that repository
     * ({@code ?repo=} required). JSON array by default, JSON lines with {@code format=jsonl}.
     */
    private void auditQuery(Context ctx) throws IOException {
        Principal me = ApiServer.principal(ctx);
        String repo = ctx.queryParam("repo");
        if (!me.actsAsServerAdmin()) {
            RepoRecord r = repo == null ? null : strata.repos().catalog().findRepo(Names.repo(repo)).orElse(null);
            if (r == null || strata.access().access(me, r) != Access.ADMIN) {
                throw new AccessDeniedException("the audit trail is for server admins, and for repository admins with ?repo= naming their repository");
            }
        }
        boolean lines = "jsonl".equals(ctx.queryParam("format"));
        int limit = ApiServer.intParam(ctx, "limit", lines ? Integer.MAX_VALUE : 1000, 1, lines ? Integer.MAX_VALUE : MAX_AUDIT_PAGE);
        long after = ctx.queryParam("after") == null ? 0 : ApiServer.parseLong(ctx.queryParam("after"), "after");
        Instant since = instant(ctx.queryParam("since"), "since");
        Instant until = instant(ctx.queryParam("until"), "until");
        String principal = ctx.queryParam("principal");
        String action = ctx.queryParam("action");
        if (!lines) {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            strata.audit().query(new AuditQuery(repo, principal, action, since, until, after, limit)).forEach(r -> a.add(JsonViews.audit(r)));
            ctx.json(a);
            return;
        }
        ctx.contentType("application/x-ndjson");
        try (Writer w = new BufferedWriter(new OutputStreamWriter(ctx.res().getOutputStream(), StandardCharsets.UTF_8), 1 << 16)) {
            long left = limit;
            while (left > 0) {
                List<AuditRecord> page = strata.audit().query(new AuditQuery(repo, principal, action, since, until, after,
                        (int) Math.min(left, MAX_AUDIT_PAGE)));
                for (AuditRecord r : page) {
                    w.write(JsonViews.MAPPER.writeValueAsString(JsonViews.audit(r)));
                    w.write('\n');
                    after = r.seq();
                }
                left -= page.size();
                if (page.size() < MAX_AUDIT_PAGE) {
                    break;
                }
            }
        }
    }

    private static Instant instant(String v, String name) {
        if (v == null) {
            return null;
        }
        try {
            return Instant.parse(v);
        } catch (DateTimeParseException e) {
            throw new InvalidInputException("'" + name + "' must be an ISO-8601 instant such as 2026-11-21T10:00:00Z, got " + Names.quote(v));
        }
    }

    /** {@code expires_at} (ISO-8601) or {@code expires_in} ("90d", "12h", "30m"); null when neither. */
    static Instant expiry(JsonNode body) {
        String at = JsonViews.text(body, "expires_at");
        String in = JsonViews.text(body, "expires_in");
        if (at != null && in != null) {
            throw new InvalidInputException("give expires_at or expires_in, not both");
        }
        if (at != null) {
            return instant(at, "expires_at");
        }
        if (in == null) {
            return null;
        }
        var m = java.util.regex.Pattern.compile("([1-9][0-9]{0,5})([dhm])").matcher(in);
        if (!m.matches()) {
            throw new InvalidInputException("expires_in must be a number of days, hours or minutes such as 90d, 12h or 30m, got " + Names.quote(in));
        }
        long n = Long.parseLong(m.group(1));
        Duration d = switch (m.group(2)) {
            case "d" -> Duration.ofDays(n);
            case "h" -> Duration.ofHours(n);
            default -> Duration.ofMinutes(n);
        };
        return Instant.now().plus(d);
    }
}
