package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "scrub", mixinStandardHelpOptions = true,
        description = {"Verify every stored byte now and repair what redundancy allows (server admins).", "",
                "Reads every chunk back (every shard of an erasure-coded store), checks checksums and chunk ids, and "
                        + "rewrites damaged or missing shards of stripes that still have enough intact ones. A local pack store "
                        + "keeps one copy: damage is reported, not repaired. The server also scrubs in the background "
                        + "(--scrub-rate-mb, default 50 MB/s, a pass a day); a scrub now stops a background pass and runs in its place.", "",
                "Exit status: 0 when the pass completed and left no damage; 1 when damage is left (not repaired, or chunks "
                        + "unrecoverable) or the pass stopped early.", "",
                "  strata scrub                 # as fast as the disks go",
                "  strata scrub --rate-mb 100   # at most 100 MB/s",
                "  strata scrub status          # progress, the last pass, the schedule"},
        subcommands = ScrubCommand.Status.class)
final class ScrubCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Option(names = "--rate-mb", paramLabel = "MB/S", description = "Read at most this many MB (10^6 bytes) per second (default: unlimited).")
    Double rateMb;

    @Override
    public Integer call() {
        if (rateMb != null && !(rateMb >= 0)) {
            throw new picocli.CommandLine.ParameterException(spec.commandLine(), "--rate-mb must be 0 or more");
        }
        JsonNode r = server.client().post("/api/v1/admin/scrub" + (rateMb == null ? "" : "?rate_mb=" + rateMb),
                StrataClient.JSON.createObjectNode());
        if (server.json) {
            Cli.printJson(spec, r);
        } else {
            PrintWriter out = Cli.out(spec);
            out.println("scrub: " + summary(r));
            details(out, r);
            out.flush();
        }
        return exit(r);
    }

    static int exit(JsonNode report) {
        return report.path("clean").asBoolean(false) && report.path("complete").asBoolean(false) ? 0 : Cli.EXIT_ERROR;
    }

    /** "1234 chunks (512.0 MiB) checked in 10.2 s (52.3 MB/s): 3 damaged, 3 repaired, 0 chunks unrecoverable". */
    static String summary(JsonNode r) {
        String s = String.format("%d chunks (%s read) checked in %.1f s (%.1f MB/s): %d damaged, %d repaired, %d chunks unrecoverable",
                r.path("chunks_checked").asLong(), Cli.human(r.path("bytes_checked").asLong()), r.path("elapsed_ms").asLong() / 1000.0,
                r.path("mb_per_s").asDouble(), r.path("damaged").asLong(), r.path("repaired").asLong(), r.path("chunks_unrecoverable").asLong());
        if (!r.path("complete").asBoolean(true)) {
            s += String.format(" (stopped early: %d of %d chunks)", r.path("chunks_checked").asLong(), r.path("chunks_total").asLong());
        }
        return s;
    }

    /** Damage left on disk and unrecoverable chunks (at most 20 lines each), then what was repaired (at most 5 lines). */
    static void details(PrintWriter out, JsonNode r) {
        int shown = 0;
        long left = r.path("damaged").asLong() - r.path("repaired").asLong();
        for (JsonNode d : r.path("damage")) {
            if (d.path("repaired").asBoolean()) {
                continue;
            }
            if (shown++ == 20) {
                out.println("  ... (" + (left - 20) + " more damaged; --json lists up to 1000)");
                break;
            }
            out.println("  DAMAGED " + piece(d) + ": " + d.path("reason").asText());
        }
        shown = 0;
        for (JsonNode u : r.path("unrecoverable")) {
            if (shown++ == 20) {
                out.println("  ... (" + (r.path("chunks_unrecoverable").asLong() - 20) + " more unrecoverable; --json lists up to 1000)");
                break;
            }
            out.println("  UNRECOVERABLE chunk " + u.path("chunk").asText() + " (pack " + u.path("pack").asText() + "): " + u.path("reason").asText());
        }
        shown = 0;
        for (JsonNode d : r.path("damage")) {
            if (!d.path("repaired").asBoolean()) {
                continue;
            }
            if (shown++ == 5) {
                out.println("  ... (" + (r.path("repaired").asLong() - 5) + " more repaired)");
                break;
            }
            out.println("  repaired " + piece(d) + ": " + d.path("reason").asText());
        }
        r.path("repaired_by_location").properties().forEach(e -> out.println("  rewritten in " + e.getKey() + ": " + e.getValue().asLong()));
    }

    private static String piece(JsonNode d) {
        return (d.path("chunk").isTextual() ? "chunk " + d.path("chunk").asText() : "pack " + d.path("pack").asText())
                + (d.has("shard") ? " shard " + d.path("shard").asInt() : "");
    }

    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"The running scrub's progress, the last pass and the background schedule (server admins).", "",
                    "Exit status: 0, or 1 when the last pass left damage."})
    static final class Status implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @ParentCommand ScrubCommand parent;

        @Override
        public Integer call() {
            // Options given before the word "status" (strata scrub --url X status) count too.
            server.url = server.url != null ? server.url : parent.server.url;
            server.tokenFile = server.tokenFile != null ? server.tokenFile : parent.server.tokenFile;
            server.json |= parent.server.json;
            JsonNode s = server.client().get("/api/v1/admin/scrub");
            JsonNode last = s.path("last");
            if (server.json) {
                Cli.printJson(spec, s);
            } else {
                PrintWriter out = Cli.out(spec);
                out.println("store: " + s.path("store").asText());
                JsonNode cur = s.path("current");
                if (s.path("running").asBoolean() && cur.isObject()) {
                    long total = cur.path("bytes_total").asLong();
                    out.printf("running (%s, %s): %d of %d chunks, %s of %s (%.0f%%), %d damaged, %d repaired so far%n",
                            cur.path("trigger").asText(), rate(cur.path("rate_mb").asDouble()), cur.path("chunks_checked").asLong(),
                            cur.path("chunks_total").asLong(), Cli.human(cur.path("bytes_checked").asLong()), Cli.human(total),
                            total == 0 ? 100.0 : 100.0 * cur.path("bytes_checked").asLong() / total,
                            cur.path("damaged").asLong(), cur.path("repaired").asLong());
                } else {
                    out.println("not running");
                }
                if (last.isObject()) {
                    out.println("last pass (" + last.path("trigger").asText() + ", " + rate(last.path("rate_mb").asDouble())
                            + ", started " + last.path("started_at").asText() + "): " + summary(last));
                    details(out, last);
                } else {
                    out.println("no pass yet");
                }
                JsonNode b = s.path("background");
                out.println(b.path("rate_mb").asDouble() == 0 ? "background: off"
                        : "background: " + rate(b.path("rate_mb").asDouble()) + ", a pass every " + b.path("interval_hours").asDouble()
                                + " h; next " + (b.path("next_at").isTextual() ? b.path("next_at").asText() : "-"));
                out.flush();
            }
            return last.isObject() && !last.path("clean").asBoolean(true) ? Cli.EXIT_ERROR : 0;
        }

        private static String rate(double mb) {
            return mb == 0 ? "unlimited" : mb + " MB/s";
        }
    }
}
