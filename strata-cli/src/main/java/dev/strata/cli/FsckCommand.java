package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "fsck", mixinStandardHelpOptions = true,
        description = {"Check the catalog against the chunk store, read-only (server admins).", "",
                "Every chunk named by a commit that is not expired must be stored and read back verified (decoded, id "
                        + "checked); every file's manifest must be in the catalog. Lists missing and corrupt chunks with the "
                        + "files that use them. Chunks no live commit names are orphans: not damage, `strata gc` reclaims them.", "",
                "Exit status: 0 consistent; 1 a live chunk is missing or corrupt, or a manifest is missing."})
final class FsckCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Override
    public Integer call() {
        JsonNode r = server.client().post("/api/v1/admin/fsck", StrataClient.JSON.createObjectNode());
        boolean clean = r.path("clean").asBoolean(false);
        if (server.json) {
            Cli.printJson(spec, r);
        } else {
            PrintWriter out = Cli.out(spec);
            out.printf("fsck: %d repositories, %d commits (%d expired, not checked), %d files, %d chunks verified (%s) in %.1f s: %s%n",
                    r.path("repos").asInt(), r.path("commits_checked").asLong(), r.path("commits_expired").asLong(),
                    r.path("files_checked").asLong(), r.path("chunks_verified").asLong(), Cli.human(r.path("bytes_verified").asLong()),
                    r.path("elapsed_ms").asLong() / 1000.0,
                    clean ? "clean" : r.path("chunks_missing").asLong() + " chunks missing, " + r.path("chunks_corrupt").asLong()
                            + " corrupt, " + r.path("manifests_bad").asLong() + " manifests missing or unreadable");
            int shown = 0;
            for (JsonNode p : r.path("problems")) {
                if (shown++ == 20) {
                    out.println("  ... (--json lists up to 1000)");
                    break;
                }
                out.println("  " + p.path("problem").asText().toUpperCase(java.util.Locale.ROOT) + " chunk " + p.path("chunk").asText()
                        + ": " + p.path("reason").asText());
                for (JsonNode ref : p.path("references")) {
                    out.println("    used by " + ref.path("repo").asText() + "@" + shorten(ref.path("commit").asText()) + ":" + ref.path("path").asText());
                }
            }
            for (JsonNode m : r.path("manifest_problems")) {
                out.println("  BAD MANIFEST " + m.path("manifest").asText() + " of " + m.path("repo").asText() + "@"
                        + shorten(m.path("commit").asText()) + ":" + m.path("path").asText() + ": " + m.path("reason").asText());
            }
            if (r.path("orphan_chunks").asLong() > 0) {
                out.printf("  orphans: %d chunks (%s) named by no live commit (strata gc reclaims them)%n",
                        r.path("orphan_chunks").asLong(), Cli.human(r.path("orphan_bytes").asLong()));
            }
            out.flush();
        }
        return clean ? 0 : Cli.EXIT_ERROR;
    }

    private static String shorten(String commit) {
        return commit.length() > 12 ? commit.substring(0, 12) : commit;
    }
}
