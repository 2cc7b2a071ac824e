package dev.strata.cli;

import dev.strata.service.RepoRev;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "retention", mixinStandardHelpOptions = true,
        description = {"Retention rules per branch: keep the last N commits (plus every tagged one).",
                "Older commits stay in the log, marked expired, once `strata gc` has reclaimed their data."},
        subcommands = {RetentionCommand.Set.class, RetentionCommand.Clear.class, RetentionCommand.Show.class})
final class RetentionCommand {
    @Command(name = "set", mixinStandardHelpOptions = true, description = "Keep the last N commits of a branch.")
    static final class Set implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO@BRANCH") String branch;
        @Option(names = "--keep-last", required = true, paramLabel = "N") int keepLast;

        @Override
        public void run() {
            RepoRev b = BranchCommand.named(branch, "BRANCH");
            server.client().put(StrataClient.repoPath(b.repo()) + "/retention/" + StrataClient.encodePath(b.rev()),
                    StrataClient.JSON.createObjectNode().put("keep_last", keepLast));
            Cli.out(spec).println(b + ": keep the last " + keepLast + " commits");
        }
    }

    @Command(name = "clear", mixinStandardHelpOptions = true, description = "Remove a branch's rule (keep everything).")
    static final class Clear implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO@BRANCH") String branch;

        @Override
        public void run() {
            RepoRev b = BranchCommand.named(branch, "BRANCH");
            server.client().delete(StrataClient.repoPath(b.repo()) + "/retention/" + StrataClient.encodePath(b.rev()));
            Cli.out(spec).println(b + ": no retention rule");
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "List a repository's rules.")
    static final class Show implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO") String repo;

        @Override
        public void run() {
            var rules = server.client().get(StrataClient.repoPath(RepoRev.parse(repo).repo()) + "/retention");
            if (server.json) {
                Cli.printJson(spec, rules);
                return;
            }
            rules.properties().forEach(e -> Cli.out(spec).println(e.getKey() + "\tkeep last " + e.getValue().asInt()));
        }
    }
}
