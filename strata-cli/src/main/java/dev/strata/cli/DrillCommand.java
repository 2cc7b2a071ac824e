package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.ContentHash;
import dev.strata.core.Names;
import dev.strata.service.RepoRev;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * A restore drill (docs/decisions/0013-replication.md): restore a revision from a replica into a
 * scratch directory with the ordinary pull, then check every file's size and SHA-256 against the
 * tree the replica lists, and optionally that the primary lists the same commit and tree.
 */
@Command(name = "drill", mixinStandardHelpOptions = true,
        description = {"Restore drill: pull REPO@REV from a replica into a scratch directory and verify every file's",
                "SHA-256 against the tree listing; reports time, bytes, files and the result.", "",
                "Exit status: 0 when the restore is bit-identical, 1 when it is not or it failed."})
final class DrillCommand implements Callable<Integer> {
    @Spec CommandSpec spec;

    @Parameters(paramLabel = "REPO@REV", description = "What to restore (default revision: main).")
    String what;

    @Option(names = "--from", required = true, paramLabel = "URL", description = "The replica (any Strata server) to restore from.")
    String from;

    @Option(names = "--token-file", paramLabel = "FILE",
            description = "Token for the replica (default: $STRATA_TOKEN, then the token saved by `strata login`).")
    Path tokenFile;

    @Option(names = "--scratch", paramLabel = "DIR",
            description = "Restore into DIR, which must be empty or absent, and keep it (default: a temporary directory, removed afterwards).")
    Path scratch;

    @Option(names = "--compare-primary", paramLabel = "URL",
            description = "Also check that the server at URL (the primary) lists the same commit and tree for REPO@REV.")
    String primary;

    @Option(names = "--primary-token-file", paramLabel = "FILE", description = "Token for --compare-primary (default: as --token-file).")
    Path primaryTokenFile;

    @Option(names = "--threads", description = "Parallel chunk fetches (default: 2 x cores).")
    int threads = 2 * Runtime.getRuntime().availableProcessors();

    @Option(names = "--json", description = "Print machine-readable JSON (stable snake_case keys).")
    boolean json;

    @Override
    public Integer call() throws Exception {
        RepoRev rr = RepoRev.parse(what);
        Path dir = prepareScratch();
        ObjectNode report = StrataClient.JSON.createObjectNode().put("repo", rr.repo()).put("rev", rr.revOrDefault())
                .put("replica", from).put("scratch", dir.toString());
        boolean ok;
        try (StrataClient replica = new StrataClient(from, token(tokenFile))) {
            ok = drill(replica, rr, dir, report);
        } catch (Exception e) { // unreachable, not found, corrupt, I/O: the drill failed; say so in the report
            report.put("result", "failed").put("error", e.getMessage() == null ? e.toString() : e.getMessage());
            ok = false;
        } finally {
            if (scratch == null) {
                deleteTree(dir);
                report.put("scratch_kept", false);
            } else {
                report.put("scratch_kept", true);
            }
        }
        print(report);
        return ok ? 0 : Cli.EXIT_ERROR;
    }

    private boolean drill(StrataClient replica, RepoRev rr, Path dir, ObjectNode report) throws Exception {
        long t0 = System.nanoTime();
        PullOperation.Result pulled = new PullOperation(replica, threads, false).run(rr.repo(), rr.revOrDefault(), dir, !json);
        long t1 = System.nanoTime();
        JsonNode tree = replica.get(StrataClient.repoPath(Names.repo(rr.repo())) + "/tree?rev=" + StrataClient.q(pulled.commit()));
        ArrayNode mismatches = StrataClient.JSON.createArrayNode();
        long bytes = 0;
        int files = 0;
        for (JsonNode f : tree.path("files")) {
            String path = Names.path(f.path("path").asText());
            Path file = dir.resolve(path);
            files++;
            if (!Files.isRegularFile(file)) {
                mismatches.addObject().put("path", path).put("problem", "missing");
                continue;
            }
            long size = Files.size(file);
            bytes += size;
            String sha = ContentHash.sha256Of(file).hex();
            if (size != f.path("size").asLong() || !sha.equals(f.path("sha256").asText())) {
                mismatches.addObject().put("path", path).put("problem", "content differs").put("expected_sha256", f.path("sha256").asText())
                        .put("actual_sha256", sha).put("expected_size", f.path("size").asLong()).put("actual_size", size);
            }
        }
        long t2 = System.nanoTime();
        double seconds = (t2 - t0) / 1e9;
        report.put("commit", pulled.commit()).put("files", files).put("bytes", bytes)
                .put("restore_seconds", (t1 - t0) / 1e9).put("verify_seconds", (t2 - t1) / 1e9).put("seconds", seconds)
                .put("mb_per_second", seconds > 0 ? bytes / 1e6 / seconds : 0);
        report.set("mismatches", mismatches);
        boolean same = mismatches.isEmpty();
        if (primary != null) {
            same &= comparePrimary(rr, pulled.commit(), tree, report);
        }
        report.put("result", same ? "ok" : "mismatch");
        return same;
    }

