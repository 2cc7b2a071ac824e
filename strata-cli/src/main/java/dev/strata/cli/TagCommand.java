package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.Names;
import dev.strata.service.RepoRev;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "tag", mixinStandardHelpOptions = true,
        description = {"Tag a revision: `strata tag lab/chimera@run-42 v1` names the current head of run-42 'v1'.",
                "Tags never move; tagged commits survive retention rules. Delete with `strata branch delete REPO@TAG`."})
final class TagCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @Parameters(index = "0", paramLabel = "REPO@REV") String what;
    @Parameters(index = "1", paramLabel = "TAG") String tag;

    @Override
    public Integer call() {
        RepoRev rr = RepoRev.parse(what);
        ObjectNode body = StrataClient.JSON.createObjectNode().put("name", Names.ref(tag)).put("kind", "tag").put("from", rr.revOrDefault());
        JsonNode r = server.client().post(StrataClient.repoPath(rr.repo()) + "/refs", body);
        if (server.json) {
            Cli.printJson(spec, r);
        } else {
            Cli.out(spec).println("tag " + rr.repo() + "@" + tag + " -> " + r.path("commit").asText());
        }
        return 0;
    }
}
