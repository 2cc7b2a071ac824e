package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.strata.core.StrataException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Properties;
import picocli.CommandLine;

/** What every client command shares: where the server is, --json output, and error reporting. */
final class Cli {
    static final int EXIT_ERROR = 1;
    static final int EXIT_NOT_FOUND = 3;
    static final int EXIT_CONFLICT = 4;
    static final int EXIT_UNREACHABLE = 5;
    static final int EXIT_DENIED = 6;
    /** {@code strata audit verify}: the audit trail's hash chain is broken. */
    static final int EXIT_AUDIT_BROKEN = 7;

    private Cli() {}

    /** Options of every command that talks to a server. */
    static final class ServerOptions {
        @CommandLine.Option(names = "--url", description = "Server URL (default: $STRATA_URL, then url= in ~/.config/strata/config.properties, then http://127.0.0.1:8470).")
        String url;

        @CommandLine.Option(names = "--json", description = "Print machine-readable JSON (stable snake_case keys).")
        boolean json;

        @CommandLine.Option(names = "--token-file", paramLabel = "FILE",
                description = "Read the API token from FILE (default: $STRATA_TOKEN, then the token saved by `strata login`).")
        java.nio.file.Path tokenFile;

        private StrataClient client;

        /** The command's client, created once; {@link Main} closes it when the command ends. */
        StrataClient client() {
            if (client == null) {
                client = newClient();
                OPEN.get().add(client);
            }
            return client;
        }

        private StrataClient newClient() {
            Properties cfg = userConfig();
            String u = url != null ? url : System.getenv("STRATA_URL") != null ? System.getenv("STRATA_URL")
                    : cfg.getProperty("url", "http://127.0.0.1:8470");
            String token = tokenFile != null ? readTokenFile(tokenFile)
                    : System.getenv("STRATA_TOKEN") != null ? System.getenv("STRATA_TOKEN") : cfg.getProperty("token");
            return new StrataClient(u, token);
        }
    }

    /** Clients opened by the command running on this thread (commands run on their caller's thread). */
    private static final ThreadLocal<java.util.List<StrataClient>> OPEN = ThreadLocal.withInitial(java.util.ArrayList::new);

    static void closeClients() {
        for (StrataClient c : OPEN.get()) {
            c.close();
        }
        OPEN.remove();
    }

    /** The first line of a token file, trimmed; a clear error if it cannot be read. */
    static String readTokenFile(Path file) {
        try {
            String t = Files.readString(file).strip();
            int nl = t.indexOf('\n');
            t = nl < 0 ? t : t.substring(0, nl).strip();
            if (t.isEmpty()) {
                throw new dev.strata.core.InvalidInputException("token file " + file + " is empty");
            }
            return t;
        } catch (IOException e) {
            throw new dev.strata.core.InvalidInputException("cannot read token file " + file + ": " + e.getMessage());
        }
    }

    /** Where `strata login` keeps the server URL and token: $STRATA_CONFIG_DIR or ~/.config/strata. */
    static Path configFile() {
        String home = System.getenv("STRATA_CONFIG_DIR");
        return home != null ? Path.of(home, "config.properties")
                : Path.of(System.getProperty("user.home"), ".config", "strata", "config.properties");
    }

    static Properties userConfig() {
        Properties p = new Properties();
        Path file = configFile();
        if (Files.isRegularFile(file)) {
            try (Reader r = Files.newBufferedReader(file)) {
                p.load(r);
            } catch (IOException e) {
                System.err.println("warning: cannot read " + file + ": " + e.getMessage());
            }
        }
        return p;
    }

    static void printJson(CommandLine.Model.CommandSpec spec, JsonNode n) {
        try {
            PrintWriter out = spec.commandLine().getOut();
            out.println(StrataClient.JSON.copy().enable(SerializationFeature.INDENT_OUTPUT).writeValueAsString(n));
            out.flush();
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    static PrintWriter out(CommandLine.Model.CommandSpec spec) {
        return spec.commandLine().getOut();
    }

    /** Maps an exception to a one-line message on stderr and an exit status. */
    static int report(Exception e, CommandLine cmd) {
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        cmd.getErr().println("strata: " + msg);
        cmd.getErr().flush();
        if (e instanceof StrataClient.ApiException api) {
            return switch (api.status()) {
                case 404, 410 -> EXIT_NOT_FOUND;
                case 401, 403, 429 -> EXIT_DENIED;
                case 409 -> EXIT_CONFLICT;
                case 0 -> "unreachable".equals(api.code()) ? EXIT_UNREACHABLE : EXIT_ERROR;
                default -> EXIT_ERROR;
            };
        }
        if (e instanceof dev.strata.core.NotFoundException) {
            return EXIT_NOT_FOUND;
        }
        if (e instanceof dev.strata.core.InvalidInputException || e instanceof CommandLine.ParameterException) {
            return 2;
        }
        if (!(e instanceof StrataException) && !(e instanceof IOException) && !(e instanceof java.io.UncheckedIOException)) {
            e.printStackTrace(cmd.getErr());
        }
        return EXIT_ERROR;
    }

    static String human(long bytes) {
        if (bytes < 1024) {
            return bytes + " B";
        }
        String[] units = {"KiB", "MiB", "GiB", "TiB", "PiB"};
        double v = bytes;
        int i = -1;
        while (v >= 1024 && i < units.length - 1) {
            v /= 1024;
            i++;
        }
        return String.format("%.1f %s", v, units[i]);
    }
}
