package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.TokenScope;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.Map;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "token", mixinStandardHelpOptions = true,
        description = {"Create, list and revoke API tokens.", "",
                "A token acts as its user, limited by its scope (read < write < admin) and, optionally, to some repositories. "
                        + "Its secret is shown once, at creation; the server keeps only a hash. A new token never exceeds the one that creates it. "
                        + "Server admins may create, list and revoke tokens of other users.", "",
                "  strata token create --label laptop --scope write --expires 90d --out my.token",
                "  strata token create --user ci --repo lab/chimera --expires 12h",
                "  strata token list",
                "  strata token list --all",
                "  strata token revoke 3f2a9c0d4e5b6a71"},
        subcommands = {TokenCommand.Create.class, TokenCommand.List.class, TokenCommand.Revoke.class})
final class TokenCommand {

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a token and show its secret (once).", "",
                    "Without --out the secret is printed on its own line: store it now. With --out FILE it is written to FILE, "
                            + "created readable by you only (0600), and not printed; FILE must not exist. "
                            + "Use it with `strata login --token-file FILE` or `--token-file FILE`.", "",
                    "  strata token create --label laptop --scope write --expires 90d --out my.token",
                    "  strata token create --user ci --repo lab/chimera --expires 2026-12-31T00:00:00Z"})
    static final class Create implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

        @Option(names = "--label", paramLabel = "LABEL", description = "What the token is for (shown by `token list`).")
        String label;

        @Option(names = "--scope", paramLabel = "SCOPE", description = "read, write or admin (default: read).")
        String scope;

        @Option(names = "--repo", paramLabel = "OWNER/NAME",
                description = "Limit the token to this repository (repeatable). Default: everything its user may access.")
        java.util.List<String> repos = new ArrayList<>();

        @Option(names = "--expires", paramLabel = "WHEN",
                description = "Expiry: a duration (90d, 12h, 30m) or an ISO-8601 instant (2026-12-31T00:00:00Z). Default: never.")
        String expires;

        @Option(names = "--user", paramLabel = "NAME", description = "Create the token for another user (server admins).")
        String user;

        @Option(names = "--out", paramLabel = "FILE", description = "Write the secret to FILE (created 0600; must not exist) instead of printing it.")
        Path outFile;

        @Override
        public void run() {
            ObjectNode body = StrataClient.JSON.createObjectNode();
            if (label != null) {
                body.put("label", label);
            }
            if (scope != null) {
                body.put("scope", TokenScope.fromWire(scope).wire());
            }
            if (!repos.isEmpty()) {
                ArrayNode a = body.putArray("repos");
                repos.forEach(r -> a.add(Names.repo(r)));
            }
            AccessArgs.putExpiry(body, expires);
            if (user != null) {
                body.put("user", Names.subject(user));
            }
            // Create the file first: a name that exists is refused before any token is made, and
            // a token the server made is never left without a place to go.
            if (outFile != null) {
                createSecretFile(outFile);
            }
            JsonNode t;
            try {
                t = server.client().post("/api/v1/tokens", body);
            } catch (RuntimeException e) {
                deleteQuietly(outFile);
                throw e;
            }
            String secret = t.path("token").asText();
            if (outFile != null) {
                writeSecret(outFile, secret, t.path("id").asText());
                ((ObjectNode) t).remove("token");
            }
            if (server.json) {
                if (outFile != null) {
                    ((ObjectNode) t).put("token_file", outFile.toString());
                }
                Cli.printJson(spec, t);
                return;
            }
            PrintWriter out = Cli.out(spec);
            out.printf("created token %s for %s (scope %s%s, %s)%n", t.path("id").asText(), t.path("user").asText(),
                    t.path("scope").asText(), t.path("repos").isEmpty() ? "" : ", repositories " + AccessArgs.joined(t.path("repos")),
                    t.path("expires_at").isTextual() ? "expires " + t.path("expires_at").asText() : "never expires");
            if (outFile != null) {
                out.println("secret written to " + outFile + " (readable by you only); sign in with: strata login --token-file " + outFile);
            } else {
                out.println(secret);
                out.println("warning: this secret is shown only once and cannot be recovered; store it now (or use --out FILE)");
            }
        }

        private static void writeSecret(Path file, String secret, String id) {
            try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
                w.write(secret);
                w.write('\n');
            } catch (IOException e) {
                throw new java.io.UncheckedIOException("token " + id + " was created but its secret could not be written to " + file
                        + " (" + e.getMessage() + "); revoke it with `strata token revoke " + id + "`", e);
            }
        }
    }

    /** Creates an empty file readable and writable by its owner only (0600); refuses a path that exists. */
    static void createSecretFile(Path file) {
        try {
            Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        } catch (FileAlreadyExistsException e) {
            throw new InvalidInputException(file + " already exists; not overwriting it (choose another --out FILE)");
        } catch (IOException e) {
            throw new InvalidInputException("cannot create " + file + ": " + e.getMessage());
        }
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException ignored) {
                // best effort: the file is empty
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true,
            description = {"List tokens (never their secrets).", "",
                    "Yours by default; another user's with --user, everyone's with --all (server admins). Revoked and expired tokens are listed too."})
    static final class List implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

        @ArgGroup(exclusive = true)
        Whose whose;

        static final class Whose {
            @Option(names = "--user", paramLabel = "NAME", description = "List this user's tokens.") String user;
            @Option(names = "--all", description = "List every user's tokens.") boolean all;
        }

        @Override
        public void run() {
            Map<String, String> q = new LinkedHashMap<>();
            if (whose != null) {
                q.put("user", whose.all ? "*" : Names.subject(whose.user));
            }
            JsonNode tokens = server.client().get("/api/v1/tokens" + AccessArgs.query(q));
            if (server.json) {
                Cli.printJson(spec, tokens);
                return;
            }
            PrintWriter out = Cli.out(spec);
            out.printf("%-16s  %-16s %-6s %-8s %-25s %-20s %s%n", "ID", "USER", "SCOPE", "STATUS", "EXPIRES", "LABEL", "REPOSITORIES");
            tokens.forEach(t -> out.printf("%-16s  %-16s %-6s %-8s %-25s %-20s %s%n", t.path("id").asText(), t.path("user").asText(),
                    t.path("scope").asText(), AccessArgs.status(t), AccessArgs.text(t, "expires_at"), AccessArgs.text(t, "label"),
                    t.path("repos").isEmpty() ? "(all)" : AccessArgs.joined(t.path("repos"))));
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = {"Revoke a token by its id, e.g. `strata token revoke 3f2a9c0d4e5b6a71`.", "",
                    "The id is shown by `token list` (and is the part after 'strata_' in the secret). "
                            + "The token is refused from the next request on. Server admins may revoke anyone's token."})
    static final class Revoke implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "ID") String id;

        @Override
        public void run() {
            server.client().delete("/api/v1/tokens/" + StrataClient.q(id));
            if (server.json) {
                Cli.printJson(spec, StrataClient.JSON.createObjectNode().put("id", id).put("revoked", true));
            } else {
                Cli.out(spec).println("revoked token " + id);
            }
        }
    }
}
