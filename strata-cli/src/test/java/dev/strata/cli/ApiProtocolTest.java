package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.wire.ChunkFrames;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The HTTP API against hostile and unusual input: ranges, limits, bad chunks, stale heads, resumed uploads. */
class ApiProtocolTest {
    @TempDir static Path tmp;
    static ServerProcess server;
    static CliRunner cli;
    static HttpClient http = HttpClient.newHttpClient();
    static byte[] content;

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start(tmp.resolve("data"), "256m");
        cli = server.cli();
        cli.ok("repo", "create", "lab/api");
        content = TestData.bf16(7, 3 << 20);
        Path f = tmp.resolve("weights.bin");
        Files.write(f, content);
        cli.ok("push", f.toString(), "lab/api@main", "-m", "weights");
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    static HttpResponse<byte[]> send(HttpRequest.Builder b) throws Exception {
        return http.send(b.build(), HttpResponse.BodyHandlers.ofByteArray());
    }

    /** A request signed in as the administrator. */
    static HttpRequest.Builder req(String path) throws java.io.IOException {
        return HttpRequest.newBuilder(URI.create(server.url() + path)).header("Authorization", "Bearer " + server.adminToken());
    }

    @Test
    void healthAndSecurityHeaders() throws Exception {
        HttpResponse<byte[]> r = send(req("/api/v1/health"));
        assertEquals(200, r.statusCode());
        assertSecurityHeaders(r);
        HttpResponse<byte[]> file = send(req("/api/v1/repos/lab/api/files/weights.bin?rev=main"));
        assertEquals(200, file.statusCode());
        assertSecurityHeaders(file);
        HttpResponse<byte[]> missing = send(req("/api/v1/no/such/route"));
        assertEquals(404, missing.statusCode());
        assertSecurityHeaders(missing);
        HttpResponse<byte[]> anonymous = send(HttpRequest.newBuilder(URI.create(server.url() + "/api/v1/repos/lab/api/refs")));
        assertEquals(401, anonymous.statusCode());
        assertSecurityHeaders(anonymous);
    }

    private static void assertSecurityHeaders(HttpResponse<byte[]> r) {
        assertEquals(List.of("nosniff"), r.headers().allValues("X-Content-Type-Options"), r.uri().toString());
        assertEquals(List.of("no-store"), r.headers().allValues("Cache-Control"), r.uri().toString());
        assertEquals(List.of("DENY"), r.headers().allValues("X-Frame-Options"), r.uri().toString());
        assertEquals(List.of("default-src 'none'; frame-ancestors 'none'"), r.headers().allValues("Content-Security-Policy"));
        assertEquals(List.of("no-referrer"), r.headers().allValues("Referrer-Policy"));
    }

    @Test
    void rangeRequestsServeExactBytes() throws Exception {
        String path = "/api/v1/repos/lab/api/files/weights.bin?rev=main";
        HttpResponse<byte[]> r = send(req(path).header("Range", "bytes=1000000-1065535"));
        assertEquals(206, r.statusCode());
        assertEquals("bytes 1000000-1065535/" + content.length, r.headers().firstValue("Content-Range").orElseThrow());
        assertArrayEquals(Arrays.copyOfRange(content, 1000000, 1065536), r.body());
        HttpResponse<byte[]> tail = send(req(path).header("Range", "bytes=-10"));
        assertArrayEquals(Arrays.copyOfRange(content, content.length - 10, content.length), tail.body());
        assertEquals(416, send(req(path).header("Range", "bytes=" + content.length + "-")).statusCode());
        HttpResponse<byte[]> whole = send(req(path));
        assertEquals(200, whole.statusCode());
        assertArrayEquals(content, whole.body());
        assertEquals(ContentHash.sha256Of(content).hex(), whole.headers().firstValue("X-Strata-Sha256").orElseThrow());
    }

