package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.service.RepoRev;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "lineage", mixinStandardHelpOptions = true,
        description = {"Show what a revision derives from (base model, fine-tune of, adapter of, ...) and what derives from it.",
                "Links are recorded at push time with --lineage RELATION=REPO@REV."})
final class LineageCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @Parameters(paramLabel = "REPO@REV") String what;

    @Override
    public Integer call() {
        RepoRev rr = RepoRev.parse(what);
        JsonNode l = server.client().get(StrataClient.repoPath(rr.repo()) + "/lineage?rev=" + StrataClient.q(rr.revOrDefault()));
        if (server.json) {
            Cli.printJson(spec, l);
            return 0;
        }
        var out = Cli.out(spec);
        for (String direction : new String[] {"derives_from", "derived"}) {
            l.path(direction).forEach(n -> out.printf("%s@%s  %s  %s@%s%n", n.path("repo").asText(), n.path("commit").asText().substring(0, 12),
                    n.path("relation").asText(), n.path("target_repo").asText(), n.path("target_commit").asText().substring(0, 12)));
        }
        if (l.path("derives_from").isEmpty() && l.path("derived").isEmpty()) {
            out.println("no lineage recorded for " + rr);
        }
        return 0;
    }
}
