package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.service.RepoRev;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "stats", mixinStandardHelpOptions = true,
        description = {"Storage of a repository, or of one commit (REPO@REV): logical bytes (every commit in full) vs unique bytes",
                "after dedup vs bytes stored after compression, by codec. For one commit, also what it added to its parent."})
final class StatsCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @Parameters(paramLabel = "REPO[@REV]") String repo;

    @Override
    public Integer call() {
        RepoRev target = RepoRev.parse(repo);
        String query = target.rev() == null ? "" : "?rev=" + StrataClient.q(target.rev());
        JsonNode s = server.client().get(StrataClient.repoPath(target.repo()) + "/stats" + query);
        if (server.json) {
            Cli.printJson(spec, s);
            return 0;
        }
        var out = Cli.out(spec);
        out.printf("%s: %d commits, %d branches, %d tags, %d file versions%n", s.path("repo").asText(), s.path("commits").asInt(),
                s.path("branches").asInt(), s.path("tags").asInt(), s.path("files").asLong());
        out.printf("  logical  %12s%n  unique   %12s  (%d chunks, dedup %.2fx)%n  stored   %12s  (%.1f%% of logical)%n",
                Cli.human(s.path("logical_bytes").asLong()), Cli.human(s.path("unique_bytes").asLong()), s.path("unique_chunks").asLong(),
                s.path("dedup_ratio").asDouble(), Cli.human(s.path("stored_bytes").asLong()), 100 * s.path("stored_ratio").asDouble());
        if (s.has("commit")) {
            out.printf("  commit %s added %d chunks: %s, stored in %s%n", s.path("commit").asText(), s.path("new_chunks").asLong(),
                    Cli.human(s.path("new_bytes").asLong()), Cli.human(s.path("new_stored_bytes").asLong()));
        }
        s.path("by_codec").properties().forEach(e -> out.printf("  %-6s %d chunks, %s -> %s%n", e.getKey(), e.getValue().path("chunks").asLong(),
                Cli.human(e.getValue().path("raw_bytes").asLong()), Cli.human(e.getValue().path("stored_bytes").asLong())));
        return 0;
    }
}
