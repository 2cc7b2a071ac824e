package dev.strata.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.RefKind;
import dev.strata.catalog.RepoRecord;
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
import dev.strata.core.wire.ChunkFrames;
import dev.strata.service.AccessDeniedException;
import dev.strata.service.AccessPolicy;
import dev.strata.service.Action;
import dev.strata.service.CommitRequest;
import dev.strata.service.GoneException;
import dev.strata.service.Principal;
import dev.strata.service.Queries;
import dev.strata.service.RepoRev;
import dev.strata.service.UploadSession;
import dev.strata.service.Uploads;
import io.javalin.Javalin;
import io.javalin.http.Context;
import io.javalin.http.Handler;
import io.javalin.http.HandlerType;
import java.io.BufferedOutputStream;
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
    private final AccessPolicy policy;
    private final Javalin app;
    private final List<RouteInfo> routes = new ArrayList<>();

    /**
     * One registered route: the HTTP method, the Javalin path (with {@link #PREFIX}) and the action
     * the authorisation point checks. {@link OpenApiSpecTest} compares these with docs/openapi.yaml.
     */
    record RouteInfo(String method, String path, Action action) {
        /** The path as OpenAPI writes it: relative to the {@code /api/v1} server, {@code <p>} as {@code {p}}. */
        String openApiPath() {
            String p = path.startsWith(PREFIX) ? path.substring(PREFIX.length()) : path;
            return p.replaceAll("<([^>]+)>", "{$1}");
        }
    }

    public ApiServer(Strata strata, AccessPolicy policy) {
        this.strata = strata;
        this.policy = policy;
        this.app = Javalin.create(cfg -> {
            cfg.useVirtualThreads = true;
            cfg.showJavalinBanner = false;
            cfg.startupWatcherEnabled = false;
            cfg.http.maxRequestSize = MAX_JSON_BYTES;
            cfg.http.disableCompression();
            cfg.jetty.modifyHttpConfiguration(h -> {
                h.setRequestHeaderSize(MAX_HEADER_BYTES);
                h.setSendServerVersion(false);
            });
        });
        app.after(ctx -> {
            ctx.header("X-Content-Type-Options", "nosniff");
            ctx.header("Cache-Control", "no-store");
        });
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

    private enum Scope { PUBLIC, SERVER, REPO }

    private void route(HandlerType method, String path, Action action, Scope scope, Handler handler) {
        routes.add(new RouteInfo(method.name(), path, action));
        app.addHttpHandler(method, path, ctx -> {
            strata.noteActivity();
            Principal p = authenticate(ctx);
            if (scope != Scope.PUBLIC) {
                String repo = scope == Scope.REPO ? repoName(ctx) : null;
                policy.check(p, action, repo);
            }
            ctx.attribute("principal", p);
            handler.handle(ctx);
        });
    }

    /** The foundation knows one local user; token authentication replaces this (docs/security.md). */
    private static Principal authenticate(Context ctx) {
        return Principal.LOCAL;
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
        route(HandlerType.GET, PREFIX + "/health", Action.READ, Scope.PUBLIC,
                ctx -> ctx.json(JsonViews.MAPPER.createObjectNode().put("status", "ok").put("version", Strata.VERSION)));

        route(HandlerType.GET, PREFIX + "/repos", Action.READ, Scope.SERVER, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            strata.repos().list().forEach(r -> a.add(JsonViews.repo(r)));
            ctx.json(a);
        });
        route(HandlerType.POST, PREFIX + "/repos", Action.WRITE, Scope.SERVER, ctx -> {
            JsonNode body = jsonBody(ctx, MAX_JSON_BYTES);
            String name = JsonViews.text(body, "name");
            policy.check(principal(ctx), Action.WRITE, Names.repo(name == null ? "" : name));
            ctx.status(201).json(JsonViews.repo(strata.repos().create(name, JsonViews.text(body, "description"))));
        });
        route(HandlerType.GET, REPO, Action.READ, Scope.REPO, ctx -> ctx.json(JsonViews.repo(repo(ctx))));

        route(HandlerType.GET, REPO + "/refs", Action.READ, Scope.REPO, ctx -> {
            ArrayNode a = JsonViews.MAPPER.createArrayNode();
            strata.repos().refs(repo(ctx)).forEach(r -> a.add(JsonViews.ref(r)));
            ctx.json(a);
        });
        route(HandlerType.POST, REPO + "/refs", Action.WRITE, Scope.REPO, ctx -> {
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
            ctx.status(201).json(JsonViews.ref(strata.repos().createRef(repo(ctx), JsonViews.text(body, "name"), kind, from)));
        });
        route(HandlerType.DELETE, REPO + "/refs/<ref>", Action.WRITE, Scope.REPO, ctx -> {
            strata.repos().deleteRef(repo(ctx), ctx.pathParam("ref"), ctx.queryParam("expected"));
            ctx.status(204);
        });

        route(HandlerType.GET, REPO + "/commit", Action.READ, Scope.REPO,
                ctx -> ctx.json(JsonViews.commit(strata.repos().resolve(repo(ctx), rev(ctx)))));
        route(HandlerType.GET, REPO + "/log", Action.READ, Scope.REPO, ctx -> {
            RepoRecord repo = repo(ctx);
            int limit = intParam(ctx, "limit", 100, 1, 100_000);
            ctx.json(JsonViews.commits(strata.repos().history(repo, strata.repos().resolve(repo, rev(ctx)), limit)));
        });
        route(HandlerType.GET, REPO + "/tree", Action.READ, Scope.REPO, ctx -> {
            RepoRecord repo = repo(ctx);
            CommitRecord c = strata.repos().resolve(repo, rev(ctx));
            ObjectNode n = JsonViews.MAPPER.createObjectNode();
            n.set("commit", JsonViews.commit(c));
            n.set("files", JsonViews.files(strata.repos().tree(repo, c)));
            ctx.json(n);
        });
        route(HandlerType.GET, REPO + "/lineage", Action.READ, Scope.REPO, ctx -> {
            RepoRecord repo = repo(ctx);
            CommitRecord c = strata.repos().resolve(repo, rev(ctx));
            Map<Long, String> names = new HashMap<>();
            strata.repos().list().forEach(r -> names.put(r.id(), r.name()));
            ObjectNode n = JsonViews.MAPPER.createObjectNode();
            ArrayNode out = n.putArray("derives_from");
            for (LineageLink l : strata.repos().catalog().lineageOf(repo.id(), c.id())) {
                out.add(JsonViews.lineage(l, repo.name(), names.get(l.targetRepoId())));
            }
            ArrayNode in = n.putArray("derived");
            for (LineageLink l : strata.repos().catalog().derivedFrom(repo.id(), c.id())) {
                in.add(JsonViews.lineage(l, names.get(l.repoId()), repo.name()));
            }
            ctx.json(n);
        });
        route(HandlerType.GET, REPO + "/find", Action.READ, Scope.REPO, ctx -> {
            String derived = ctx.queryParam("derived_from");
            RepoRev base = derived == null ? null : RepoRev.parse(derived);
            String step = ctx.queryParam("step");
            Queries.FindQuery q = new Queries.FindQuery(ctx.queryParam("branch"),
                    step == null ? null : parseLong(step, "step"),
                    "true".equals(ctx.queryParam("latest")), ctx.queryParam("best"), "true".equals(ctx.queryParam("min")),
                    base == null ? null : base.repo(), base == null ? null : base.rev(), intParam(ctx, "limit", 100, 1, 100_000));
            ctx.json(JsonViews.commits(strata.queries().find(repo(ctx), q)));
        });
        route(HandlerType.GET, REPO + "/diff", Action.READ, Scope.REPO, ctx -> {
            RepoRecord repo = repo(ctx);
            CommitRecord from = strata.repos().resolve(repo, required(ctx, "from"));
            CommitRecord to = strata.repos().resolve(repo, required(ctx, "to"));
            ctx.json(JsonViews.diff(strata.queries().diff(repo, from, to)));
        });
        route(HandlerType.GET, REPO + "/stats", Action.READ, Scope.REPO,
                ctx -> ctx.json(JsonViews.stats(strata.queries().stats(repo(ctx)))));
        route(HandlerType.PUT, REPO + "/retention/<branch>", Action.ADMIN, Scope.REPO, ctx -> {
            JsonNode body = jsonBody(ctx, MAX_JSON_BYTES);
            JsonNode keep = body.get("keep_last");
            if (keep == null || !keep.canConvertToInt() || keep.asInt() < 1) {
                throw new InvalidInputException("keep_last must be a positive integer");
            }
            RepoRecord repo = repo(ctx);
            String branch = Names.ref(ctx.pathParam("branch"));
            strata.repos().catalog().setRetention(repo.id(), branch, keep.asInt());
            ctx.json(JsonViews.MAPPER.createObjectNode().put("branch", branch).put("keep_last", keep.asInt()));
        });
        route(HandlerType.DELETE, REPO + "/retention/<branch>", Action.ADMIN, Scope.REPO, ctx -> {
            strata.repos().catalog().setRetention(repo(ctx).id(), Names.ref(ctx.pathParam("branch")), null);
            ctx.status(204);
        });
        route(HandlerType.GET, REPO + "/retention", Action.READ, Scope.REPO, ctx -> {
            ObjectNode n = JsonViews.MAPPER.createObjectNode();
            strata.repos().catalog().retentionRules(repo(ctx).id()).forEach(n::put);
            ctx.json(n);
        });

        // ---- downloads
        route(HandlerType.GET, REPO + "/files/<path>", Action.READ, Scope.REPO, this::download);
        route(HandlerType.HEAD, REPO + "/files/<path>", Action.READ, Scope.REPO, this::download);
        route(HandlerType.GET, REPO + "/manifest/<path>", Action.READ, Scope.REPO, ctx -> {
            Located f = locate(ctx);
            ctx.header("X-Strata-Commit", f.commit.id()).header("X-Strata-Sha256", f.file.sha256().hex())
                    .contentType("application/octet-stream").result(f.manifest.encode());
        });
        route(HandlerType.GET, REPO + "/chunks/<path>", Action.READ, Scope.REPO, ctx -> {
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
                length += ChunkFrames.HEADER + info.encodedLength();
            }
            ctx.contentType("application/octet-stream").header("Content-Length", Long.toString(length));
            try (OutputStream out = new BufferedOutputStream(ctx.res().getOutputStream(), 1 << 20)) {
                for (int i = from; i < to; i++) {
                    ContentHash id = chunks.get(i).id();
                    ChunkFrames.write(out, id, strata.store().getEncoded(id));
                }
            }
        });

        // ---- uploads (the push protocol)
        route(HandlerType.POST, REPO + "/uploads", Action.WRITE, Scope.REPO, ctx -> {
            UploadSession s = strata.uploads().start(repo(ctx));
            ctx.status(201).json(JsonViews.MAPPER.createObjectNode().put("upload_id", s.id()));
        });
        route(HandlerType.DELETE, REPO + "/uploads/{upload}", Action.WRITE, Scope.REPO, ctx -> {
            strata.uploads().finish(session(ctx));
            ctx.status(204);
        });
        route(HandlerType.POST, REPO + "/uploads/{upload}/missing", Action.WRITE, Scope.REPO, ctx -> {
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
        route(HandlerType.POST, REPO + "/uploads/{upload}/chunks", Action.WRITE, Scope.REPO, ctx -> {
            UploadSession s = session(ctx);
            try (InputStream in = new java.io.BufferedInputStream(new LimitedInputStream(ctx.req().getInputStream(), MAX_CHUNK_BATCH_BYTES), 1 << 20)) {
                Uploads.BatchResult r = strata.uploads().receive(s, in);
                ctx.json(JsonViews.MAPPER.createObjectNode().put("received", r.received()).put("stored", r.stored())
                        .put("bytes", r.bytes()));
            }
        });
        route(HandlerType.POST, REPO + "/uploads/{upload}/manifests", Action.WRITE, Scope.REPO, ctx -> {
            UploadSession s = session(ctx);
            byte[] body = boundedBody(ctx, MAX_MANIFEST_BYTES);
            ContentHash id = strata.uploads().putManifest(s, body);
            ctx.status(201).json(JsonViews.MAPPER.createObjectNode().put("manifest_id", id.hex()));
        });
        route(HandlerType.POST, REPO + "/commits", Action.WRITE, Scope.REPO, ctx -> {
            RepoRecord repo = repo(ctx);
            CommitRequest req = CommitRequests.parse(jsonBody(ctx, MAX_COMMIT_JSON_BYTES), principal(ctx));
            CommitRecord c = strata.uploads().commit(repo, req);
            if (req.uploadId() != null) {
                strata.uploads().finish(strata.uploads().session(repo, req.uploadId()));
            }
            ctx.status(201).json(JsonViews.commit(c));
        });

        // ---- administration
        route(HandlerType.POST, PREFIX + "/admin/gc", Action.ADMIN, Scope.SERVER, ctx -> ctx.json(JsonViews.gc(
                "true".equals(ctx.queryParam("full")) ? strata.gc().run(1.0) : strata.gc().run())));
        route(HandlerType.POST, PREFIX + "/admin/compact", Action.ADMIN, Scope.SERVER, ctx -> {
            dev.strata.service.Compactor.Report r = strata.compactor().run(() -> true);
            ctx.json(JsonViews.MAPPER.createObjectNode().put("packs_rewritten", r.packsRewritten())
                    .put("chunks_compressed", r.chunksCompressed()).put("bytes_before", r.bytesBefore())
                    .put("bytes_after", r.bytesAfter()));
        });
        route(HandlerType.GET, PREFIX + "/admin/transfer-stats", Action.ADMIN, Scope.SERVER, ctx -> {
            Uploads.TransferStats t = strata.uploads().transferStats();
            ctx.json(JsonViews.MAPPER.createObjectNode().put("chunk_bytes_received", t.chunkBytesReceived())
                    .put("chunks_stored", t.chunksStored()).put("open_sessions", t.openSessions()));
        });
    }

    // ---- downloads with Range

    private record Located(RepoRecord repo, CommitRecord commit, FileEntry file, FileManifest manifest) {}

    private Located locate(Context ctx) {
        RepoRecord repo = repo(ctx);
        CommitRecord c = strata.repos().readable(repo, rev(ctx));
        FileEntry f = strata.repos().file(repo, c, ctx.pathParam("path"));
        return new Located(repo, c, f, strata.repos().manifest(f));
    }

    private void download(Context ctx) throws IOException {
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
        strata.reader().write(f.manifest, start, end, out);
        out.flush();
    }

    // ---- helpers

    private RepoRecord repo(Context ctx) {
        return strata.repos().get(repoName(ctx));
    }

    private UploadSession session(Context ctx) {
        return strata.uploads().session(repo(ctx), ctx.pathParam("upload"));
    }

    private static Principal principal(Context ctx) {
        return ctx.attribute("principal");
    }

    private static String rev(Context ctx) {
        String rev = ctx.queryParam("rev");
        return rev == null || rev.isEmpty() ? RepoRev.DEFAULT_BRANCH : rev;
    }

    private static String required(Context ctx, String name) {
        String v = ctx.queryParam(name);
        if (v == null || v.isEmpty()) {
            throw new InvalidInputException("query parameter '" + name + "' is required");
        }
        return v;
    }

    private static int intParam(Context ctx, String name, int dflt, int min, int max) {
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

    private static long parseLong(String v, String name) {
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
