package dev.strata.catalog;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;

/**
 * A real, throwaway PostgreSQL server for tests (as OkHttp's MockWebServer is a real HTTP server):
 * {@code initdb} into a temporary directory, {@code postgres} on 127.0.0.1 and a free port, its
 * socket in that directory, fsync off. {@link #close()} stops it and deletes everything; a JVM
 * shutdown hook does the same if a test run dies first.
 *
 * <p>PostgreSQL refuses to run as root. When the tests run as root (CI, containers) the server
 * runs as the unprivileged system user {@value #OS_USER}, created with {@code useradd --system}
 * when missing, via {@code runuser}. Missing binaries fail loudly: these tests never skip.
 *
 * <pre>{@code
 * static PostgresServer server;
 * @BeforeAll static void start() { server = PostgresServer.start(); }
 * @AfterAll static void stop() { server.close(); }
 * ... Catalogs.open(server.jdbcUrl(server.createDatabase())) ...
 * }</pre>
 */
public final class PostgresServer implements AutoCloseable {
    public static final String OS_USER = "strata-pg";
    private static final String DB_USER = "postgres";
    private static final AtomicInteger DATABASES = new AtomicInteger();

    private final Path bin;
    private final Path root;
    private final Path data;
    private final int port;
    private final List<String> asUser;
    private final Thread shutdownHook;
    private boolean stopped;

    private PostgresServer(Path bin, Path root, int port, List<String> asUser) {
        this.bin = bin;
        this.root = root;
        this.data = root.resolve("data");
        this.port = port;
        this.asUser = asUser;
        this.shutdownHook = new Thread(this::stopAndDelete, "postgres-server-cleanup");
    }

    /** Initialises and starts a server; throws with the server's log if it cannot. */
    public static PostgresServer start() {
        Path bin = findBinaries();
        Path root;
        try {
            root = Files.createTempDirectory("strata-pg-");
        } catch (IOException e) {
            throw new IllegalStateException("cannot create a temporary directory for PostgreSQL", e);
        }
        PostgresServer server = null;
        try {
            List<String> asUser = isRoot() ? dropPrivileges(root) : List.of();
            server = new PostgresServer(bin, root, freePort(), asUser);
            Runtime.getRuntime().addShutdownHook(server.shutdownHook);
            server.initAndStart();
            return server;
        } catch (RuntimeException e) {
            if (server != null) {
                server.close();
            } else {
                deleteTree(root);
            }
            throw e;
        }
    }

