package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The usual attacks against a real server process: forged, expired and revoked tokens, a token
 * used outside its repositories, path tricks in names, oversized headers and bodies, and
 * guessing chunk ids. Each gets a clean 4xx, writes nothing, and (for credentials) lands in the
 * audit trail without the secret.
 */
class AttackTest {
    @TempDir static Path tmp;
    static ServerProcess server;
    static HttpCalls root;
    static String carolToken;

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start(tmp.resolve("data"), "256m", "--auth-failure-limit", "1000");
        root = new HttpCalls(server.url(), server.adminToken());
        for (String u : List.of("carol", "frank")) {
            root.ok(201, "POST", "/api/v1/users", "{\"name\":\"" + u + "\"}");
        }
        root.ok(201, "POST", "/api/v1/repos", "{\"name\":\"lab/a\"}");
        root.ok(201, "POST", "/api/v1/repos", "{\"name\":\"lab/b\"}");
        root.ok(200, "PUT", "/api/v1/repos/lab/a/members/user/carol", "{\"role\":\"writer\"}");
        root.ok(200, "PUT", "/api/v1/repos/lab/b/members/user/carol", "{\"role\":\"writer\"}");
        carolToken = token("carol", "write", "[\"lab/a\"]", null);
        Path secret = tmp.resolve("secret");
        Files.createDirectories(secret);
        Files.write(secret.resolve("weights.bin"), TestData.bf16(9, 2 << 20));
        server.cli().ok("push", secret.toString(), "lab/b@main", "-m", "secret weights");
    }

    static String token(String user, String scope, String repos, String expiresAt) throws Exception {
        String body = "{\"user\":\"" + user + "\",\"scope\":\"" + scope + "\"" + (repos == null ? "" : ",\"repos\":" + repos)
                + (expiresAt == null ? "" : ",\"expires_at\":\"" + expiresAt + "\"") + "}";
        return root.ok(201, "POST", "/api/v1/tokens", body).path("token").asText();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    static List<String> repoNames() throws Exception {
        List<String> names = new ArrayList<>();
        root.ok(200, "GET", "/api/v1/repos", null).forEach(r -> names.add(r.path("name").asText()));
        return names;
    }

    @Test
    void forgedMalformedExpiredAndRevokedTokensGet401AndWriteNothing() throws Exception {
        List<String> before = repoNames();
        byte[] secret = new byte[32];
        new SplittableRandom(5).nextBytes(secret);
        String forged = "strata_0123456789abcdef_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        String real = token("frank", "write", null, null);
        String wrongSecret = real.substring(0, real.length() - 4) + (real.endsWith("AAAA") ? "BBBB" : "AAAA");
        String expiring = token("frank", "write", null, java.time.Instant.now().plusSeconds(2).toString());
        String revoked = token("frank", "write", null, null);
        String revokedId = revoked.split("_")[1];
        root.ok(204, "DELETE", "/api/v1/tokens/" + revokedId, null);
        Thread.sleep(2100);
        for (String bad : List.of(forged, wrongSecret, expiring, revoked, "not-a-token", "strata_zz")) {
            HttpCalls.Response r = new HttpCalls(server.url(), bad).call("POST", "/api/v1/repos", "{\"name\":\"frank/x\"}");
            assertEquals(401, r.status(), bad + ": " + r.text());
            assertTrue(r.text().contains("invalid, expired or revoked"), "one message for every bad token: " + r.text());
            assertFalse(r.text().contains(bad), "the token is not echoed");
        }
        assertEquals(200, new HttpCalls(server.url(), real).call("GET", "/api/v1/auth/whoami", null).status());
        assertEquals(before, repoNames(), "no repository was created");

        // Every failure is audited with the token id (not the secret); no secret appears anywhere.
        JsonNode fails = root.ok(200, "GET", "/api/v1/audit?action=auth.fail", null);
        assertTrue(fails.size() >= 6, "auth failures audited: " + fails.size());
        String export = root.call("GET", "/api/v1/audit?format=jsonl", null).text();
        for (String s : List.of(forged, wrongSecret, expiring, revoked, real)) {
            assertFalse(export.contains(s.substring(24)), "a secret reached the audit trail");
            assertFalse(server.log().contains(s.substring(24)), "a secret reached the server log");
        }
        assertTrue(export.contains("\"token_id\":\"" + revokedId + "\""), "the revoked token's id is recorded");
    }

    @Test
    void aRevokedTokenStopsAnUploadInProgress() throws Exception {
        String t = token("carol", "write", null, null);
        HttpCalls carol = new HttpCalls(server.url(), t);
        String upload = carol.ok(201, "POST", "/api/v1/repos/lab/a/uploads", "{}").path("upload_id").asText();
        assertEquals(200, carol.call("POST", "/api/v1/repos/lab/a/uploads/" + upload + "/missing", "{\"ids\":[]}").status());
        root.ok(204, "DELETE", "/api/v1/tokens/" + t.split("_")[1], null);
        assertEquals(401, carol.call("POST", "/api/v1/repos/lab/a/uploads/" + upload + "/missing", "{\"ids\":[]}").status());
        assertEquals(401, carol.call("POST", "/api/v1/repos/lab/a/commits",
                "{\"upload_id\":\"" + upload + "\",\"branch\":\"main\",\"parent\":null,\"message\":\"m\",\"files\":[],\"deletes\":[]}").status());
        assertEquals(404, root.call("GET", "/api/v1/repos/lab/a/commit?rev=main", null).status(), "nothing was committed");
    }

    @Test
    void aTokenForRepositoryAIsUselessOnRepositoryB() throws Exception {
        HttpCalls carol = new HttpCalls(server.url(), carolToken);
        assertEquals(200, carol.call("GET", "/api/v1/repos/lab/a", null).status());
        assertEquals(404, carol.call("GET", "/api/v1/repos/lab/b", null).status(), "carol is a writer of lab/b, but not with this token");
        assertEquals(404, carol.call("GET", "/api/v1/repos/lab/b/files/weights.bin?rev=main", null).status());
        assertEquals(404, carol.call("POST", "/api/v1/repos/lab/b/uploads", "{}").status());
        assertEquals(403, carol.call("POST", "/api/v1/repos", "{\"name\":\"carol/new\"}").status());
        assertEquals(403, carol.call("POST", "/api/v1/tokens", "{\"scope\":\"write\"}").status(), "no unlimited token from a limited one");
        assertEquals(403, carol.call("POST", "/api/v1/tokens", "{\"scope\":\"admin\",\"repos\":[\"lab/a\"]}").status(), "no wider scope");
    }

    @Test
    void pathTricksInNamesAreRefused() throws Exception {
        List<String> before = repoNames();
        String longName = "x".repeat(300);
        List<String> paths = List.of(
                "/api/v1/repos/lab/b/files/..%2F..%2Fetc%2Fpasswd?rev=main",
                "/api/v1/repos/lab/b/files/%2e%2e/weights.bin?rev=main",
                "/api/v1/repos/lab/b/files/a%5C..%5Cweights.bin?rev=main",
                "/api/v1/repos/lab/b/files/weights.bin%00.txt?rev=main",
                "/api/v1/repos/%2e%2e/b",
                "/api/v1/repos/lab/..",
                "/api/v1/repos/lab/b%5Cc",
                "/api/v1/repos/lab/" + longName,
                "/api/v1/repos/lab/b/tree?rev=..%2Fmain",
                "/api/v1/repos/lab/b/tree?rev=" + longName);
        for (String p : paths) {
            int status = root.call("GET", p, null).status();
            assertTrue(status == 400 || status == 404, p + " -> " + status);
        }
        for (String name : List.of("lab/..", "lab/%2e%2e", "lab\\\\b", "lab/a\\u0000b", "../lab", "lab/" + longName, "lab/b/c")) {
            HttpCalls.Response r = root.call("POST", "/api/v1/repos", "{\"name\":\"" + name + "\"}");
            assertEquals(400, r.status(), name + ": " + r.text());
        }
        for (String ref : List.of("../main", "a//b", "main\\\\x", "a\\u0000b", longName)) {
            HttpCalls.Response r = root.call("POST", "/api/v1/repos/lab/b/refs", "{\"kind\":\"branch\",\"name\":\"" + ref + "\",\"from\":\"main\"}");
            assertEquals(400, r.status(), ref + ": " + r.text());
        }
        for (String path : List.of("../x", "a/../../x", "a\\\\b", "a\\u0000b", "/abs")) {
            HttpCalls.Response r = root.call("POST", "/api/v1/repos/lab/b/commits", "{\"branch\":\"main\",\"parent\":\"" + head("lab/b")
                    + "\",\"message\":\"m\",\"files\":[],\"deletes\":[\"" + path + "\"]}");
            assertEquals(400, r.status(), path + ": " + r.text());
        }
        assertEquals(before, repoNames());
    }

    static String head(String repo) throws Exception {
        return root.ok(200, "GET", "/api/v1/repos/" + repo + "/commit?rev=main", null).path("id").asText();
    }

    @Test
    void oversizedHeadersAndBodiesAreRefused() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        HttpResponse<String> big = http.send(HttpRequest.newBuilder(URI.create(server.url() + "/api/v1/repos"))
                .header("Authorization", "Bearer " + server.adminToken()).header("X-Junk", "j".repeat(64 * 1024)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(431, big.statusCode());
        List<String> before = repoNames();
        String body = "{\"name\":\"lab/huge\",\"description\":\"" + "d".repeat(2 << 20) + "\"}";
        assertEquals(413, root.call("POST", "/api/v1/repos", body).status());
        assertEquals(before, repoNames());
    }

    @Test
    void knowingChunkIdsOfAnotherRepositoryYieldsNothing() throws Exception {
        // frank learns (somehow) the chunk ids and manifest of lab/b's weights, and owns frank/x.
        HttpCalls frank = new HttpCalls(server.url(), token("frank", "write", null, null));
        frank.ok(201, "POST", "/api/v1/repos", "{\"name\":\"frank/x\"}");
        HttpResponse<byte[]> m = HttpClient.newHttpClient().send(HttpRequest.newBuilder(
                URI.create(server.url() + "/api/v1/repos/lab/b/manifest/weights.bin?rev=main"))
                .header("Authorization", "Bearer " + server.adminToken()).build(), HttpResponse.BodyHandlers.ofByteArray());
        byte[] manifest = m.body();
        dev.strata.core.FileManifest fm = dev.strata.core.FileManifest.decode(manifest);
        StringBuilder ids = new StringBuilder();
        fm.chunks().forEach(c -> ids.append(ids.isEmpty() ? "" : ",").append('"').append(c.id().hex()).append('"'));

        String upload = frank.ok(201, "POST", "/api/v1/repos/frank/x/uploads", "{}").path("upload_id").asText();
        String base = "/api/v1/repos/frank/x/uploads/" + upload;
        JsonNode missing = frank.ok(200, "POST", base + "/missing", "{\"ids\":[" + ids + "]}").path("missing");
        assertEquals(fm.chunks().size(), missing.size(), "every chunk of another repository is reported missing: nothing leaks");

        HttpResponse<String> put = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(server.url() + base + "/manifests"))
                .header("Authorization", "Bearer " + frank.token()).POST(HttpRequest.BodyPublishers.ofByteArray(manifest)).build(),
                HttpResponse.BodyHandlers.ofString());
        assertEquals(400, put.statusCode(), "a manifest naming chunks this push did not upload: " + put.body());

        String manifestId = dev.strata.core.ContentHash.of(manifest).hex();
        HttpCalls.Response commit = frank.call("POST", "/api/v1/repos/frank/x/commits", "{\"upload_id\":\"" + upload
                + "\",\"branch\":\"main\",\"parent\":null,\"message\":\"steal\",\"files\":[{\"path\":\"w.bin\",\"size\":" + fm.size()
                + ",\"sha256\":\"" + "00".repeat(32) + "\",\"manifest_id\":\"" + manifestId + "\"}],\"deletes\":[]}");
        assertEquals(400, commit.status(), "a commit naming another repository's manifest: " + commit.text());
        assertEquals(404, frank.call("GET", "/api/v1/repos/frank/x/commit?rev=main", null).status(), "nothing committed");
        assertEquals(404, frank.call("GET", "/api/v1/chunks/" + fm.chunks().get(0).id().hex(), null).status(), "no endpoint serves bytes by hash");
    }

    @Test
    void repeatedFailuresFromOneAddressAreRateLimited() throws Exception {
        try (ServerProcess limited = ServerProcess.start(tmp.resolve("limited"), "128m", "--auth-failure-limit", "5")) {
            HttpCalls forger = new HttpCalls(limited.url(), "strata_0123456789abcdef_" + "A".repeat(43));
            for (int i = 0; i < 5; i++) {
                assertEquals(401, forger.get("/api/v1/repos").status());
            }
            HttpCalls.Response locked = forger.get("/api/v1/repos");
            assertEquals(429, locked.status(), locked.text());
            assertEquals(429, new HttpCalls(limited.url(), limited.adminToken()).get("/api/v1/repos").status(),
                    "while locked out, no credential is even checked from that address");
            assertEquals(200, new HttpCalls(limited.url(), null).get("/api/v1/health").status());
        }
    }
}
