package dev.strata.cli;

import java.io.Closeable;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.ReadableByteChannel;
import java.nio.channels.SocketChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * One HTTP/1.1 exchange over a {@link SocketChannel}, for the bulk calls of the transfer protocol
 * (uploading and fetching chunk frames, docs/api.md) over plain {@code http://}. The request body
 * is written by the caller straight to the socket (chunks go from the file by {@code sendfile},
 * {@link java.nio.channels.FileChannel#transferTo}) and the response body is read into the
 * caller's buffers (direct ones: the bytes never enter the Java heap). {@link
 * java.net.HttpURLConnection} takes and gives only byte arrays, and its socket streams copy every
 * byte once more through a temporary direct buffer (decision 0008, item 9).
 *
 * <p>Narrow on purpose: one connection per exchange ({@code Connection: close}; a bulk call moves
 * megabytes, a connection on loopback costs microseconds), a fixed-length request body, and a
 * response with {@code Content-Length}, chunked encoding or read to the close. https, a server
 * behind a configured proxy, and every other call go through {@link StrataClient}'s
 * {@code HttpURLConnection}.
 */
final class DirectHttp implements ReadableByteChannel, Closeable {
    /** Largest response head accepted (status line and headers). */
    static final int MAX_HEAD = 64 << 10;
    static final int CONNECT_TIMEOUT_MS = 10_000;
    /**
     * An exchange still open after this long is cut off (its channel closed, so a blocked read or
     * write fails), as {@code HttpURLConnection}'s 30-minute read timeout did for a server that
     * stops answering. Blocking channel I/O has no timeout of its own.
     */
    static final Duration EXCHANGE_LIMIT = Duration.ofMinutes(30);
    private static final ScheduledThreadPoolExecutor WATCHDOG = new ScheduledThreadPoolExecutor(1,
            Thread.ofPlatform().name("strata-http-watchdog").daemon().factory());

    static {
        WATCHDOG.setRemoveOnCancelPolicy(true); // a finished exchange's cut-off leaves the queue at once
    }

    /** A request body of known length, written to the connection by its owner. */
    interface Body {
        long length();

        void writeTo(WritableByteChannel out) throws IOException;

        /** The first {@code length} bytes of {@code b}. */
        static Body of(byte[] b, int length) {
            return new Body() {
                @Override
                public long length() {
                    return length;
                }

                @Override
                public void writeTo(WritableByteChannel out) throws IOException {
                    writeFully(out, ByteBuffer.wrap(b, 0, length));
                }
            };
        }
    }

    private final SocketChannel ch;
    private final ScheduledFuture<?> cutoff;
    private final Duration limit;
    /** Bytes read past the head, then the chunk-size lines of a chunked body. */
    private final ByteBuffer buf;
    private final int status;
    private final Map<String, String> headers;
    private final boolean chunked;
    /** Body bytes left: of the whole body (Content-Length), of the current chunk (chunked), or -1 (to the close). */
    private long left;
    private boolean done;

    private DirectHttp(SocketChannel ch, ScheduledFuture<?> cutoff, Duration limit, ByteBuffer buf, int status,
                       Map<String, String> headers) throws IOException {
        this.ch = ch;
        this.cutoff = cutoff;
        this.limit = limit;
        this.buf = buf;
        this.status = status;
        this.headers = headers;
        this.chunked = headers.getOrDefault("transfer-encoding", "").toLowerCase(Locale.ROOT).contains("chunked");
        String length = headers.get("content-length");
        if (chunked) {
            left = 0;
            nextChunk(true);
        } else if (length != null) {
            try {
                left = Long.parseLong(length.trim());
            } catch (NumberFormatException e) {
                throw new IOException("server sent a bad Content-Length: " + length);
            }
            if (left < 0) {
                throw new IOException("server sent a bad Content-Length: " + length);
            }
            done = left == 0;
        } else {
            left = -1;
        }
    }

    /** Plain http to a server reached without a proxy (a configured proxy keeps every call on {@code HttpURLConnection}). */
    static boolean supports(URI base) {
        if (!"http".equals(base.getScheme())) {
            return false;
        }
        java.net.ProxySelector proxies = java.net.ProxySelector.getDefault();
        return proxies == null || proxies.select(base).stream().allMatch(p -> p.type() == java.net.Proxy.Type.DIRECT);
    }

    /**
     * Sends a request and reads the response head; the caller reads the body from the returned
     * channel and closes it. {@code target} is the full URL (its host, port, path and query).
     * Should the server answer before it has read the whole body (an error), that answer is read
     * and returned.
     */
    static DirectHttp exchange(URI target, String method, Map<String, String> requestHeaders, Body body) throws IOException {
        return exchange(target, method, requestHeaders, body, EXCHANGE_LIMIT);
    }

    /** {@link #exchange(URI, String, Map, Body)} with its own time limit (tests). */
    static DirectHttp exchange(URI target, String method, Map<String, String> requestHeaders, Body body, Duration limit)
            throws IOException {
        String host = target.getHost();
        int port = target.getPort() < 0 ? 80 : target.getPort();
        String addrHost = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        StringBuilder req = new StringBuilder(256).append(method).append(' ').append(target.getRawPath());
        if (target.getRawQuery() != null) {
            req.append('?').append(target.getRawQuery());
        }
        req.append(" HTTP/1.1\r\nHost: ").append(host).append(target.getPort() < 0 ? "" : ":" + port)
                .append("\r\nConnection: close\r\n");
        for (Map.Entry<String, String> h : requestHeaders.entrySet()) {
            header(req, h.getKey(), h.getValue());
        }
        if (body != null) {
            header(req, "Content-Length", Long.toString(body.length()));
        }
        req.append("\r\n");
        SocketChannel ch = SocketChannel.open();
        ScheduledFuture<?> cutoff = WATCHDOG.schedule(() -> closeQuietly(ch), limit.toMillis(), TimeUnit.MILLISECONDS);
        try {
            ch.setOption(StandardSocketOptions.TCP_NODELAY, true); // frame headers are small writes between sendfiles
            ch.socket().connect(new InetSocketAddress(addrHost, port), CONNECT_TIMEOUT_MS);
            IOException sending = null;
            try {
                writeFully(ch, ByteBuffer.wrap(req.toString().getBytes(StandardCharsets.ISO_8859_1)));
                if (body != null) {
                    body.writeTo(ch);
                }
            } catch (IOException e) {
                sending = e; // the server may have refused the body early: its answer says why
            }
            try {
                return readHead(ch, cutoff, limit);
            } catch (IOException e) {
                if (sending != null) {
                    sending.addSuppressed(e);
                    throw sending;
                }
                throw e;
            }
        } catch (IOException e) {
            cutoff.cancel(false);
            ch.close();
            throw cutOff(cutoff) ? timedOut(limit, e) : e;
        } catch (RuntimeException e) {
            cutoff.cancel(false);
            ch.close();
            throw e;
        }
    }

    /** Whether the watchdog closed the channel (it ran, rather than being cancelled). */
    private static boolean cutOff(ScheduledFuture<?> cutoff) {
        return cutoff.isDone() && !cutoff.isCancelled();
    }

    private static IOException timedOut(Duration limit, IOException cause) {
        return new IOException("the server did not finish the exchange within " + limit.toMinutes() + " min " + limit.toSecondsPart()
                + " s; connection closed", cause);
    }

    private static void closeQuietly(SocketChannel ch) {
        try {
            ch.close();
        } catch (IOException ignored) {
            // closing is all the watchdog does
        }
    }

    private static void header(StringBuilder req, String name, String value) {
        if (name.chars().anyMatch(c -> c <= ' ' || c == ':' || c > '~') || value.chars().anyMatch(c -> c < ' ' && c != '\t' || c == 0x7f)) {
            throw new IllegalArgumentException("bad HTTP header " + name);
        }
        req.append(name).append(": ").append(value).append("\r\n");
    }

    private static DirectHttp readHead(SocketChannel ch, ScheduledFuture<?> cutoff, Duration limit) throws IOException {
        ByteBuffer buf = ByteBuffer.allocate(16 << 10);
        int end;
        while ((end = headEnd(buf)) < 0) {
            if (!buf.hasRemaining()) {
                if (buf.capacity() >= MAX_HEAD) {
                    throw new IOException("server's response head exceeds " + MAX_HEAD + " bytes");
                }
                buf = ByteBuffer.allocate(buf.capacity() * 2).put(buf.flip());
            }
            if (ch.read(buf) < 0) {
                throw new IOException("server closed the connection before answering");
            }
        }
        String head = new String(buf.array(), 0, end, StandardCharsets.ISO_8859_1);
        String[] lines = head.split("\r\n");
        String[] statusLine = lines[0].split(" ", 3);
        if (statusLine.length < 2 || !statusLine[0].startsWith("HTTP/1.")) {
            throw new IOException("server sent no HTTP/1.x status line");
        }
        int status;
        try {
            status = Integer.parseInt(statusLine[1]);
        } catch (NumberFormatException e) {
            throw new IOException("server sent a bad status line: " + lines[0]);
        }
        Map<String, String> headers = new HashMap<>();
        for (int i = 1; i < lines.length; i++) {
            int colon = lines[i].indexOf(':');
            if (colon > 0) {
                headers.merge(lines[i].substring(0, colon).trim().toLowerCase(Locale.ROOT), lines[i].substring(colon + 1).trim(),
                        (a, b) -> a + ", " + b);
            }
        }
        buf.flip().position(end + 4);
        return new DirectHttp(ch, cutoff, limit, buf, status, headers);
    }

    /** Offset of the blank line ending the head in {@code buf}'s written bytes, or -1. */
    private static int headEnd(ByteBuffer buf) {
        byte[] a = buf.array();
        for (int i = 0; i + 3 < buf.position(); i++) {
            if (a[i] == '\r' && a[i + 1] == '\n' && a[i + 2] == '\r' && a[i + 3] == '\n') {
                return i;
            }
        }
        return -1;
    }

    int status() {
        return status;
    }

    /** A response header (name in any case), or null. */
    String header(String name) {
        return headers.get(name.toLowerCase(Locale.ROOT));
    }

    /** Reads body bytes into {@code dst}; -1 at the end of the body. A body cut short is an IOException. */
    @Override
    public int read(ByteBuffer dst) throws IOException {
        if (done) {
            return -1;
        }
        if (!dst.hasRemaining()) {
            return 0;
        }
        if (chunked && left == 0 && !nextChunk(false)) {
            return -1;
        }
        int want = left < 0 ? dst.remaining() : (int) Math.min(dst.remaining(), left);
        int n;
        if (buf.hasRemaining()) {
            n = Math.min(want, buf.remaining());
            dst.put(dst.position(), buf, buf.position(), n).position(dst.position() + n);
            buf.position(buf.position() + n);
        } else {
            int limit = dst.limit();
            dst.limit(dst.position() + want);
            try {
                n = socketRead(dst);
            } finally {
                dst.limit(limit);
            }
            if (n < 0) {
                if (left < 0) {
                    done = true;
                    return -1;
                }
                throw new IOException("server closed the connection " + (chunked ? "inside a chunked body" : left + " bytes before the end of the body"));
            }
        }
        if (left > 0) {
            left -= n;
            if (left == 0 && !chunked) {
                done = true;
            }
        }
        return n;
    }

    /** Reads the next chunk-size line (after the CRLF ending the previous chunk); false at the last chunk. */
    private boolean nextChunk(boolean first) throws IOException {
        if (!first) {
            String crlf = line();
            if (!crlf.isEmpty()) {
                throw new IOException("bad chunked encoding from the server");
            }
        }
        String size = line();
        int semi = size.indexOf(';');
        try {
            left = Long.parseLong((semi < 0 ? size : size.substring(0, semi)).trim(), 16);
        } catch (NumberFormatException e) {
            throw new IOException("bad chunk size from the server: " + size);
        }
        if (left < 0) {
            throw new IOException("bad chunk size from the server: " + size);
        }
        if (left == 0) {
            while (!line().isEmpty()) {
                // trailer fields: ignored
            }
            done = true;
            return false;
        }
        return true;
    }

    /** One CRLF-terminated line of the chunked framing, without the CRLF. */
    private String line() throws IOException {
        StringBuilder b = new StringBuilder();
        while (true) {
            if (!buf.hasRemaining()) {
                buf.clear();
                int n = socketRead(buf);
                buf.flip();
                if (n < 0) {
                    throw new IOException("server closed the connection inside a chunked body");
                }
                continue;
            }
            byte c = buf.get();
            if (c == '\n') {
                int len = b.length();
                return len > 0 && b.charAt(len - 1) == '\r' ? b.substring(0, len - 1) : b.toString();
            }
            if (b.length() > 4096) {
                throw new IOException("chunk-size line from the server too long");
            }
            b.append((char) (c & 0xff));
        }
    }

    /** A read from the connection; the watchdog's close becomes an error that says so. */
    private int socketRead(ByteBuffer b) throws IOException {
        try {
            return ch.read(b);
        } catch (IOException e) {
            throw cutOff(cutoff) ? timedOut(limit, e) : e;
        }
    }

    /** The rest of the body as bytes (a JSON answer, an error), at most {@code max} of them. */
    byte[] readAll(int max) throws IOException {
        ByteBuffer out = ByteBuffer.allocate(left > 0 && !chunked ? (int) Math.min(left, max) : 8192);
        while (true) {
            if (!out.hasRemaining()) {
                if (out.capacity() >= max) {
                    throw new IOException("server's answer exceeds " + max + " bytes");
                }
                out = ByteBuffer.allocate((int) Math.min((long) out.capacity() * 2, max)).put(out.flip());
            }
            if (read(out) < 0) {
                break;
            }
        }
        byte[] b = new byte[out.position()];
        out.flip().get(b);
        return b;
    }

    @Override
    public boolean isOpen() {
        return ch.isOpen();
    }

    @Override
    public void close() throws IOException {
        cutoff.cancel(false);
        ch.close();
    }

    static void writeFully(WritableByteChannel out, ByteBuffer b) throws IOException {
        while (b.hasRemaining()) {
            out.write(b);
        }
    }
}