    /** Same commit id and the same (path, size, sha256) list on the primary: metadata only, no bytes move. */
    private boolean comparePrimary(RepoRev rr, String commit, JsonNode replicaTree, ObjectNode report) {
        ObjectNode c = report.putObject("primary");
        c.put("url", primary);
        try (StrataClient p = new StrataClient(primary, token(primaryTokenFile != null ? primaryTokenFile : tokenFile))) {
            JsonNode tree = p.get(StrataClient.repoPath(Names.repo(rr.repo())) + "/tree?rev=" + StrataClient.q(rr.revOrDefault()));
            String theirs = tree.path("commit").path("id").asText();
            boolean same = theirs.equals(commit) && files(tree).equals(files(replicaTree));
            c.put("commit", theirs).put("same", same);
            return same;
        } catch (RuntimeException e) {
            c.put("same", false).put("error", e.getMessage());
            return false;
        }
    }

    private static String files(JsonNode tree) {
        StringBuilder b = new StringBuilder();
        for (JsonNode f : tree.path("files")) {
            b.append(f.path("path").asText()).append('\0').append(f.path("size").asLong()).append('\0').append(f.path("sha256").asText()).append('\n');
        }
        return b.toString();
    }

    private void print(ObjectNode r) {
        if (json) {
            Cli.printJson(spec, r);
            return;
        }
        var out = Cli.out(spec);
        String result = r.path("result").asText();
        if ("failed".equals(result)) {
            out.printf("drill %s from %s: FAILED: %s%n", what, from, r.path("error").asText());
            return;
        }
        out.printf("drill %s from %s -> %s: %d files, %s in %.2f s (restore %.2f s, verify %.2f s, %.1f MB/s): %s%n", what, from,
                r.path("commit").asText(), r.path("files").asInt(), Cli.human(r.path("bytes").asLong()), r.path("seconds").asDouble(),
                r.path("restore_seconds").asDouble(), r.path("verify_seconds").asDouble(), r.path("mb_per_second").asDouble(),
                "ok".equals(result) ? "bit-identical" : "MISMATCH");
        for (JsonNode m : r.path("mismatches")) {
            out.printf("  %s: %s%n", m.path("path").asText(), m.path("problem").asText());
        }
        if (r.has("primary")) {
            JsonNode p = r.path("primary");
            out.printf("primary %s: %s%n", p.path("url").asText(), p.path("same").asBoolean() ? "same commit and tree"
                    : p.has("error") ? "not compared: " + p.path("error").asText() : "DIFFERENT (commit " + p.path("commit").asText() + ")");
        }
        if (r.path("scratch_kept").asBoolean()) {
            out.println("restored files kept in " + r.path("scratch").asText());
        }
    }

    private Path prepareScratch() throws IOException {
        if (scratch == null) {
            return Files.createTempDirectory("strata-drill-");
        }
        if (Files.exists(scratch)) {
            try (Stream<Path> s = Files.list(scratch)) {
                if (s.findAny().isPresent()) {
                    throw new dev.strata.core.InvalidInputException("scratch directory " + scratch
                            + " is not empty; a drill restores into an empty directory so nothing local is reused");
                }
            }
        }
        Files.createDirectories(scratch);
        return scratch;
    }

    private static String token(Path file) {
        if (file != null) {
            return Cli.readTokenFile(file);
        }
        String env = System.getenv("STRATA_TOKEN");
        return env != null ? env : Cli.userConfig().getProperty("token");
    }


    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(Comparator.reverseOrder()).forEach(p -> {
                try {
                    Files.deleteIfExists(p);
                } catch (IOException ignored) {
                    // best effort: a temporary directory
                }
            });
        } catch (IOException ignored) {
            // best effort
        }
    }
}
