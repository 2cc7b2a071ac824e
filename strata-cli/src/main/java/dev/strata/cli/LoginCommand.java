package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Properties;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "login", mixinStandardHelpOptions = true,
        description = {"Sign in: check a token against the server and save it (and --url) for later commands.", "",
                "The token comes from --token-file, else $STRATA_TOKEN, else one line on standard input (never an",
                "argument: those show in `ps`). It is saved in ~/.config/strata/config.properties (or",
                "$STRATA_CONFIG_DIR), created readable by you only (0600, directory 0700)."})
final class LoginCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Override
    public Integer call() throws IOException {
        String token;
        if (server.tokenFile != null) {
            token = Cli.readTokenFile(server.tokenFile);
        } else if (System.getenv("STRATA_TOKEN") != null) {
            token = System.getenv("STRATA_TOKEN").strip();
        } else {
            if (System.console() != null) {
                System.err.print("token: ");
                System.err.flush();
            }
            String line = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            token = line == null ? "" : line.strip();
        }
        if (token.isEmpty()) {
            throw new dev.strata.core.InvalidInputException("no token given (use --token-file FILE, $STRATA_TOKEN or standard input)");
        }
        String url = server.client().baseUrl();
        JsonNode me;
        try (StrataClient c = new StrataClient(url, token)) {
            me = c.get("/api/v1/auth/whoami");
        }
        Path file = Cli.configFile();
        Properties cfg = Cli.userConfig();
        cfg.setProperty("url", url);
        cfg.setProperty("token", token);
        save(file, cfg);
        if (server.json) {
            Cli.printJson(spec, me);
        } else {
            Cli.out(spec).printf("Signed in to %s as %s (token %s, scope %s). Saved in %s%n", url, me.path("user").asText(),
                    me.path("token_id").asText(), me.path("scope").asText(), file);
        }
        return 0;
    }

    /** Writes the config through a 0600 temporary file and an atomic rename: the token is never readable by others. */
    static void save(Path file, Properties cfg) throws IOException {
        Path dir = file.toAbsolutePath().getParent();
        if (!Files.isDirectory(dir)) {
            Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        }
        Path tmp = Files.createTempFile(dir, ".config", ".tmp", PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        try {
            try (Writer w = Files.newBufferedWriter(tmp)) {
                cfg.store(w, "strata client settings (strata login)");
            }
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }
}
