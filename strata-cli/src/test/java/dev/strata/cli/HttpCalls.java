package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;

/** Raw HTTP against a test server, as one token (null: anonymous). For status-code level assertions. */
final class HttpCalls {
    private static final HttpClient HTTP = HttpClient.newHttpClient();
    private final String url;
    private final String token;

    HttpCalls(String url, String token) {
        this.url = url;
        this.token = token;
    }

    String token() {
        return token;
    }

    record Response(int status, byte[] body) {
        String text() {
            return new String(body, java.nio.charset.StandardCharsets.UTF_8);
        }

        JsonNode json() throws IOException {
            return StrataClient.JSON.readTree(body);
        }
    }

    Response call(String method, String path, String json) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path));
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        HttpRequest.BodyPublisher body = json == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(json);
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body);
        HttpResponse<byte[]> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Response(r.statusCode(), r.body());
    }

    Response get(String path) throws IOException, InterruptedException {
        return call("GET", path, null);
    }

    /** A GET with these extra headers (name, value, name, value...). */
    Response get(String path, String... headers) throws IOException, InterruptedException {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url + path)).GET();
        if (token != null) {
            b.header("Authorization", "Bearer " + token);
        }
        for (int i = 0; i + 1 < headers.length; i += 2) {
            b.header(headers[i], headers[i + 1]);
        }
        HttpResponse<byte[]> r = HTTP.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
        return new Response(r.statusCode(), r.body());
    }

    /** The response of a call that must succeed with {@code status}. */
    JsonNode ok(int status, String method, String path, String json) throws IOException, InterruptedException {
        Response r = call(method, path, json);
        if (r.status() != status) {
            throw new AssertionError(method + " " + path + " -> " + r.status() + " (expected " + status + "): " + r.text());
        }
        return r.body().length == 0 ? null : r.json();
    }
}
