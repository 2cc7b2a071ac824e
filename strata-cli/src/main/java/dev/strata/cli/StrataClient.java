package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.core.codec.Codecs;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.channels.Channels;
import java.nio.channels.ReadableByteChannel;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A thin client for Strata's REST API (docs/api.md). Errors come back as {@link ApiException}
 * carrying the HTTP status and the server's message; an unreachable server is said plainly.
 */
public final class StrataClient implements AutoCloseable {
    static final ObjectMapper JSON = new ObjectMapper();
    /** Largest JSON answer read from a {@link DirectHttp} exchange. */
    static final int MAX_JSON = 16 << 20;
    private final URI base;
    private final String token;

    public StrataClient(String baseUrl, String token) {
        String b = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.base = URI.create(b);
        if (!"http".equals(base.getScheme()) && !"https".equals(base.getScheme())) {
            throw new dev.strata.core.InvalidInputException("server URL must be http:// or https://, got " + baseUrl);
        }
        this.token = token;
    }

    /** Nothing to release: idle keep-alive connections are closed by the JDK's cache. */
    @Override
    public void close() {}

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

    /**
     * Opens a connection. {@link HttpURLConnection} writes fixed-length bodies straight to the
     * socket and keeps connections alive between calls; measured here it sends chunk batches with
     * a tenth of the CPU of {@code java.net.http.HttpClient}, which copies bodies through its
     * reactive pipeline.
     */
    private HttpURLConnection open(String method, String path) {
        try {
            HttpURLConnection c = (HttpURLConnection) URI.create(base + path).toURL().openConnection();
            c.setRequestMethod(method);
            c.setConnectTimeout(10_000);
            c.setReadTimeout(30 * 60_000);
            c.setUseCaches(false);
            if (token != null && !token.isEmpty()) {
                c.setRequestProperty("Authorization", "Bearer " + token);
            }
            return c;
        } catch (IOException e) {
            throw new ApiException(0, "io", "cannot open " + base + path + ": " + e.getMessage());
        }
    }

    public JsonNode get(String path) {
        return json(open("GET", path), null, null);
    }

    public JsonNode post(String path, JsonNode body) {
        return json(open("POST", path), "application/json", body.toString().getBytes(StandardCharsets.UTF_8));
    }

    public JsonNode put(String path, JsonNode body) {
        return json(open("PUT", path), "application/json", body.toString().getBytes(StandardCharsets.UTF_8));
    }

    public JsonNode postBytes(String path, byte[] body) {
        return postBytes(path, body, body.length);
    }

    /** Posts the first {@code length} bytes of {@code body} (so callers can reuse large buffers). */
    public JsonNode postBytes(String path, byte[] body, int length) {
        return json(open("POST", path), "application/octet-stream", body, length);
    }

    /**
     * Posts a body its owner writes to the connection (chunk frames from files) and reads the JSON
     * answer. Over plain http the body goes straight to the socket ({@link DirectHttp}).
     */
    public JsonNode post(String path, String contentType, DirectHttp.Body body) {
        if (!DirectHttp.supports(base)) {
            HttpURLConnection c = open("POST", path);
            return json(c, connect(c, contentType, body));
        }
        Map<String, String> headers = headers();
        headers.put("Content-Type", contentType);
        try (DirectHttp r = direct("POST", path, headers, body)) {
            byte[] answer = r.readAll(MAX_JSON);
            if (r.status() >= 300) {
                throw error(r.status(), answer);
            }
            return parse(r.status(), answer);
        } catch (IOException e) {
            throw ioError(e);
        }
    }

    /**
     * {@link #stream(String, String, boolean)} as a channel: over plain http a {@link DirectHttp}
     * exchange, so the caller can read chunk frames into direct buffers and its bytes never pass
     * through the heap. The caller closes it.
     */
    public ReadableByteChannel channel(String path, boolean verifiesIds) {
        if (!DirectHttp.supports(base)) {
            return Channels.newChannel(stream(path, null, verifiesIds).body());
        }
        Map<String, String> headers = headers();
        readHeaders(headers, verifiesIds);
        DirectHttp r = null;
        try {
            r = direct("GET", path, headers, null);
            if (r.status() >= 300) {
                byte[] answer = r.readAll(1 << 16);
                throw error(r.status(), answer);
            }
            return r;
        } catch (IOException e) {
            throw ioError(e);
        } finally {
            if (r != null && r.status() >= 300) {
                try {
                    r.close();
                } catch (IOException ignored) {
                    // the error above says what went wrong
                }
            }
        }
    }

    private DirectHttp direct(String method, String path, Map<String, String> headers, DirectHttp.Body body) throws IOException {
        try {
            return DirectHttp.exchange(URI.create(base + path), method, headers, body);
        } catch (ConnectException e) {
            throw unreachable();
        }
    }

