package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "repair", mixinStandardHelpOptions = true,
        description = {"Rebuild lost shards of an erasure-coded store from the other directories, as fast as the disks go (server admins).", "",
                "With --dir (one of the server's --chunk-dirs, exactly as configured): after a disk was replaced by an empty one, "
                        + "or its directory is gone, recreates every shard that belongs there. Without: a full scrub at full speed "
                        + "over every directory. A server with local packs keeps one copy: without --dir this only verifies.", "",
                "Exit status: 0 when everything is whole again; 1 when damage is left (chunks with fewer intact shards than data shards)."})
final class RepairCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Option(names = "--dir", paramLabel = "DIR", description = "The replaced data directory, as the server was given it in --chunk-dirs.")
    String dir;

    @Override
    public Integer call() {
        JsonNode r = server.client().post("/api/v1/admin/repair" + (dir == null ? "" : "?dir=" + StrataClient.q(dir)),
                StrataClient.JSON.createObjectNode());
        if (server.json) {
            Cli.printJson(spec, r);
        } else {
            PrintWriter out = Cli.out(spec);
            out.println("repair (" + (dir == null ? "every directory" : dir) + "; " + r.path("store").asText() + "): "
                    + ScrubCommand.summary(r));
            ScrubCommand.details(out, r);
            out.flush();
        }
        return ScrubCommand.exit(r);
    }
}
