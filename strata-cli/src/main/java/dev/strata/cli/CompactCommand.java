package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "compact", mixinStandardHelpOptions = true,
        description = {"Compress chunks that were stored raw (pushes to a local server send them raw), now.",
                "The server also does this by itself after 30 s without requests, stopping when one arrives."})
final class CompactCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Override
    public Integer call() {
        JsonNode r = server.client().post("/api/v1/admin/compact", StrataClient.JSON.createObjectNode());
        if (server.json) {
            Cli.printJson(spec, r);
        } else {
            Cli.out(spec).printf("compact: %d packs rewritten, %d chunks compressed, %s -> %s%n", r.path("packs_rewritten").asInt(),
                    r.path("chunks_compressed").asLong(), Cli.human(r.path("bytes_before").asLong()), Cli.human(r.path("bytes_after").asLong()));
        }
        return 0;
    }
}