    /** {@code jdbc:postgresql://127.0.0.1:port/database?user=postgres} (trust authentication). */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database + "?user=" + DB_USER;
    }

    public int port() {
        return port;
    }

    /** Creates a fresh, empty database and returns its name. */
    public String createDatabase() {
        String name = "strata_test_" + DATABASES.incrementAndGet();
        try (Connection c = DriverManager.getConnection(jdbcUrl("postgres"));
             Statement s = c.createStatement()) {
            s.execute("CREATE DATABASE " + name);
        } catch (SQLException e) {
            throw new IllegalStateException("cannot create database " + name + " on " + jdbcUrl("postgres"), e);
        }
        return name;
    }

    private void initAndStart() {
        run(List.of(bin.resolve("initdb").toString(), "-D", data.toString(), "-U", DB_USER, "-A", "trust",
                "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"), 120);
        String options = "-h 127.0.0.1 -p " + port + " -k " + root + " -F -c fsync=off -c synchronous_commit=off"
                + " -c full_page_writes=off -c max_connections=100";
        run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-l", root.resolve("server.log").toString(),
                "-o", options, "-w", "-t", "60", "start"), 90);
    }

    /** Runs a PostgreSQL tool (as the unprivileged user if needed); its output goes into the error if it fails. */
    private void run(List<String> command, int timeoutSeconds) {
        List<String> full = new ArrayList<>(asUser);
        full.addAll(command);
        Path out = root.resolve("command.out");
        try {
            Process p = new ProcessBuilder(full).directory(root.toFile()).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).start();
            if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IllegalStateException(String.join(" ", full) + " timed out after " + timeoutSeconds + " s\n" + logs(out));
            }
            if (p.exitValue() != 0) {
                throw new IllegalStateException(String.join(" ", full) + " exited " + p.exitValue() + "\n" + logs(out));
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", full), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + String.join(" ", full), e);
        }
    }

    private String logs(Path commandOut) {
        StringBuilder b = new StringBuilder();
        for (Path p : List.of(commandOut, root.resolve("server.log"))) {
            try {
                if (Files.exists(p)) {
                    b.append("--- ").append(p.getFileName()).append(":\n").append(Files.readString(p, StandardCharsets.UTF_8));
                }
            } catch (IOException ignored) {
                // Best effort: we are already reporting a failure.
            }
        }
        return b.toString();
    }

    @Override
    public synchronized void close() {
        stopAndDelete();
        try {
            Runtime.getRuntime().removeShutdownHook(shutdownHook);
        } catch (IllegalStateException ignored) {
            // Already shutting down: the hook is running or ran.
        }
    }

    private synchronized void stopAndDelete() {
        if (stopped) {
            return;
        }
        stopped = true;
        if (Files.exists(data.resolve("postmaster.pid"))) {
            try {
                run(List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "-w", "-t", "30", "stop"), 45);
            } catch (RuntimeException e) {
                System.err.println("PostgresServer: could not stop the server in " + data + ": " + e.getMessage());
            }
        }
        deleteTree(root);
    }

    // ---- environment

    /** $STRATA_PG_BIN, else the newest /usr/lib/postgresql/N/bin, else initdb on the PATH. */
    static Path findBinaries() {
        List<Path> candidates = new ArrayList<>();
        String env = System.getenv("STRATA_PG_BIN");
        if (env != null && !env.isBlank()) {
            candidates.add(Path.of(env));
        }
        Path debian = Path.of("/usr/lib/postgresql");
        if (Files.isDirectory(debian)) {
            try (Stream<Path> versions = Files.list(debian)) {
                versions.map(v -> v.resolve("bin"))
                        .sorted(Comparator.comparing((Path p) -> versionOf(p.getParent())).reversed())
                        .forEach(candidates::add);
            } catch (IOException ignored) {
                // Fall through to PATH.
            }
        }
        for (String dir : System.getenv().getOrDefault("PATH", "").split(java.io.File.pathSeparator)) {
            Path initdb = Path.of(dir, "initdb");
            if (Files.isExecutable(initdb)) {
                try {
                    candidates.add(initdb.toRealPath().getParent());
                } catch (IOException ignored) {
                    candidates.add(initdb.getParent());
                }
            }
        }
        for (Path c : candidates) {
            if (Files.isExecutable(c.resolve("initdb")) && Files.isExecutable(c.resolve("pg_ctl"))
                    && Files.isExecutable(c.resolve("postgres"))) {
                return c;
            }
        }
        throw new IllegalStateException("PostgreSQL server binaries (initdb, pg_ctl, postgres) not found in $STRATA_PG_BIN, "
                + "/usr/lib/postgresql/*/bin or PATH. The PostgreSQL catalog tests need a real server and never skip: "
                + "install it (Debian/Ubuntu: apt-get install postgresql) or point STRATA_PG_BIN at its bin directory.");
    }

    private static int versionOf(Path dir) {
        try {
            return Integer.parseInt(dir.getFileName().toString().replaceAll("\\..*", ""));
        } catch (NumberFormatException e) {
            return 0;
        }
    }

    private static boolean isRoot() {
        try {
            return ((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid")) == 0;
        } catch (IOException | UnsupportedOperationException | IllegalArgumentException e) {
            return "root".equals(System.getProperty("user.name"));
        }
    }

    /** Makes sure {@value #OS_USER} exists and owns {@code root}; returns the command prefix that runs as it. */
    private static List<String> dropPrivileges(Path root) {
        if (exec(List.of("id", "-u", OS_USER)) != 0) {
            int rc = exec(List.of("useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", OS_USER));
            if (rc != 0 && rc != 9 && exec(List.of("id", "-u", OS_USER)) != 0) { // 9: created meanwhile by another run
                throw new IllegalStateException("running as root, and cannot create the system user " + OS_USER
                        + " to run PostgreSQL as (useradd exited " + rc + ")");
            }
        }
        if (exec(List.of("chown", "-R", OS_USER + ":", root.toString())) != 0) {
            throw new IllegalStateException("cannot chown " + root + " to " + OS_USER);
        }
        if (Files.isExecutable(Path.of("/usr/sbin/runuser")) || Files.isExecutable(Path.of("/sbin/runuser"))) {
            return List.of("runuser", "-u", OS_USER, "--");
        }
        return List.of("setpriv", "--reuid=" + OS_USER, "--regid=" + OS_USER, "--init-groups", "--");
    }

    private static int exec(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start();
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return -1;
            }
            return p.exitValue();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    private static int freePort() {
        try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free local port for PostgreSQL", e);
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> all = Files.walk(root)) {
            all.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // Keep deleting the rest.
                }
            });
        } catch (IOException ignored) {
            // Nothing more to do; the directory is temporary.
        }
    }
}
