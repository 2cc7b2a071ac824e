package dev.strata.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
import dev.strata.catalog.RepoRole;
import dev.strata.catalog.SubjectKind;
import dev.strata.catalog.Visibility;
import dev.strata.core.ChunkRef;
import dev.strata.core.ConflictException;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.FileManifest;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import dev.strata.core.NotFoundException;
import dev.strata.core.StorageException;
import dev.strata.core.StrataException;
import dev.strata.core.store.ReadCheck;
import dev.strata.core.wire.ChunkFrames;
import dev.strata.service.AccessDeniedException;
import dev.strata.service.Access;
import dev.strata.service.AuditLog;
import dev.strata.service.TooManyRequestsException;
import dev.strata.service.UnauthenticatedException;
import dev.strata.service.CommitRequest;
import dev.strata.service.GoneException;
import dev.strata.service.ContentReader;
import dev.strata.service.Principal;
import dev.strata.service.Queries;
import dev.strata.service.RepoRev;
import dev.strata.service.UploadSession;
import dev.strata.service.Uploads;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The REST API under {@code /api/v1} (docs/api.md, docs/openapi.yaml). Every route is declared
 * through {@link #route}, which names the action it performs: the request is authenticated and
 * authorised there, in one place, before the handler runs.
 */
public final class ApiServer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ApiServer.class);
    static final int MAX_HEADER_BYTES = 16 * 1024;
    static final int INPUT_BUFFER_BYTES = 1 << 20;
    static final int MAX_JSON_BYTES = 1 << 20;
    static final int MAX_COMMIT_JSON_BYTES = 64 << 20;
    static final long MAX_CHUNK_BATCH_BYTES = 256L << 20;
    static final int MAX_MANIFEST_BYTES = 64 << 20;
    static final String PREFIX = "/api/v1";
    private static final String REPO = PREFIX + "/repos/{owner}/{name}";

    private final Strata strata;
    private final Javalin app;
    private final List<RouteInfo> routes = new ArrayList<>();

    /**
     * One registered route: the HTTP method, the Javalin path (with {@link #PREFIX}), what the
     * authorisation point requires and the action name its audit records carry. {@link OpenApiSpecTest} compares these with docs/openapi.yaml.
     */
    record RouteInfo(String method, String path, Need need, String auditAction) {
        /** The path as OpenAPI writes it: relative to the {@code /api/v1} server, {@code <p>} as {@code {p}}. */
        String openApiPath() {
            String p = path.startsWith(PREFIX) ? path.substring(PREFIX.length()) : path;
            return p.replaceAll("<([^>]+)>", "{$1}");
        }
    }

    private static final org.eclipse.jetty.http.HttpFields SECURITY_HEADERS = org.eclipse.jetty.http.HttpFields.build()
            .add(new org.eclipse.jetty.http.PreEncodedHttpField("X-Content-Type-Options", "nosniff"))
            .add(new org.eclipse.jetty.http.PreEncodedHttpField("Cache-Control", "no-store"))
            .add(new org.eclipse.jetty.http.PreEncodedHttpField("X-Frame-Options", "DENY"))
            .add(new org.eclipse.jetty.http.PreEncodedHttpField("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'"))
            .add(new org.eclipse.jetty.http.PreEncodedHttpField("Referrer-Policy", "no-referrer"))
            .asImmutable();

    public ApiServer(Strata strata) {
        this.strata = strata;
        this.app = Javalin.create(cfg -> {
            cfg.useVirtualThreads = true;
            cfg.showJavalinBanner = false;
            cfg.startupWatcherEnabled = false;
            cfg.http.maxRequestSize = MAX_JSON_BYTES;
            cfg.http.disableCompression();
            // Jetty's default pool keeps buffers up to 64 KiB only: each connection's 1 MiB input
            // buffer (INPUT_BUFFER_BYTES) would be a fresh, zeroed direct allocation per request
            // (measured at ~45 % of the server's CPU serving 4 KiB reads). Pool up to 2 MiB, bounded.
            cfg.jetty.modifyServer(server -> server.addBean(new org.eclipse.jetty.io.ArrayByteBufferPool(
                    0, 64 * 1024, 2 * INPUT_BUFFER_BYTES, 256, 256L << 20, 256L << 20)));
            cfg.jetty.modifyHttpConfiguration(h -> {
                h.setRequestHeaderSize(MAX_HEADER_BYTES);
                h.setSendServerVersion(false);
                // Security headers on every response, errors and unknown paths included. Added by
                // Jetty as pre-encoded fields: a Javalin before-handler cost a route match and five
                // header parses per request (measured on 4 KiB reads, docs/benchmarks.md).
                h.addCustomizer((connector, config, request) -> request.getResponse().getHttpFields().add(SECURITY_HEADERS));
            });
        });
        app.after(this::audit);
        registerErrors();
        registerRoutes();
    }

    public ApiServer start(String host, int port) {
        app.start(host, port);
        // Jetty reads request bodies in 8 KiB buffers by default: each one a hand-off between the
        // selector and the handler's thread. Chunk batches are tens of MiB, so read in 1 MiB.
        for (org.eclipse.jetty.server.Connector c : app.jettyServer().server().getConnectors()) {
            org.eclipse.jetty.server.HttpConnectionFactory f = c.getConnectionFactory(org.eclipse.jetty.server.HttpConnectionFactory.class);
            if (f != null) {
                f.setInputBufferSize(INPUT_BUFFER_BYTES);
            }

        }
        return this;
    }

    public int port() {
        return app.port();
    }

    @Override
    public void close() {
        app.stop();
    }

    /** Every route registered, in registration order. */
    List<RouteInfo> routes() {
        return List.copyOf(routes);
    }

    // ---- the single authentication and authorisation point

    /**
     * What a route requires, checked before its handler runs. Repository needs answer "not
     * found" to signed-in principals without any access, exactly as for a missing repository,
     * and "authentication required" to anonymous ones (docs/security.md).
     */
    enum Need {
        /** No authentication (health). Not audited. */
        PUBLIC,
        /** Anyone, anonymous included; the handler shows only what the principal may see. */
        ANYONE,
        /** Any signed-in user; the handler checks further. */
        SIGNED_IN,
        /** A server administrator with an admin-scoped token. */
        SERVER_ADMIN,
        /** Read one version: a reader, or a user granted the version named by {@code ?rev=}. */
        REPO_VERSION,
        REPO_READ,
        REPO_WRITE,
        REPO_ADMIN
    }

    private static final String PRINCIPAL = "strata.principal";
    private static final String REPO_ATTR = "strata.repo";
    private static final String ACCESS = "strata.access";
    private static final String AUDIT_ACTION = "strata.audit.action";
    private static final String AUDIT_DECISION = "strata.audit.decision";
    static final String AUDIT_RESOURCE = "strata.audit.resource";
    static final String AUDIT_DETAIL = "strata.audit.detail";
    private static final String AUDIT_TOKEN = "strata.audit.token";

    void route(HandlerType method, String path, String auditAction, Need need, Handler handler) {
        routes.add(new RouteInfo(method.name(), path, need, auditAction));
        app.addHttpHandler(method, path, ctx -> {
            strata.noteActivity();
            if (need == Need.PUBLIC) {
                handler.handle(ctx);
                return;
            }
            ctx.attribute(AUDIT_ACTION, auditAction);
            ctx.attribute(AUDIT_DECISION, "deny");
            Principal p;
            try {
                p = strata.access().authenticate(ctx.header("Authorization"), ctx.ip());
            } catch (UnauthenticatedException e) {
                ctx.attribute(AUDIT_ACTION, "auth.fail");
                ctx.attribute(AUDIT_DETAIL, auditAction + ": " + e.reason());
                ctx.attribute(AUDIT_TOKEN, e.tokenId());
                throw e;
            } catch (TooManyRequestsException e) {
                ctx.attribute(AUDIT_ACTION, "auth.rate_limited");
                ctx.attribute(AUDIT_DETAIL, auditAction);
                throw e;
            }
            ctx.attribute(PRINCIPAL, p);
            authorize(ctx, p, need);
            ctx.attribute(AUDIT_DECISION, "allow");
            try {
                handler.handle(ctx);
            } catch (AccessDeniedException e) {
                ctx.attribute(AUDIT_DECISION, "deny"); // a finer rule in the handler (protected branch, token limits)
                throw e;
            }
        });
    }

    private void authorize(Context ctx, Principal p, Need need) {
        switch (need) {
            case PUBLIC, ANYONE -> { }
            case SIGNED_IN -> requireSignedIn(p);
            case SERVER_ADMIN -> {
                requireSignedIn(p);
                if (!p.actsAsServerAdmin()) {
                    throw new AccessDeniedException("server administrators only" + (p.serverAdmin() ? " (this token's scope is " + p.scope().wire() + ")" : ""));
                }
            }
            case REPO_VERSION, REPO_READ, REPO_WRITE, REPO_ADMIN -> {
                String name = repoName(ctx);
                RepoRecord repo = strata.repos().catalog().findRepo(name).orElse(null);
                Access a = strata.access().access(p, repo);
                if (a == Access.NONE) {
                    requireSignedIn(p);
                    throw new NotFoundException("repository '" + name + "' not found");
                }
                Access needed = switch (need) {
                    case REPO_VERSION -> Access.GRANTED;
                    case REPO_READ -> Access.READ;
                    case REPO_WRITE -> Access.WRITE;
                    default -> Access.ADMIN;
                };
                if (!a.atLeast(needed)) {
                    requireSignedIn(p);
                    throw new AccessDeniedException(a == Access.GRANTED
                            ? "your access to " + name + " is limited to the versions granted to you"
                            : "this needs " + needed.name().toLowerCase(Locale.ROOT) + " access to " + name + "; you have "
                                    + a.name().toLowerCase(Locale.ROOT) + (p.scope().ordinal() < needed.ordinal() - 2 ? " (token scope " + p.scope().wire() + ")" : ""));
                }
                ctx.attribute(REPO_ATTR, repo);
                ctx.attribute(ACCESS, a);
            }
        }
    }

    private static void requireSignedIn(Principal p) {
        if (p.anonymous()) {
            throw new UnauthenticatedException("authentication required: send 'Authorization: Bearer <token>' (strata login)", "no token", null);
        }
    }

    /** Records every audited request once its outcome is known; writes wait until their record is durable. */
    private void audit(Context ctx) {
        String action = ctx.attribute(AUDIT_ACTION);
        if (action == null) {
            return;
        }
        Principal p = ctx.attribute(PRINCIPAL);
        String tokenId = p != null ? p.tokenId() : ctx.attribute(AUDIT_TOKEN);
        String resource = ctx.attribute(AUDIT_RESOURCE);
        if (resource == null) {
            resource = defaultResource(ctx);
        }
        AuditLog.Event e = new AuditLog.Event(p == null ? Principal.ANONYMOUS.name() : p.name(), tokenId, ctx.ip(), action,
                resource, ctx.attribute(AUDIT_DECISION), ctx.statusCode(), ctx.attribute(AUDIT_DETAIL));
        boolean write = ctx.method() != HandlerType.GET && ctx.method() != HandlerType.HEAD;
        var done = strata.audit().record(e, write);
        if (write) {
            try {
                done.get(30, java.util.concurrent.TimeUnit.SECONDS);
            } catch (Exception ex) {
                LOG.error("audit record for {} {} not written", ctx.method(), ctx.path(), ex);
            }
        }
    }

    /** "owner/name@rev:path" from whatever the route names; else the request path under the API prefix. */
    private static String defaultResource(Context ctx) {
        Map<String, String> params = ctx.pathParamMap();
        if (!params.containsKey("owner")) {
            String path = ctx.path();
            return path.startsWith(PREFIX) ? path.substring(PREFIX.length()) : path;
        }
        StringBuilder b = new StringBuilder(params.get("owner")).append('/').append(params.get("name"));
        String rev = ctx.queryParam("rev");
        if (rev != null) {
            b.append('@').append(rev);
        } else if (params.containsKey("ref")) {
            b.append('@').append(params.get("ref"));
        } else if (params.containsKey("branch")) {
            b.append('@').append(params.get("branch"));
        }
        if (params.containsKey("path")) {
            b.append(':').append(params.get("path"));
        }
        return b.length() > 1024 ? b.substring(0, 1024) : b.toString();
    }

    private static String repoName(Context ctx) {
        return Names.repo(ctx.pathParam("owner") + "/" + ctx.pathParam("name"));
    }

    // ---- errors

    private void registerErrors() {
        app.exception(NotFoundException.class, (e, ctx) -> fail(ctx, 404, "not_found", e.getMessage()));
        app.exception(InvalidInputException.class, (e, ctx) -> fail(ctx, 400, "invalid", e.getMessage()));
        app.exception(PayloadTooLargeException.class, (e, ctx) -> fail(ctx, 413, "too_large", e.getMessage()));
        app.exception(ConflictException.class, (e, ctx) -> fail(ctx, 409, "conflict", e.getMessage()));
        app.exception(GoneException.class, (e, ctx) -> fail(ctx, 410, "expired", e.getMessage()));
        app.exception(AccessDeniedException.class, (e, ctx) -> fail(ctx, 403, "forbidden", e.getMessage()));
        app.exception(UnauthenticatedException.class, (e, ctx) -> {
            ctx.header("WWW-Authenticate", "Bearer realm=\"strata\"");
            fail(ctx, 401, "unauthenticated", e.getMessage());
        });
        app.exception(TooManyRequestsException.class, (e, ctx) -> {
            ctx.header("Retry-After", Long.toString(e.retryAfterSeconds()));
            fail(ctx, 429, "rate_limited", e.getMessage());
        });
        app.exception(CorruptDataException.class, (e, ctx) -> fail(ctx, 422, "corrupt", e.getMessage()));
        app.exception(StorageException.class, (e, ctx) -> {
            LOG.error("storage failure on {} {}", ctx.method(), ctx.path(), e);
            fail(ctx, 507, "storage", e.getMessage());
        });
        app.exception(StrataException.class, (e, ctx) -> {
            LOG.error("internal error on {} {}", ctx.method(), ctx.path(), e);
            fail(ctx, 500, "internal", e.getMessage());
        });
        app.exception(UncheckedIOException.class, (e, ctx) -> fail(ctx, 400, "aborted", "request body ended early: " + e.getCause().getMessage()));
        app.exception(Exception.class, (e, ctx) -> {
            LOG.error("unexpected error on {} {}", ctx.method(), ctx.path(), e);
            fail(ctx, 500, "internal", "internal error; see the server log");
        });
        app.error(404, ctx -> {
            if (ctx.result() == null || ctx.result().isEmpty()) {
                fail(ctx, 404, "not_found", "no such endpoint: " + ctx.method() + " " + ctx.path());
            }
        });
    }

    private static void fail(Context ctx, int status, String code, String message) {
        ctx.status(status).json(JsonViews.error(code, message == null ? code : message));
    }

    // ---- routes

    private void registerRoutes() {
        route(HandlerType.GET, PREFIX + "/health", "health", Need.PUBLIC,
                ctx -> ctx.json(JsonViews.MAPPER.createObjectNode().put("status", "ok").put("version", Strata.VERSION)));

        route(HandlerType.GET, PREFIX + "/repos", "repo.list", Need.ANYONE, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            Principal p = principal(ctx);
            strata.repos().list().stream().filter(r -> strata.access().access(p, r) != Access.NONE).forEach(r -> a.add(JsonViews.repo(r)));
            ctx.json(a);
        });
        route(HandlerType.POST, PREFIX + "/repos", "repo.create", Need.SIGNED_IN, ctx -> {
            JsonNode body = jsonBody(ctx, MAX_JSON_BYTES);
            String name = Names.repo(JsonViews.text(body, "name") == null ? "" : JsonViews.text(body, "name"));
            ctx.attribute(AUDIT_RESOURCE, name);
            Principal p = principal(ctx);
            strata.access().requireCreate(p, name);
            String vis = JsonViews.text(body, "visibility");
            Visibility visibility = vis == null ? Visibility.PRIVATE : Visibility.fromWire(vis);
            RepoRecord r = strata.repos().create(name, JsonViews.text(body, "description"));
            strata.access().setRole(r, SubjectKind.USER, p.name(), RepoRole.ADMIN);
            if (visibility != Visibility.PRIVATE) {
                strata.access().setVisibility(r, visibility);
                r = strata.repos().get(name);
            }
            ctx.status(201).json(JsonViews.repo(r));
        });
        route(HandlerType.GET, REPO, "repo.read", Need.REPO_VERSION, ctx -> ctx.json(JsonViews.repo(repo(ctx))));

        route(HandlerType.GET, REPO + "/refs", "ref.list", Need.REPO_READ, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            strata.repos().refs(repo(ctx)).forEach(r -> a.add(JsonViews.ref(r)));
            ctx.json(a);
        });
        route(HandlerType.POST, REPO + "/refs", "ref.create", Need.REPO_WRITE, ctx -> {
            JsonNode body = jsonBody(ctx, MAX_JSON_BYTES);
            RefKind kind = switch (String.valueOf(JsonViews.text(body, "kind"))) {
                case "branch" -> RefKind.BRANCH;
                case "tag" -> RefKind.TAG;
                default -> throw new InvalidInputException("kind must be 'branch' or 'tag'");
            };
            String from = JsonViews.text(body, "from");
            if (from == null) {
                throw new InvalidInputException("'from' (the revision the new ref points at) is required");
            }
            String refName = Names.ref(String.valueOf(JsonViews.text(body, "name")));
            ctx.attribute(AUDIT_RESOURCE, repo(ctx).name() + "@" + refName);
            if (kind == RefKind.BRANCH) {
                strata.access().requirePush(principal(ctx), repo(ctx), refName);
            }
            ctx.status(201).json(JsonViews.ref(strata.repos().createRef(repo(ctx), refName, kind, from)));
        });
        route(HandlerType.DELETE, REPO + "/refs/<ref>", "ref.delete", Need.REPO_WRITE, ctx -> {
            RepoRecord repo = repo(ctx);
            String name = Names.ref(ctx.pathParam("ref"));
            strata.repos().catalog().findRef(repo.id(), name)
                    .ifPresent(r -> strata.access().requireRefDelete(principal(ctx), repo, name, r.kind()));
            strata.repos().deleteRef(repo, name, ctx.queryParam("expected"));
            ctx.status(204);
        });

        route(HandlerType.GET, REPO + "/commit", "commit.read", Need.REPO_VERSION,
                ctx -> ctx.json(commitView(ctx, commitFor(ctx, false))));
        route(HandlerType.GET, REPO + "/log", "log.read", Need.REPO_READ, ctx -> {
            RepoRecord repo = repo(ctx);
            int limit = intParam(ctx, "limit", 100, 1, 100_000);
            ctx.json(JsonViews.commits(strata.repos().history(repo, commitFor(ctx, false), limit)));
        });
        route(HandlerType.GET, REPO + "/tree", "tree.read", Need.REPO_VERSION, ctx -> {
            RepoRecord repo = repo(ctx);
            CommitRecord c = commitFor(ctx, false);
            ObjectNode n = JsonViews.MAPPER.createObjectNode();
            n.set("commit", commitView(ctx, c));
            n.set("files", JsonViews.files(strata.repos().tree(repo, c)));
            ctx.json(n);
        });
        route(HandlerType.GET, REPO + "/lineage", "lineage.read", Need.REPO_READ, ctx -> {
            RepoRecord repo = repo(ctx);
            CommitRecord c = commitFor(ctx, false);
            // Links to repositories the principal cannot see are left out: their names must not leak.
            Map<Long, String> names = new HashMap<>();
            Principal p = principal(ctx);
            strata.repos().list().stream().filter(r -> strata.access().access(p, r).atLeast(Access.READ))
                    .forEach(r -> names.put(r.id(), r.name()));
            ObjectNode n = JsonViews.MAPPER.createObjectNode();
            ArrayNode out = n.putArray("derives_from");
            for (LineageLink l : strata.repos().catalog().lineageOf(repo.id(), c.id())) {
                if (names.containsKey(l.targetRepoId())) {
                    out.add(JsonViews.lineage(l, repo.name(), names.get(l.targetRepoId())));
                }
            }
            ArrayNode in = n.putArray("derived");
            for (LineageLink l : strata.repos().catalog().derivedFrom(repo.id(), c.id())) {
                if (names.containsKey(l.repoId())) {
                    in.add(JsonViews.lineage(l, names.get(l.repoId()), repo.name()));
                }
            }
            ctx.json(n);
        });
        route(HandlerType.GET, REPO + "/find", "commit.find", Need.REPO_READ, ctx -> {
            String derived = ctx.queryParam("derived_from");
            RepoRev base = derived == null ? null : RepoRev.parse(derived);
            if (base != null) {
                requireReadable(principal(ctx), base.repo(), base.rev());
            }
            String step = ctx.queryParam("step");
            Queries.FindQuery q = new Queries.FindQuery(ctx.queryParam("branch"),
                    step == null ? null : parseLong(step, "step"),
                    "true".equals(ctx.queryParam("latest")), ctx.queryParam("best"), "true".equals(ctx.queryParam("min")),
                    base == null ? null : base.repo(), base == null ? null : base.rev(), intParam(ctx, "limit", 100, 1, 100_000));
            ctx.json(JsonViews.commits(strata.queries().find(repo(ctx), q)));
        });
        route(HandlerType.GET, REPO + "/diff", "commit.diff", Need.REPO_READ, ctx -> {
            RepoRecord repo = repo(ctx);
            CommitRecord from = strata.repos().resolve(repo, required(ctx, "from"));
            CommitRecord to = strata.repos().resolve(repo, required(ctx, "to"));
            ctx.json(JsonViews.diff(strata.queries().diff(repo, from, to, "true".equals(ctx.queryParam("tensors")))));
        });
        route(HandlerType.GET, REPO + "/stats", "stats.read", Need.REPO_READ, ctx -> {
            RepoRecord repo = repo(ctx);
            String rev = ctx.queryParam("rev");
            ctx.json(JsonViews.stats(rev == null ? strata.queries().stats(repo)
                    : strata.queries().stats(repo, strata.repos().readable(repo, rev))));
        });
        route(HandlerType.PUT, REPO + "/retention/<branch>", "retention.set", Need.REPO_ADMIN, ctx -> {
            JsonNode body = jsonBody(ctx, MAX_JSON_BYTES);
            JsonNode keep = body.get("keep_last");
            if (keep == null || !keep.canConvertToInt() || keep.asInt() < 1) {
                throw new InvalidInputException("keep_last must be a positive integer");
            }
            RepoRecord repo = repo(ctx);
            String branch = Names.ref(ctx.pathParam("branch"));
            strata.access().setRetention(repo, branch, keep.asInt());
            ctx.json(JsonViews.MAPPER.createObjectNode().put("branch", branch).put("keep_last", keep.asInt()));
        });
        route(HandlerType.DELETE, REPO + "/retention/<branch>", "retention.clear", Need.REPO_ADMIN, ctx -> {
            strata.access().setRetention(repo(ctx), Names.ref(ctx.pathParam("branch")), null);
            ctx.status(204);
        });
        route(HandlerType.GET, REPO + "/retention", "retention.read", Need.REPO_READ, ctx -> {
            ObjectNode n = JsonViews.MAPPER.createObjectNode();
            strata.repos().catalog().retentionRules(repo(ctx).id()).forEach(n::put);
            ctx.json(n);
        });

        // ---- downloads
        route(HandlerType.GET, REPO + "/files/<path>", "file.read", Need.REPO_VERSION, this::download);
        route(HandlerType.HEAD, REPO + "/files/<path>", "file.head", Need.REPO_VERSION, this::download);
        route(HandlerType.GET, REPO + "/manifest/<path>", "file.manifest", Need.REPO_VERSION, ctx -> {
            Located f = locate(ctx);
            ctx.header("X-Strata-Commit", f.commit.id()).header("X-Strata-Sha256", f.file.sha256().hex())
                    .contentType("application/octet-stream").result(f.manifest.encode());
        });
        route(HandlerType.GET, REPO + "/chunks/<path>", "file.chunks", Need.REPO_VERSION, ctx -> {
            ReadCheck check = readCheck(ctx);
            boolean floatFrames = floatFrames(ctx);
            Located f = locate(ctx);
            List<ChunkRef> chunks = f.manifest.chunks();
            int from = intParam(ctx, "from", 0, 0, chunks.size());
            int to = intParam(ctx, "to", chunks.size(), from, chunks.size());
            // A declared length lets clients read a plain stream rather than parse chunked encoding.
            long length = 0;
            for (int i = from; i < to; i++) {
                dev.strata.core.store.ChunkInfo info = strata.store().info(chunks.get(i).id());
                if (info == null) {
                    throw new dev.strata.core.StrataException("chunk " + chunks.get(i).id() + " of '" + f.file.path() + "' is missing from the store");
                }
                // Deltas go out resolved (raw): the client may not hold their base. FLOAT chunks go
                // out decoded unless the client reads every FLOAT version.
                boolean raw = info.codec() == dev.strata.core.Codec.DELTA || info.codec() == dev.strata.core.Codec.FLOAT && !floatFrames;
                length += ChunkFrames.HEADER + (raw ? info.rawLength() : info.encodedLength());
            }
            ctx.contentType("application/octet-stream").header("Content-Length", Long.toString(length));
            OutputStream out = ctx.res().getOutputStream();
            strata.reader().writeFrames(chunks.subList(from, to).stream().map(ChunkRef::id).toList(), check, floatFrames, sink(out));
            out.flush();
        });

        // ---- uploads (the push protocol)
        route(HandlerType.POST, REPO + "/uploads", "upload.start", Need.REPO_WRITE, ctx -> {
            UploadSession s = strata.uploads().start(repo(ctx), principal(ctx).name());
            ctx.status(201).json(JsonViews.MAPPER.createObjectNode().put("upload_id", s.id()));
        });
        route(HandlerType.DELETE, REPO + "/uploads/{upload}", "upload.end", Need.REPO_WRITE, ctx -> {
            strata.uploads().finish(session(ctx));
            ctx.status(204);
        });
        route(HandlerType.POST, REPO + "/uploads/{upload}/missing", "upload.missing", Need.REPO_WRITE, ctx -> {
            UploadSession s = session(ctx);
            JsonNode ids = jsonBody(ctx, 8 << 20).get("ids");
            if (ids == null || !ids.isArray()) {
                throw new InvalidInputException("body must be {\"ids\": [hex chunk ids]}");
            }
            if (ids.size() > Uploads.MAX_IDS_PER_QUERY) {
                throw new InvalidInputException("at most " + Uploads.MAX_IDS_PER_QUERY + " ids per query");
            }
            List<ContentHash> list = new ArrayList<>(ids.size());
            ids.forEach(n -> list.add(ContentHash.fromHex(n.asText())));
            ArrayNode missing = JsonViews.MAPPER.createArrayNode();
            strata.uploads().missing(s, list).forEach(id -> missing.add(id.hex()));
            ObjectNode n = JsonViews.MAPPER.createObjectNode();
            n.set("missing", missing);
            ctx.json(n);
        });
        route(HandlerType.POST, REPO + "/uploads/{upload}/chunks", "upload.chunks", Need.REPO_WRITE, ctx -> {
            UploadSession s = session(ctx);
            try (InputStream in = new java.io.BufferedInputStream(new LimitedInputStream(ctx.req().getInputStream(), MAX_CHUNK_BATCH_BYTES), 1 << 20)) {
                Uploads.BatchResult r = strata.uploads().receive(s, in);
                // Not how many were new to the store: that would tell what other repositories hold.
                ctx.json(JsonViews.MAPPER.createObjectNode().put("received", r.received()).put("bytes", r.bytes()));
            }
        });
        route(HandlerType.POST, REPO + "/uploads/{upload}/manifests", "upload.manifest", Need.REPO_WRITE, ctx -> {
            UploadSession s = session(ctx);
            byte[] body = boundedBody(ctx, MAX_MANIFEST_BYTES);
            ContentHash id = strata.uploads().putManifest(s, body);
            ctx.status(201).json(JsonViews.MAPPER.createObjectNode().put("manifest_id", id.hex()));
        });
        route(HandlerType.POST, REPO + "/commits", "commit.create", Need.REPO_WRITE, ctx -> {
            RepoRecord repo = repo(ctx);
            Principal p = principal(ctx);
            CommitRequest req = CommitRequests.parse(jsonBody(ctx, MAX_COMMIT_JSON_BYTES), p);
            ctx.attribute(AUDIT_RESOURCE, repo.name() + "@" + req.branch());
            strata.access().requirePush(p, repo, req.branch());
            if (req.lineage() != null) {
                for (CommitRequest.LineageRequest l : req.lineage()) {
                    requireReadable(p, l.repo(), l.rev());
                }
            }
            UploadSession session = req.uploadId() == null ? null : strata.uploads().session(repo, req.uploadId(), p.name());
            CommitRecord c = strata.uploads().commit(repo, req, session);
            if (session != null) {
                strata.uploads().finish(session);
            }
            ctx.attribute(AUDIT_DETAIL, "commit " + c.id());
            ctx.status(201).json(JsonViews.commit(c));
        });

        // ---- administration
        route(HandlerType.POST, PREFIX + "/admin/gc", "gc.run", Need.SERVER_ADMIN, ctx -> ctx.json(JsonViews.gc(
                "true".equals(ctx.queryParam("full")) ? strata.gc().run(1.0) : strata.gc().run())));
        route(HandlerType.POST, PREFIX + "/admin/compact", "compact.run", Need.SERVER_ADMIN, ctx -> {
            dev.strata.service.Compactor.Report r = strata.compactor().run(() -> true);
            ctx.json(JsonViews.MAPPER.createObjectNode().put("packs_rewritten", r.packsRewritten())
                    .put("chunks_compressed", r.chunksCompressed()).put("bytes_before", r.bytesBefore())
                    .put("bytes_after", r.bytesAfter()).put("tensor_chunks", r.tensorChunks())
                    .put("delta_chunks", r.deltaChunks()));
        });
        route(HandlerType.GET, PREFIX + "/admin/transfer-stats", "stats.transfer", Need.SERVER_ADMIN, ctx -> {
            Uploads.TransferStats t = strata.uploads().transferStats();
            ctx.json(JsonViews.MAPPER.createObjectNode().put("chunk_bytes_received", t.chunkBytesReceived())
                    .put("chunks_stored", t.chunksStored()).put("open_sessions", t.openSessions()));
        });

        AccessRoutes.register(this, strata);
        ReplicationRoutes.register(this, strata);
        DurabilityRoutes.register(this, strata);
    }

    // ---- downloads with Range

    private record Located(RepoRecord repo, CommitRecord commit, FileEntry file, FileManifest manifest) {}

    private Located locate(Context ctx) {
        RepoRecord repo = repo(ctx);
        CommitRecord c = commitFor(ctx, true);
        FileEntry f = strata.repos().file(repo, c, ctx.pathParam("path"));
        return new Located(repo, c, f, strata.repos().manifest(f));
    }

    private void download(Context ctx) throws IOException {
        ReadCheck check = readCheck(ctx);
        Located f = locate(ctx);
        long size = f.file.size();
        long start = 0, end = size;
        String range = ctx.header("Range");
        ctx.header("Accept-Ranges", "bytes").header("ETag", "\"" + f.file.sha256().hex() + "\"")
                .header("X-Strata-Commit", f.commit.id()).header("X-Strata-Sha256", f.file.sha256().hex())
                .contentType("application/octet-stream");
        if (range != null) {
            long[] r = HttpRange.parse(range, size);
            if (r == null) {
                ctx.header("Content-Range", "bytes */" + size);
                fail(ctx, 416, "range", "range " + Names.quote(range) + " not satisfiable for " + size + " bytes");
                return;
            }
            start = r[0];
            end = r[1];
            ctx.status(206).header("Content-Range", "bytes " + start + "-" + (end - 1) + "/" + size);
        }
        ctx.header("Content-Length", Long.toString(end - start));
        if (ctx.method() == HandlerType.HEAD) {
            return;
        }
        OutputStream out = ctx.res().getOutputStream();
        strata.reader().write(f.manifest, start, end, check, sink(out));
        out.flush();
    }

    // ---- helpers

    /**
     * What the server checks of the chunks it sends (docs/api.md, "Reading"): their ids, unless the
     * client says with {@code X-Strata-Verify: client} that it hashes every chunk against its id
     * itself; then only the stored checksum, against damage on the disk (decision 0019).
     */
    private static ReadCheck readCheck(Context ctx) {
        String v = ctx.header("X-Strata-Verify");
        if (v == null || v.equalsIgnoreCase("server")) {
            return ReadCheck.ID;
        }
        if (v.equalsIgnoreCase("client")) {
            return ReadCheck.CHECKSUM;
        }
        throw new dev.strata.core.InvalidInputException("X-Strata-Verify must be 'server' or 'client', not " + Names.quote(v));
    }

    /**
     * Whether the client reads every FLOAT version this server writes ({@code X-Strata-Float}: the
     * newest version it reads, docs/api.md "Chunk frames"); without the header FLOAT chunks are sent
     * decoded, so clients from before version 2 keep working.
     */
    private static boolean floatFrames(Context ctx) {
        String v = ctx.header("X-Strata-Float");
        if (v == null) {
            return false;
        }
        if (!v.matches("[0-9]{1,3}")) {
            throw new dev.strata.core.InvalidInputException("X-Strata-Float must be a FLOAT format version (a number), not " + Names.quote(v));
        }
        return Integer.parseInt(v) >= dev.strata.core.codec.Codecs.FLOAT_VERSION;
    }

    /** Jetty's output writes direct buffers to the socket as they are: raw chunks skip the heap. */
    private static ContentReader.Sink sink(OutputStream out) {
        if (!(out instanceof org.eclipse.jetty.server.HttpOutput jetty)) {
            return ContentReader.Sink.of(out);
        }
        return new ContentReader.Sink() {
            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                jetty.write(b, off, len);
            }

            @Override
            public void write(java.nio.ByteBuffer b) throws IOException {
                jetty.write(b);
            }
        };
    }

    /** The repository of a repository route, as found by the authorisation point. */
    static RepoRecord repo(Context ctx) {
        return ctx.attribute(REPO_ATTR);
    }

    private UploadSession session(Context ctx) {
        return strata.uploads().session(repo(ctx), ctx.pathParam("upload"), principal(ctx).name());
    }

    /**
     * The commit {@code ?rev=} names. A principal with only version grants may name just a
     * granted tag or full commit id; anything else is "not found" (it must not learn which
     * branches or commits exist).
     */
    private CommitRecord commitFor(Context ctx, boolean readable) {
        RepoRecord repo = repo(ctx);
        String rev = rev(ctx);
        if (ctx.attribute(ACCESS) == Access.GRANTED) {
            String granted = strata.access().grantedCommit(principal(ctx), repo, rev).orElse(null);
            if (granted == null) {
                ctx.attribute(AUDIT_DECISION, "deny"); // a refusal that must look like "not found"
                throw new NotFoundException("revision '" + rev + "' not found in " + repo.name());
            }
            rev = granted;
        }
        return readable ? strata.repos().readable(repo, rev) : strata.repos().resolve(repo, rev);
    }

    /** A commit as JSON; grantees of one version do not see the ids of its parents. */
    private static ObjectNode commitView(Context ctx, CommitRecord c) {
        ObjectNode n = JsonViews.commit(c);
        if (ctx.attribute(ACCESS) == Access.GRANTED) {
            n.putArray("parents");
        }
        return n;
    }

    /**
     * Another repository named in a request (lineage): readable by the principal, or {@code rev}
     * granted to it; else "not found", as for a missing repository.
     */
    private void requireReadable(Principal p, String name, String rev) {
        RepoRecord r = strata.repos().catalog().findRepo(Names.repo(name)).orElse(null);
        Access a = strata.access().access(p, r);
        boolean granted = a == Access.GRANTED && rev != null && strata.access().grantedCommit(p, r, rev).isPresent();
        if (!a.atLeast(Access.READ) && !granted) {
            throw new NotFoundException("repository '" + name + "' not found");
        }
    }

    static Principal principal(Context ctx) {
        return ctx.attribute(PRINCIPAL);
    }

    private static String rev(Context ctx) {
        String rev = ctx.queryParam("rev");
        return rev == null || rev.isEmpty() ? RepoRev.DEFAULT_BRANCH : rev;
    }

    static String required(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null || v.isEmpty()) {
            throw new InvalidInputException("query parameter '" + name + "' is required");
        }
        return v;
    }

    static int intParam(Context ctx, String name, int dflt, int min, int max) {
        String v = ctx.queryParam(name);
        if (v == null) {
            return dflt;
        }
        long n = parseLong(v, name);
        if (n < min || n > max) {
            throw new InvalidInputException("'" + name + "' must be between " + min + " and " + max);
        }
        return (int) n;
    }

    static long parseLong(String v, String name) {
        try {
            return Long.parseLong(v);
        } catch (NumberFormatException e) {
            throw new InvalidInputException("'" + name + "' must be an integer, got " + Names.quote(v));
        }
    }

    /** Reads a body of at most {@code limit} bytes; a larger declared or actual body is refused before buffering. */
    static byte[] boundedBody(Context ctx, int limit) throws IOException {
        long declared = ctx.req().getContentLengthLong();
        if (declared > limit) {
            throw new PayloadTooLargeException("request body of " + declared + " bytes exceeds the limit of " + limit);
        }
        byte[] body = ctx.req().getInputStream().readNBytes(limit + 1);
        if (body.length > limit) {
            throw new PayloadTooLargeException("request body exceeds the limit of " + limit + " bytes");
        }
        return body;
    }

    static JsonNode jsonBody(Context ctx, int limit) throws IOException {
        byte[] body = boundedBody(ctx, limit);
        try {
            JsonNode n = JsonViews.MAPPER.readTree(body);
            if (n == null || !n.isObject()) {
                throw new InvalidInputException("request body must be a JSON object");
            }
            return n;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new InvalidInputException("request body is not valid JSON: " + e.getOriginalMessage());
        }
    }
}
