package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.function.Supplier;

/**
 * A thin client for Strata's REST API (docs/api.md). Errors come back as {@link ApiException}
 * carrying the HTTP status and the server's message; an unreachable server is said plainly.
 */
public final class StrataClient implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    private final URI base;
    private final HttpClient http;
    private final String token;

    public StrataClient(String baseUrl, String token) {
        String b = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.base = URI.create(b);
        this.token = token;
        HttpClient.Builder hb = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).version(HttpClient.Version.HTTP_1_1);
        if ("http".equals(base.getScheme())) {
            hb.sslContext(plainHttpOnly());
        }
        this.http = hb.build();
    }

    /**
     * The JDK client builds the default TLS context (parsing the CA store: ~0.2 s) even for plain
     * HTTP. A context with no trust material is enough when TLS is never used, and it refuses
     * every certificate if it ever were.
     */
    private static javax.net.ssl.SSLContext plainHttpOnly() {
        try {
            javax.net.ssl.SSLContext ctx = javax.net.ssl.SSLContext.getInstance("TLS");
            ctx.init(new javax.net.ssl.KeyManager[0], new javax.net.ssl.TrustManager[0], null);
            return ctx;
        } catch (java.security.GeneralSecurityException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Stops the client's selector thread. The JVM's exit waits up to ~300 ms for a thread blocked
     * in native code (epoll), so every CLI command closes its client before exiting.
     */
    @Override
    public void close() {
        http.shutdownNow();
        try {
            http.awaitTermination(Duration.ofSeconds(1));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    public String baseUrl() {
        return base.toString();
    }

    /** A failed API call: status, machine-readable code and the server's message. */
    public static final class ApiException extends RuntimeException {
        private final int status;
        private final String code;

        ApiException(int status, String code, String message) {
            super(message);
            this.status = status;
            this.code = code;
        }

        public int status() {
            return status;
        }

        public String code() {
            return code;
        }
    }

    /** Percent-encodes a path keeping '/' separators (for file paths). */
    static String encodePath(String path) {
        StringBuilder b = new StringBuilder();
        for (String seg : path.split("/", -1)) {
            if (!b.isEmpty()) {
                b.append('/');
            }
            b.append(URLEncoder.encode(seg, StandardCharsets.UTF_8).replace("+", "%20"));
        }
        return b.toString();
    }

    static String q(String v) {
        return URLEncoder.encode(v, StandardCharsets.UTF_8);
    }

    static String repoPath(String repo) {
        int slash = repo.indexOf('/');
        return "/api/v1/repos/" + q(repo.substring(0, slash)) + "/" + q(repo.substring(slash + 1));
    }

    HttpRequest.Builder request(String path) {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofMinutes(30));
        if (token != null && !token.isEmpty()) {
            b.header("Authorization", "Bearer " + token);
        }
        return b;
    }

    public JsonNode get(String path) {
        return json(request(path).GET().build());
    }

    public JsonNode post(String path, JsonNode body) {
        return json(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString())).build());
    }

    public JsonNode put(String path, JsonNode body) {
        return json(request(path).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body.toString())).build());
    }

    public JsonNode postBytes(String path, byte[] body) {
        return json(request(path).header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build());
    }

    public JsonNode postStream(String path, Supplier<InputStream> body) {
        return json(request(path).header("Content-Type", "application/octet-stream")
                .POST(HttpRequest.BodyPublishers.ofInputStream(body)).build());
    }

    public void delete(String path) {
        json(request(path).DELETE().build());
    }

    /** Opens a streamed GET; the caller closes the body. Non-2xx statuses raise ApiException. */
    public HttpResponse<InputStream> stream(String path, String range) {
        HttpRequest.Builder b = request(path).GET();
        if (range != null) {
            b.header("Range", range);
        }
        HttpResponse<InputStream> r = send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
        if (r.statusCode() >= 300) {
            try (InputStream in = r.body()) {
                throw error(r.statusCode(), in.readNBytes(1 << 16));
            } catch (IOException e) {
                throw new ApiException(r.statusCode(), "http", "HTTP " + r.statusCode());
            }
        }
        return r;
    }

    public byte[] getBytes(String path) {
        HttpResponse<byte[]> r = send(request(path).GET().build(), HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() >= 300) {
            throw error(r.statusCode(), r.body());
        }
        return r.body();
    }

    private JsonNode json(HttpRequest req) {
        HttpResponse<byte[]> r = send(req, HttpResponse.BodyHandlers.ofByteArray());
        if (r.statusCode() >= 300) {
            throw error(r.statusCode(), r.body());
        }
        if (r.body().length == 0) {
            return JSON.nullNode();
        }
        try {
            return JSON.readTree(r.body());
        } catch (IOException e) {
            throw new ApiException(r.statusCode(), "bad_response", "server sent invalid JSON");
        }
    }

    private <T> HttpResponse<T> send(HttpRequest req, HttpResponse.BodyHandler<T> handler) {
        try {
            return http.send(req, handler);
        } catch (ConnectException e) {
            throw new ApiException(0, "unreachable", "cannot reach the Strata server at " + base
                    + " (is `strata serve` running? set STRATA_URL or --url)");
        } catch (IOException e) {
            throw new ApiException(0, "io", "connection to " + base + " failed: " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ApiException(0, "interrupted", "interrupted");
        }
    }

    private static ApiException error(int status, byte[] body) {
        try {
            JsonNode n = JSON.readTree(body);
            JsonNode e = n.get("error");
            if (e != null) {
                return new ApiException(status, e.path("code").asText(), e.path("message").asText());
            }
        } catch (IOException | RuntimeException ignored) {
            // not our JSON error shape; fall through
        }
        return new ApiException(status, "http", "HTTP " + status);
    }
}
