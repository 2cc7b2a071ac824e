package dev.strata.cli;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Strata server in its own JVM process (the test classpath, `strata serve`), bound to
 * 127.0.0.1 on a free port. Tests kill it with SIGKILL to simulate crashes.
 */
final class ServerProcess implements AutoCloseable {
    private static final Pattern LISTENING = Pattern.compile("listening on (http://[0-9.]+:(\\d+))");
    private final Process process;
    private final String url;
    private Path dataDir;
    private StringBuffer log = new StringBuffer();

    private ServerProcess(Process process, String url) {
        this.process = process;
        this.url = url;
    }

    /** Starts a server on a free port, or on the one {@code extraArgs} names with {@code --port}. */
    static ServerProcess start(Path dataDir, String heap, String... extraArgs) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("-Xmx" + heap);
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("dev.strata.cli.Main");
        cmd.add("serve");
        if (!List.of(extraArgs).contains("--port")) {
            cmd.add("--port");
            cmd.add("0");
        }
        cmd.add("--data");
        cmd.add(dataDir.toString());
        cmd.addAll(List.of(extraArgs));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        CompletableFuture<String> url = new CompletableFuture<>();
        StringBuffer log = new StringBuffer();
        Thread reader = new Thread(() -> {
            try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    log.append(line).append('\n');
                    Matcher m = LISTENING.matcher(line);
                    if (m.find()) {
                        url.complete(m.group(1));
                    }
                }
            } catch (IOException ignored) {
                // process ended
            }
            url.completeExceptionally(new IllegalStateException("server exited before listening:\n" + log));
        });
        reader.setDaemon(true);
        reader.start();
        try {
            ServerProcess s = new ServerProcess(p, url.get(60, TimeUnit.SECONDS));
            s.log = log; // the reader thread keeps appending to it
            s.dataDir = dataDir;
            return s;
        } catch (Exception e) {
            p.destroyForcibly();
            throw new IllegalStateException("server did not start: " + e.getMessage() + "\n" + log, e);
        }
    }

    String url() {
        return url;
    }

    /** A port nothing listens on right now, for a server that must come back on the same URL after a restart. */
    static int freePort() throws IOException {
        try (java.net.ServerSocket s = new java.net.ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** Everything the server printed so far. */
    String log() {
        return log.toString();
    }

    /** The administrator token the server wrote on its first start (DATA/admin.token). */
    Path adminTokenFile() {
        return dataDir.resolve("admin.token");
    }

    String adminToken() throws IOException {
        return java.nio.file.Files.readString(adminTokenFile()).strip();
    }

    /** A CLI signed in as the administrator. */
    CliRunner cli() {
        return new CliRunner(url, adminTokenFile());
    }

    /** SIGKILL: no shutdown hook runs, nothing is flushed. */
    void kill9() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor(30, TimeUnit.SECONDS);
    }

    boolean alive() {
        return process.isAlive();
    }

    @Override
    public void close() throws InterruptedException {
        process.destroy();
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
            kill9();
        }
    }
}
