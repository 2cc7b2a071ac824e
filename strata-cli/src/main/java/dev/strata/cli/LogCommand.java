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

@Command(name = "log", mixinStandardHelpOptions = true, description = "Show the history of a revision, newest first.")
final class LogCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @Parameters(paramLabel = "REPO@REV") String what;
    @Option(names = {"-n", "--limit"}, defaultValue = "100", description = "At most this many commits (default 100).") int limit;

    @Override
    public Integer call() {
        RepoRev rr = RepoRev.parse(what);
        JsonNode log = server.client().get(StrataClient.repoPath(rr.repo()) + "/log?rev=" + StrataClient.q(rr.revOrDefault()) + "&limit=" + limit);
        if (server.json) {
            Cli.printJson(spec, log);
        } else {
            log.forEach(c -> Commits.print(Cli.out(spec), c));
        }
        return 0;
    }
}
