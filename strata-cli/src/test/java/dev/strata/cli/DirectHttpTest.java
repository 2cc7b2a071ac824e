package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The HTTP/1.1 exchange of the bulk transfer calls against a scripted peer on loopback: the
 * request goes out as HTTP says (the body byte for byte, from a file by sendfile), and every
 * body framing a server may answer with (length, chunked, to the close) reads back exactly, with
 * a cut-short body an error. The real server's answers are covered by the end-to-end tests,
 * which push and pull through this class.
 */
class DirectHttpTest {
    @TempDir Path tmp;

    /** One connection: reads the request (head and Content-Length body), answers with {@code pieces}, closes. */
    private static final class Peer implements AutoCloseable {
        final ServerSocket server;
        final CompletableFuture<byte[]> request = new CompletableFuture<>();

        Peer(List<byte[]> pieces) throws IOException {
            this(pieces, 0);
        }

        /** {@code holdMillis}: how long the peer keeps the connection open, silent, after its pieces. */
        Peer(List<byte[]> pieces, long holdMillis) throws IOException {
            server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
            Thread.ofPlatform().daemon().start(() -> {
                try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    ByteArrayOutputStream req = new ByteArrayOutputStream();
                    while (!req.toString(StandardCharsets.ISO_8859_1).contains("\r\n\r\n")) {
                        int b = in.read();
                        if (b < 0) {
                            break;
                        }
                        req.write(b);
                    }
                    String head = req.toString(StandardCharsets.ISO_8859_1);
                    int at = head.indexOf("Content-Length: ");
                    if (at >= 0) {
                        long n = Long.parseLong(head.substring(at + 16, head.indexOf("\r\n", at)));
                        req.write(in.readNBytes((int) n));
                    }
                    request.complete(req.toByteArray());
                    OutputStream out = s.getOutputStream();
                    for (byte[] p : pieces) {
                        out.write(p);
                        out.flush();
                        Thread.sleep(2); // separate segments: the parser must not assume one read per part
                    }
                    Thread.sleep(holdMillis);
                } catch (Exception e) {
                    request.completeExceptionally(e);
                }
            });
        }

        URI uri(String pathAndQuery) {
            return URI.create("http://127.0.0.1:" + server.getLocalPort() + pathAndQuery);
        }

