package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;

/** Runs the real CLI (picocli, HTTP client) in-process against a server URL, capturing output and exit status. */
final class CliRunner {
    private final String url;
    private final java.nio.file.Path tokenFile;

    /** A CLI without a token (anonymous). */
    CliRunner(String url) {
        this(url, null);
    }

    /** A CLI that sends the token in {@code tokenFile} (null: none). */
    CliRunner(String url, java.nio.file.Path tokenFile) {
        this.url = url;
        this.tokenFile = tokenFile;
    }

    /** The same server as another user. */
    CliRunner as(java.nio.file.Path otherTokenFile) {
        return new CliRunner(url, otherTokenFile);
    }

    record Run(int exit, String out, String err) {
        JsonNode json() throws IOException {
            return StrataClient.JSON.readTree(out);
        }
    }

    Run run(String... args) {
        java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
        StringWriter err = new StringWriter();
        List<String> all = new ArrayList<>(List.of(args));
        // --url is an option of every subcommand that talks to a server: insert it after the command words.
        // At most two (command, subcommand); the second counts only as a subcommand of the first, so an
        // argument that happens to spell a command word ("public", "admin", "show") is never skipped.
        int at = 0;
        while (at < all.size() && at < 2 && isCommandWord(at == 0 ? null : all.get(0), all.get(at))) {
            at++;
        }
        // drill names its server itself (--from, the replica) and takes that server's token; restore-catalog is local.
        if (!args[0].equals("serve") && !args[0].equals("logout") && !args[0].equals("drill") && !args[0].equals("restore-catalog")) {
            all.add(at, "--url=" + url);
            if (tokenFile != null) {
                all.add(at, "--token-file=" + tokenFile);
            }
        }
        int exit = Main.run(out, new PrintWriter(err, true), all.toArray(String[]::new));
        return new Run(exit, out.toString(java.nio.charset.StandardCharsets.UTF_8), err.toString());
    }

    /** Runs and requires exit status 0. */
    Run ok(String... args) {
        Run r = run(args);
        if (r.exit() != 0) {
            throw new AssertionError("strata " + String.join(" ", args) + " exited " + r.exit() + "\nstdout: " + r.out() + "\nstderr: " + r.err());
        }
        return r;
    }

    /** Every command and, for commands that have them, their subcommands (Main's subcommands). */
    static final Map<String, Set<String>> COMMANDS = Map.ofEntries(
            Map.entry("repo", Set.of("create", "list", "show", "visibility")),
            Map.entry("branch", Set.of("create", "list", "delete")),
            Map.entry("retention", Set.of("set", "clear", "show")),
            Map.entry("user", Set.of("create", "list", "disable")),
            Map.entry("group", Set.of("create", "list", "add", "remove")),
            Map.entry("token", Set.of("create", "list", "revoke")),
            Map.entry("member", Set.of("list", "set", "remove")),
            Map.entry("protect", Set.of("add", "list", "remove")),
            Map.entry("grant", Set.of("create", "list", "revoke")),
            Map.entry("audit", Set.of("verify")),
            Map.entry("replication", Set.of("status")), Map.entry("drill", Set.of()),
            Map.entry("scrub", Set.of("status")),
            Map.entry("serve", Set.of()), Map.entry("login", Set.of()),
            Map.entry("logout", Set.of()), Map.entry("whoami", Set.of()),
            Map.entry("push", Set.of()), Map.entry("pull", Set.of()),
            Map.entry("cat", Set.of()), Map.entry("tag", Set.of()),
            Map.entry("log", Set.of()), Map.entry("show", Set.of()),
            Map.entry("find", Set.of()), Map.entry("lineage", Set.of()),
            Map.entry("diff", Set.of()), Map.entry("stats", Set.of()),
            Map.entry("gc", Set.of()), Map.entry("compact", Set.of()),
            Map.entry("fsck", Set.of()), Map.entry("repair", Set.of()),
            Map.entry("backup", Set.of()), Map.entry("restore-catalog", Set.of()));

    /** Whether {@code word} is a command (command null) or a subcommand of {@code command}. */
    static boolean isCommandWord(String command, String word) {
        return command == null ? COMMANDS.containsKey(word) : COMMANDS.getOrDefault(command, Set.of()).contains(word);
    }
}