    /** The headers every request carries: the token, if any. */
    private Map<String, String> headers() {
        Map<String, String> h = new LinkedHashMap<>();
        if (token != null && !token.isEmpty()) {
            h.put("Authorization", "Bearer " + token);
        }
        return h;
    }

    /** The headers of a chunk read; {@code verifiesIds}: see {@link #stream(String, String, boolean)}. */
    private static void readHeaders(Map<String, String> h, boolean verifiesIds) {
        if (verifiesIds) {
            h.put("X-Strata-Verify", "client");
        }
        // Chunk frames may then carry FLOAT chunks as stored: this build decodes every version.
        h.put("X-Strata-Float", Integer.toString(Codecs.FLOAT_VERSION));
    }

    public void delete(String path) {
        json(open("DELETE", path), null, null);
    }

    /** A streamed response: the caller reads and closes {@link #body()}. */
    public record Streamed(int status, InputStream body) {}

    /** Opens a streamed GET; the caller closes the body. Non-2xx statuses raise ApiException. */
    public Streamed stream(String path, String range) {
        return stream(path, range, false);
    }

    /**
     * {@link #stream(String, String)}; {@code verifiesIds} promises that the caller hashes every
     * chunk it receives against its id, so the server checks only its stored checksums
     * ({@code X-Strata-Verify: client}, docs/api.md "Reading").
     */
    public Streamed stream(String path, String range, boolean verifiesIds) {
        HttpURLConnection c = open("GET", path);
        if (range != null) {
            c.setRequestProperty("Range", range);
        }
        Map<String, String> h = new LinkedHashMap<>();
        readHeaders(h, verifiesIds);
        h.forEach(c::setRequestProperty);
        int status = connect(c, null, null, 0);
        if (status >= 300) {
            throw error(status, errorBody(c));
        }
        try {
            return new Streamed(status, c.getInputStream());
        } catch (IOException e) {
            throw ioError(e);
        }
    }

    public byte[] getBytes(String path) {
        HttpURLConnection c = open("GET", path);
        int status = connect(c, null, null, 0);
        if (status >= 300) {
            throw error(status, errorBody(c));
        }
        try (InputStream in = c.getInputStream()) {
            return in.readAllBytes();
        } catch (IOException e) {
            throw ioError(e);
        }
    }

    private JsonNode json(HttpURLConnection c, String contentType, byte[] body) {
        return json(c, contentType, body, body == null ? 0 : body.length);
    }

    private JsonNode json(HttpURLConnection c, String contentType, byte[] body, int length) {
        return json(c, connect(c, contentType, body, length));
    }

    private JsonNode json(HttpURLConnection c, int status) {
        if (status >= 300) {
            throw error(status, errorBody(c));
        }
        byte[] bytes;
        try (InputStream in = c.getInputStream()) {
            bytes = in.readAllBytes();
        } catch (IOException e) {
            throw ioError(e);
        }
        return parse(status, bytes);
    }

    private static JsonNode parse(int status, byte[] bytes) {
        if (bytes.length == 0) {
            return JSON.nullNode();
        }
        try {
            return JSON.readTree(bytes);
        } catch (IOException e) {
            throw new ApiException(status, "bad_response", "server sent invalid JSON");
        }
    }

    /** Sends the request (and body) and returns the status; connection failures become ApiException. */
    private int connect(HttpURLConnection c, String contentType, byte[] body, int length) {
        return connect(c, contentType, body == null ? null : DirectHttp.Body.of(body, length));
    }

    private int connect(HttpURLConnection c, String contentType, DirectHttp.Body body) {
        try {
            if (body != null) {
                c.setDoOutput(true);
                c.setFixedLengthStreamingMode(body.length());
                c.setRequestProperty("Content-Type", contentType);
                try (OutputStream out = c.getOutputStream()) {
                    body.writeTo(Channels.newChannel(out));
                }
            }
            return c.getResponseCode();
        } catch (ConnectException e) {
            throw unreachable();
        } catch (IOException e) {
            throw ioError(e);
        }
    }

    private ApiException unreachable() {
        return new ApiException(0, "unreachable", "cannot reach the Strata server at " + base
                + " (is `strata serve` running? set STRATA_URL or --url)");
    }

    private ApiException ioError(IOException e) {
        return new ApiException(0, "io", "connection to " + base + " failed: " + e.getMessage());
    }

    private static byte[] errorBody(HttpURLConnection c) {
        try (InputStream in = c.getErrorStream()) {
            return in == null ? new byte[0] : in.readNBytes(1 << 16);
        } catch (IOException e) {
            return new byte[0];
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
