package dev.strata.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.strata.core.InvalidInputException;
import dev.strata.core.StrataException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.HttpURLConnection;
import java.net.URI;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.function.Supplier;

/**
 * The primary's HTTP client for its replica's REST API, as a server administrator. Fixed-length
 * bodies over {@link HttpURLConnection} (as the CLI's client: chunk batches go straight to the
 * socket). The token is sent in the Authorization header only and never appears in a message.
 */
final class ReplicaClient {
    static final ObjectMapper JSON = new ObjectMapper();
    private final String base;
    private final Supplier<String> token;

    ReplicaClient(String baseUrl, Supplier<String> token) {
        String b = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        URI u = URI.create(b);
        if (!"http".equals(u.getScheme()) && !"https".equals(u.getScheme())) {
            throw new InvalidInputException("replica URL must be http:// or https://, got " + baseUrl);
        }
        this.base = b;
        this.token = token;
    }

    String baseUrl() {
        return base;
    }

    /** A failed call: HTTP status (0: no answer), the error code the replica sent, and its whole JSON body if any. */
    static final class ReplicaException extends StrataException {
        private final int status;
        private final String code;
        private final transient JsonNode body;

        ReplicaException(int status, String code, String message, JsonNode body) {
            super(message);
            this.status = status;
            this.code = code;
            this.body = body;
        }

        int status() {
            return status;
        }

        String code() {
            return code;
        }

        JsonNode body() {
            return body;
        }
    }

    static String repoPath(String repo) {
        int slash = repo.indexOf('/');
        return "/api/v1/repos/" + q(repo.substring(0, slash)) + "/" + q(repo.substring(slash + 1));
    }

    /** Percent-encodes each segment of a ref name or path, keeping the '/' separators. */
    static String encodePath(String path) {
        StringBuilder b = new StringBuilder();
        for (String seg : path.split("/", -1)) {
            if (!b.isEmpty()) {
                b.append('/');
            }
            b.append(q(seg));
        }
        return b.toString();
    }

    private static String q(String v) {
        return URLEncoder.encode(v, StandardCharsets.UTF_8).replace("+", "%20");
    }

    JsonNode get(String path) {
        return call("GET", path, null, null, 0);
    }

    JsonNode post(String path, JsonNode body) {
        byte[] b = body.toString().getBytes(StandardCharsets.UTF_8);
        return call("POST", path, "application/json", b, b.length);
    }

    JsonNode put(String path, JsonNode body) {
        byte[] b = body.toString().getBytes(StandardCharsets.UTF_8);
        return call("PUT", path, "application/json", b, b.length);
    }

    JsonNode postBytes(String path, byte[] body, int length) {
        return call("POST", path, "application/octet-stream", body, length);
    }

    void delete(String path) {
        call("DELETE", path, null, null, 0);
    }

    private JsonNode call(String method, String path, String contentType, byte[] body, int length) {
        HttpURLConnection c;
        try {
            c = (HttpURLConnection) URI.create(base + path).toURL().openConnection();
            c.setRequestMethod(method);
            c.setConnectTimeout(10_000);
            c.setReadTimeout(10 * 60_000);
            c.setUseCaches(false);
            c.setRequestProperty("Authorization", "Bearer " + token.get());
            if (body != null) {
                c.setDoOutput(true);
                c.setFixedLengthStreamingMode(length);
                c.setRequestProperty("Content-Type", contentType);
                try (OutputStream out = c.getOutputStream()) {
                    out.write(body, 0, length);
                }
            }
            int status = c.getResponseCode();
            if (status >= 300) {
                throw error(method, path, status, read(c.getErrorStream()));
            }
            byte[] bytes = read(c.getInputStream());
            return bytes.length == 0 ? JSON.nullNode() : JSON.readTree(bytes);
        } catch (IOException e) {
            throw new ReplicaException(0, "unreachable", method + " " + base + path + " failed: " + e, null);
        }
    }

    private static byte[] read(InputStream in) throws IOException {
        if (in == null) {
            return new byte[0];
        }
        try (in) {
            return in.readNBytes(64 << 20);
        }
    }

    private ReplicaException error(String method, String path, int status, byte[] body) {
        JsonNode n = null;
        String code = "http";
        String message = "HTTP " + status;
        try {
            n = JSON.readTree(body);
            JsonNode e = n == null ? null : n.get("error");
            if (e != null) {
                code = e.path("code").asText();
                message = e.path("message").asText();
            }
        } catch (IOException | RuntimeException ignored) {
            // not the error shape; keep the status
        }
        return new ReplicaException(status, code, method + " " + base + path + " -> " + status + " " + code + ": " + message, n);
    }
}
