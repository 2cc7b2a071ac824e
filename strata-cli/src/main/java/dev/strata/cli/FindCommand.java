package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.service.RepoRev;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "find", mixinStandardHelpOptions = true,
        description = {"Find commits by metadata, e.g.:",
                "  strata find lab/chimera --branch run-42 --best val/acc",
                "  strata find lab/chimera --branch run-42 --step 1000",
                "  strata find lab/chimera --latest",
                "  strata find lab/chimera-lora --derived-from lab/chimera@v1"})
final class FindCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @Parameters(paramLabel = "REPO") String repo;
    @Option(names = "--branch", description = "Only commits in this branch's history.") String branch;
    @Option(names = "--step", description = "Only commits at this training step.") Long step;
    @Option(names = "--latest", description = "Only the newest match.") boolean latest;
    @Option(names = "--best", paramLabel = "METRIC", description = "The match with the highest METRIC (lowest with --min).") String best;
    @Option(names = "--min", description = "With --best: lower is better (losses).") boolean min;
    @Option(names = "--derived-from", paramLabel = "REPO[@REV]", description = "Only commits whose lineage points at REPO (at REV if given).") String derivedFrom;
    @Option(names = {"-n", "--limit"}, defaultValue = "100") int limit;

    @Override
    public Integer call() {
        RepoRev rr = RepoRev.parse(repo);
        StringBuilder q = new StringBuilder("?limit=" + limit);
        if (branch != null) q.append("&branch=").append(StrataClient.q(branch));
        if (step != null) q.append("&step=").append(step);
        if (latest) q.append("&latest=true");
        if (best != null) q.append("&best=").append(StrataClient.q(best));
        if (min) q.append("&min=true");
        if (derivedFrom != null) q.append("&derived_from=").append(StrataClient.q(derivedFrom));
        JsonNode hits = server.client().get(StrataClient.repoPath(rr.repo()) + "/find" + q);
        if (server.json) {
            Cli.printJson(spec, hits);
        } else if (hits.isEmpty()) {
            Cli.out(spec).println("no matching commit");
            return Cli.EXIT_NOT_FOUND;
        } else {
            hits.forEach(c -> Commits.print(Cli.out(spec), c));
        }
        return 0;
    }
}
