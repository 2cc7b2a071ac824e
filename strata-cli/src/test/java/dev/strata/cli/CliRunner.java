package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

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
        int at = 0;
        while (at < all.size() && !all.get(at).contains("/") && !all.get(at).startsWith("-") && !all.get(at).contains("@")
                && at < 2 && isCommandWord(all.get(at))) {
            at++;
        }
        if (!args[0].equals("serve") && !args[0].equals("logout")) {
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

    private static boolean isCommandWord(String s) {
        return List.of("repo", "branch", "retention", "create", "list", "show", "delete", "set", "clear", "push", "pull", "cat",
                "tag", "log", "find", "diff", "stats", "gc", "compact", "lineage").contains(s);
    }
}