        @Override
        public void close() throws IOException {
            server.close();
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] readBody(DirectHttp r) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ByteBuffer b = ByteBuffer.allocateDirect(7); // odd size: reads straddle every boundary
        while (r.read(b.clear()) >= 0) {
            b.flip();
            byte[] a = new byte[b.remaining()];
            b.get(a);
            out.write(a);
        }
        return out.toByteArray();
    }

    @Test
    void sendsTheRequestAsHttpSaysWithTheBodyFromAFile() throws Exception {
        byte[] content = new byte[300_000];
        new java.util.Random(5).nextBytes(content);
        Path f = tmp.resolve("data");
        java.nio.file.Files.write(f, content);
        DirectHttp.Body body = new DirectHttp.Body() {
            @Override
            public long length() {
                return 3 + 100_000;
            }

            @Override
            public void writeTo(WritableByteChannel out) throws IOException {
                DirectHttp.writeFully(out, ByteBuffer.wrap(ascii("abc")));
                try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
                    long done = 0;
                    while (done < 100_000) {
                        done += ch.transferTo(50_000 + done, 100_000 - done, out);
                    }
                }
            }
        };
        try (Peer p = new Peer(List.of(ascii("HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}")));
             DirectHttp r = DirectHttp.exchange(p.uri("/api/v1/x%20y?a=b&c=d"), "POST", Map.of("Authorization", "Bearer t0k"), body)) {
            assertEquals(201, r.status());
            assertArrayEquals(ascii("{}"), r.readAll(1024));
            byte[] req = p.request.get(10, TimeUnit.SECONDS);
            String head = new String(req, 0, dev.strata.core.store.TestBytes.find(req, ascii("\r\n\r\n")), StandardCharsets.ISO_8859_1);
            List<String> lines = List.of(head.split("\r\n"));
            assertEquals("POST /api/v1/x%20y?a=b&c=d HTTP/1.1", lines.get(0));
            assertTrue(lines.contains("Host: 127.0.0.1:" + p.server.getLocalPort()), head);
            assertTrue(lines.contains("Authorization: Bearer t0k"), head);
            assertTrue(lines.contains("Content-Length: 100003"), head);
            byte[] sent = java.util.Arrays.copyOfRange(req, head.length() + 4, req.length);
            byte[] want = new byte[100_003];
            System.arraycopy(ascii("abc"), 0, want, 0, 3);
            System.arraycopy(content, 50_000, want, 3, 100_000);
            assertArrayEquals(want, sent);
        }
    }

    @Test
    void readsAChunkedBodyExactlyAcrossSegments() throws Exception {
        byte[] a = new byte[20_000];
        new java.util.Random(1).nextBytes(a);
        ByteArrayOutputStream wire = new ByteArrayOutputStream();
        wire.write(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-Thing: 1\r\n\r\n"));
        wire.write(ascii("4e20;ext=1\r\n"));
        wire.write(a);
        wire.write(ascii("\r\n3\r\nxyz\r\n0\r\nTrailer: t\r\n\r\n"));
        byte[] w = wire.toByteArray();
        // Cut the wire into uneven pieces, some inside chunk-size lines and CRLFs.
        List<byte[]> pieces = List.of(java.util.Arrays.copyOfRange(w, 0, 30), java.util.Arrays.copyOfRange(w, 30, 71),
                java.util.Arrays.copyOfRange(w, 71, 20_070), java.util.Arrays.copyOfRange(w, 20_070, 20_075),
                java.util.Arrays.copyOfRange(w, 20_075, w.length));
        try (Peer p = new Peer(pieces); DirectHttp r = DirectHttp.exchange(p.uri("/c"), "GET", Map.of(), null)) {
            assertEquals(200, r.status());
            assertEquals("1", r.header("x-thing"));
            byte[] want = new byte[a.length + 3];
            System.arraycopy(a, 0, want, 0, a.length);
            System.arraycopy(ascii("xyz"), 0, want, a.length, 3);
            assertArrayEquals(want, readBody(r));
            assertEquals(-1, r.read(ByteBuffer.allocate(1)));
        }
    }

    @Test
    void readsALengthBodyAndABodyToTheClose() throws Exception {
        try (Peer p = new Peer(List.of(ascii("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123"), ascii("456789")));
             DirectHttp r = DirectHttp.exchange(p.uri("/l"), "GET", Map.of(), null)) {
            assertArrayEquals(ascii("0123456789"), readBody(r));
        }
        try (Peer p = new Peer(List.of(ascii("HTTP/1.0 200 OK\r\n\r\nuntil"), ascii(" the close")));
             DirectHttp r = DirectHttp.exchange(p.uri("/e"), "GET", Map.of(), null)) {
            assertArrayEquals(ascii("until the close"), readBody(r));
        }
    }

    @Test
    void aBodyCutShortIsAnError() throws Exception {
        try (Peer p = new Peer(List.of(ascii("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123")));
             DirectHttp r = DirectHttp.exchange(p.uri("/l"), "GET", Map.of(), null)) {
            IOException e = assertThrows(IOException.class, () -> readBody(r));
            assertTrue(e.getMessage().contains("6 bytes before the end"), e.getMessage());
        }
        try (Peer p = new Peer(List.of(ascii("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\nshort")));
             DirectHttp r = DirectHttp.exchange(p.uri("/c"), "GET", Map.of(), null)) {
            assertThrows(IOException.class, () -> readBody(r));
        }
    }

    @Test
    void aServerThatStopsAnsweringIsCutOffAtTheLimit() throws Exception {
        java.time.Duration limit = java.time.Duration.ofMillis(300);
        try (Peer p = new Peer(List.of(), 10_000)) {
            long t0 = System.nanoTime();
            IOException e = assertThrows(IOException.class, () -> DirectHttp.exchange(p.uri("/"), "GET", Map.of(), null, limit));
            assertTrue(e.getMessage().contains("did not finish the exchange"), e.getMessage());
            assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "cut off near the limit, not when the peer gives up");
        }
        try (Peer p = new Peer(List.of(ascii("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n0123")), 10_000);
             DirectHttp r = DirectHttp.exchange(p.uri("/"), "GET", Map.of(), null, limit)) {
            IOException e = assertThrows(IOException.class, () -> readBody(r));
            assertTrue(e.getMessage().contains("did not finish the exchange"), e.getMessage());
        }
    }

    @Test
    void onlyPlainHttpWithoutAProxyGoesDirect() {
        assertTrue(DirectHttp.supports(URI.create("http://127.0.0.1:8470")));
        assertTrue(!DirectHttp.supports(URI.create("https://strata.example:8470")), "TLS stays on HttpURLConnection");
    }

    @Test
    void refusesMalformedAnswersAndHeaders() throws Exception {
        try (Peer p = new Peer(List.of(ascii("SSH-2.0-OpenSSH\r\n\r\n")))) {
            assertThrows(IOException.class, () -> DirectHttp.exchange(p.uri("/"), "GET", Map.of(), null));
        }
        try (Peer p = new Peer(List.of(ascii("HTTP/1.1 200 OK\r\nX: " + "a".repeat(DirectHttp.MAX_HEAD) + "\r\n\r\n")))) {
            IOException e = assertThrows(IOException.class, () -> DirectHttp.exchange(p.uri("/"), "GET", Map.of(), null));
            assertTrue(e.getMessage().contains("exceeds"), e.getMessage());
        }
        try (Peer p = new Peer(List.of(ascii("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + "b".repeat(100))))) {
            // Header injection from a caller is refused before anything is sent.
            assertThrows(IllegalArgumentException.class,
                    () -> DirectHttp.exchange(p.uri("/"), "GET", Map.of("X-Strata-Verify", "client\r\nEvil: 1"), null));
        }
    }
}