    /** A client that checks chunk ids itself may say so; the bytes are the same, and a bad value is refused. */
    @Test
    void clientVerifiedReadsServeTheSameBytes() throws Exception {
        String path = "/api/v1/repos/lab/api/files/weights.bin?rev=main";
        HttpResponse<byte[]> whole = send(req(path).header("X-Strata-Verify", "client"));
        assertEquals(200, whole.statusCode());
        assertArrayEquals(content, whole.body());
        HttpResponse<byte[]> part = send(req(path).header("X-Strata-Verify", "client").header("Range", "bytes=1048576-2200000"));
        assertEquals(206, part.statusCode());
        assertArrayEquals(Arrays.copyOfRange(content, 1048576, 2200001), part.body());
        assertArrayEquals(content, send(req(path).header("X-Strata-Verify", "server")).body());
        HttpResponse<byte[]> bad = send(req(path).header("X-Strata-Verify", "nobody"));
        assertEquals(400, bad.statusCode());
        assertTrue(new String(bad.body()).contains("X-Strata-Verify"), new String(bad.body()));
        assertEquals(400, send(req("/api/v1/repos/lab/api/chunks/weights.bin?rev=main").header("X-Strata-Verify", "")).statusCode());
        // Frames fetched that way carry the same chunks, each matching its id.
        HttpResponse<byte[]> frames = send(req("/api/v1/repos/lab/api/chunks/weights.bin?rev=main").header("X-Strata-Verify", "client"));
        assertEquals(200, frames.statusCode());
        java.io.InputStream in = new java.io.ByteArrayInputStream(frames.body());
        ByteArrayOutputStream back = new ByteArrayOutputStream();
        for (ChunkFrames.Frame f; (f = ChunkFrames.read(in)) != null; ) {
            back.writeBytes(dev.strata.core.codec.Codecs.verify(f.id(), f.chunk()));
        }
        assertArrayEquals(content, back.toByteArray());
    }

