package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.service.RepoRev;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "show", mixinStandardHelpOptions = true, description = "Show one commit: metadata and files.")
final class ShowCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @Parameters(paramLabel = "REPO@REV") String what;

    @Override
    public Integer call() {
        RepoRev rr = RepoRev.parse(what);
        JsonNode tree = server.client().get(StrataClient.repoPath(rr.repo()) + "/tree?rev=" + StrataClient.q(rr.revOrDefault()));
        if (server.json) {
            Cli.printJson(spec, tree);
            return 0;
        }
        Commits.print(Cli.out(spec), tree.path("commit"));
        JsonNode meta = tree.path("commit").path("metadata");
        meta.properties().forEach(e -> {
            if (!e.getKey().equals("metrics") && !e.getKey().equals("step") && !e.getKey().equals("config")) {
                Cli.out(spec).printf("  %s: %s%n", e.getKey(), e.getValue().isTextual() ? e.getValue().asText() : e.getValue().toString());
            }
        });
        if (meta.has("config")) {
            Cli.out(spec).printf("  config: %s (%d bytes)%n", meta.path("config").path("file").asText(), meta.path("config").path("content").asText().length());
        }
        tree.path("files").forEach(f -> Cli.out(spec).printf("%12s  %s  %s%n", Cli.human(f.path("size").asLong()),
                f.path("sha256").asText().substring(0, 16), f.path("path").asText()));
        return 0;
    }
}
