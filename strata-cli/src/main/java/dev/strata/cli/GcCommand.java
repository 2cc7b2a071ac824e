package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "gc", mixinStandardHelpOptions = true,
        description = {"Reclaim chunks no branch, tag or retention rule keeps, and rewrite mostly-dead packs.",
                "Uploads in progress are safe: their chunks are kept. Pushes wait while it runs; pulls do not."})
final class GcCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @picocli.CommandLine.Option(names = "--full", description = "Rewrite every pack holding any garbage (default: only packs under 50% live).")
    boolean full;

    @Override
    public Integer call() {
        JsonNode r = server.client().post("/api/v1/admin/gc" + (full ? "?full=true" : ""), StrataClient.JSON.createObjectNode());
        if (server.json) {
            Cli.printJson(spec, r);
        } else {
            Cli.out(spec).printf("gc: %d commits expired, %d packs deleted, %d rewritten, %d chunks dropped, %s freed (%d live chunks)%n",
                    r.path("commits_expired").asInt(), r.path("packs_deleted").asInt(), r.path("packs_rewritten").asInt(),
                    r.path("chunks_dropped").asLong(), Cli.human(r.path("bytes_freed").asLong()), r.path("live_chunks").asLong());
        }
        return 0;
    }
}