    @Test
    void hostileNamesAre400Or404() throws Exception {
        assertEquals(400, send(req("/api/v1/repos").POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"a/..\"}"))).statusCode());
        assertEquals(400, send(req("/api/v1/repos").POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"a/b\\u0000c\"}"))).statusCode());
        assertEquals(400, send(req("/api/v1/repos").POST(HttpRequest.BodyPublishers.ofString("{\"name\":\"" + "x".repeat(300) + "/y\"}"))).statusCode());
        assertEquals(400, send(req("/api/v1/repos").POST(HttpRequest.BodyPublishers.ofString("not json"))).statusCode());
        int s = send(req("/api/v1/repos/lab/api/files/..%2F..%2Fetc%2Fpasswd?rev=main")).statusCode();
        assertTrue(s == 400 || s == 404, "path traversal answered " + s);
        assertEquals(400, send(req("/api/v1/repos/lab/api/files/a%5Cb?rev=main")).statusCode());
        JsonNode err = StrataClient.JSON.readTree(send(req("/api/v1/repos/lab/missing")).body());
        assertTrue(err.path("error").path("message").asText().contains("lab/missing"));
    }

    @Test
    void oversizedBodiesAndHeadersAreRefused() throws Exception {
        byte[] big = new byte[2 << 20];
        Arrays.fill(big, (byte) ' ');
        assertEquals(413, send(req("/api/v1/repos").POST(HttpRequest.BodyPublishers.ofByteArray(big))).statusCode());
        assertEquals(431, send(req("/api/v1/health").header("X-Big", "a".repeat(20_000))).statusCode());
    }

    static String startUpload() throws Exception {
        HttpResponse<byte[]> r = send(req("/api/v1/repos/lab/api/uploads").POST(HttpRequest.BodyPublishers.noBody()));
        assertEquals(201, r.statusCode());
        return StrataClient.JSON.readTree(r.body()).path("upload_id").asText();
    }

    static byte[] frames(byte[]... chunks) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] c : chunks) {
            ChunkFrames.write(out, ContentHash.of(c), new EncodedChunk(Codec.RAW, c.length, c));
        }
        return out.toByteArray();
    }

    @Test
    void aDeltaFrameIsRefusedItWouldNeedABaseTheServerMayNotHold() throws Exception {
        String up = startUpload();
        byte[] c = TestData.bf16(12, 40_000);
        byte[] body = frames(c);
        body[32] = (byte) Codec.DELTA.id(); // the frame header's codec byte
        HttpResponse<byte[]> r = send(req("/api/v1/repos/lab/api/uploads/" + up + "/chunks").POST(HttpRequest.BodyPublishers.ofByteArray(body)));
        assertEquals(400, r.statusCode(), new String(r.body()));
        assertTrue(new String(r.body()).contains("delta"), new String(r.body()));
    }

    @Test
    void aChunkWhoseBytesDoNotMatchItsIdIsRejected() throws Exception {
        String up = startUpload();
        byte[] good = TestData.bf16(11, 50_000);
        byte[] body = frames(good);
        body[body.length - 1] ^= 1; // payload no longer hashes to the id
        HttpResponse<byte[]> r = send(req("/api/v1/repos/lab/api/uploads/" + up + "/chunks").POST(HttpRequest.BodyPublishers.ofByteArray(body)));
        assertEquals(422, r.statusCode(), new String(r.body()));
        ObjectNode q = StrataClient.JSON.createObjectNode();
        q.putArray("ids").add(ContentHash.of(good).hex());
        JsonNode missing = StrataClient.JSON.readTree(send(req("/api/v1/repos/lab/api/uploads/" + up + "/missing")
                .POST(HttpRequest.BodyPublishers.ofString(q.toString()))).body());
        assertEquals(1, missing.path("missing").size(), "the bad chunk was not stored");
    }

    @Test
    void aCommitOnAStaleHeadIsAConflictAndChangesNothing() throws Exception {
        JsonNode head = StrataClient.JSON.readTree(send(req("/api/v1/repos/lab/api/commit?rev=main")).body());
        ObjectNode c = StrataClient.JSON.createObjectNode().put("branch", "main").put("message", "stale")
                .put("parent", "0000000000000000000000000000000000000000");
        HttpResponse<byte[]> r = send(req("/api/v1/repos/lab/api/commits").POST(HttpRequest.BodyPublishers.ofString(c.toString())));
        assertEquals(409, r.statusCode());
        assertTrue(new String(r.body()).contains("re-run the push"), new String(r.body()));
        JsonNode after = StrataClient.JSON.readTree(send(req("/api/v1/repos/lab/api/commit?rev=main")).body());
        assertEquals(head.path("id"), after.path("id"));
    }

    @Test
    void anInterruptedPushResumesWithoutResendingStoredChunks() throws Exception {
        cli.ok("repo", "create", "lab/resume");
        Path f = tmp.resolve("resume.bin");
        TestData.randomFile(f, 4 << 20, 99);
        // A first attempt sent the first half of the file's chunks, then died before committing.
        dev.strata.core.chunk.ChunkedFile chunks = new dev.strata.core.chunk.FileChunker(1).chunk(f, n -> {});
        byte[] all = Files.readAllBytes(f);
        HttpResponse<byte[]> s = send(req("/api/v1/repos/lab/resume/uploads").POST(HttpRequest.BodyPublishers.noBody()));
        String up = StrataClient.JSON.readTree(s.body()).path("upload_id").asText();
        int half = chunks.chunks().size() / 2;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long halfBytes = 0;
        for (int i = 0; i < half; i++) {
            var span = chunks.chunks().get(i);
            byte[] b = Arrays.copyOfRange(all, (int) span.offset(), (int) span.offset() + span.length());
            ChunkFrames.write(out, span.id(), new EncodedChunk(Codec.RAW, b.length, b));
            halfBytes += b.length;
        }
        assertEquals(200, send(req("/api/v1/repos/lab/resume/uploads/" + up + "/chunks").POST(HttpRequest.BodyPublishers.ofByteArray(out.toByteArray()))).statusCode());
        assertEquals(404, send(req("/api/v1/repos/lab/resume/commit?rev=main")).statusCode(), "no partial commit is visible");

        JsonNode retry = cli.ok("push", f.toString(), "lab/resume@main", "-m", "retry", "--json").json();
        assertEquals(chunks.chunks().size() - half, retry.path("sent_chunks").asLong());
        assertEquals(half, retry.path("known_chunks").asLong());
        assertTrue(retry.path("sent_bytes").asLong() <= all.length - halfBytes + 4096);
        HttpResponse<byte[]> back = send(req("/api/v1/repos/lab/resume/files/resume.bin?rev=main"));
        assertArrayEquals(all, back.body());
    }

    /** The bulk calls (DirectHttp over plain http) report the server's errors as the other calls do. */
    @Test
    void bulkCallsReportTheServersErrors() throws Exception {
        StrataClient admin = new StrataClient(server.url(), server.adminToken());
        byte[] chunk = "not in any session".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        ByteArrayOutputStream frames = new ByteArrayOutputStream();
        ChunkFrames.write(frames, ContentHash.of(chunk), new EncodedChunk(Codec.RAW, chunk.length, chunk));
        StrataClient.ApiException e = org.junit.jupiter.api.Assertions.assertThrows(StrataClient.ApiException.class,
                () -> admin.post("/api/v1/repos/lab/api/uploads/nosuchsession/chunks", "application/octet-stream", DirectHttp.Body.of(frames.toByteArray(), frames.size())));
        assertEquals(404, e.status());
        assertTrue(e.getMessage().contains("nosuchsession"), e.getMessage());

        // A body of 64 MiB the server refuses before reading it: the answer is its 401, not a broken pipe.
        StrataClient stranger = new StrataClient(server.url(), "not-a-token");
        byte[] big = new byte[64 << 20];
        e = org.junit.jupiter.api.Assertions.assertThrows(StrataClient.ApiException.class,
                () -> stranger.post("/api/v1/repos/lab/api/uploads/x/chunks", "application/octet-stream", DirectHttp.Body.of(big, big.length)));
        assertEquals(401, e.status(), e.getMessage());

        e = org.junit.jupiter.api.Assertions.assertThrows(StrataClient.ApiException.class,
                () -> admin.channel("/api/v1/repos/lab/api/chunks/no-such-file.bin?rev=main", true));
        assertEquals(404, e.status());
        assertTrue(e.getMessage().contains("no-such-file.bin"), e.getMessage());
    }

    /**
     * The bulk calls' fallback (https, or a configured proxy): HttpURLConnection, here through a
     * "proxy" that is the server itself (it takes absolute-form request targets). A push of raw
     * frames and a pull come back bit-exact.
     */
    @Test
    void bulkCallsBehindAProxyGoThroughHttpURLConnection() throws Exception {
        URI base = URI.create(server.url());
        java.net.ProxySelector before = java.net.ProxySelector.getDefault();
        java.util.concurrent.atomic.AtomicInteger proxied = new java.util.concurrent.atomic.AtomicInteger();
        java.net.ProxySelector.setDefault(new java.net.ProxySelector() {
            @Override
            public List<java.net.Proxy> select(URI uri) {
                proxied.incrementAndGet();
                return List.of(new java.net.Proxy(java.net.Proxy.Type.HTTP, new java.net.InetSocketAddress(base.getHost(), base.getPort())));
            }

            @Override
            public void connectFailed(URI uri, java.net.SocketAddress sa, java.io.IOException e) {}
        });
        try {
            org.junit.jupiter.api.Assertions.assertFalse(DirectHttp.supports(base));
            StrataClient client = new StrataClient(server.url(), server.adminToken());
            byte[] data = TestData.bf16(11, 5 << 20);
            Path dir = tmp.resolve("proxied");
            Files.createDirectories(dir);
            Files.write(dir.resolve("w.bin"), data);
            PushOperation.Result pushed = new PushOperation(client).run(new PushOperation.Request(dir, "lab/api", "proxied", "via a proxy",
                    "test", null, java.util.Map.of(), StrataClient.JSON.createObjectNode(), java.util.Map.of(), List.of(), false, 2,
                    false, false), false);
            assertTrue(pushed.sentChunks() > 0, "raw frames were sent");
            Path out = tmp.resolve("proxied-out");
            new PullOperation(client, 2, true).run("lab/api", "proxied", out, false);
            assertArrayEquals(data, Files.readAllBytes(out.resolve("w.bin")));
            assertTrue(proxied.get() > 0, "the calls asked the proxy selector");
        } finally {
            java.net.ProxySelector.setDefault(before);
        }
    }
}
