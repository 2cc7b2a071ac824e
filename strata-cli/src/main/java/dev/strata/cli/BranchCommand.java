package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.InvalidInputException;
import dev.strata.service.RepoRev;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "branch", mixinStandardHelpOptions = true, description = "Create, list and delete branches (one per training run, say).",
        subcommands = {BranchCommand.Create.class, BranchCommand.List.class, BranchCommand.Delete.class})
final class BranchCommand {

    static RepoRev named(String s, String what) {
        RepoRev rr = RepoRev.parse(s);
        if (rr.rev() == null) {
            throw new InvalidInputException("expected REPO@" + what + ", got " + s);
        }
        return rr;
    }

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = "Create a branch at a revision, e.g. `strata branch create lab/chimera@run-43 --from lab/chimera@run-42~1`.")
    static final class Create implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO@BRANCH") String branch;
        @Option(names = "--from", required = true, paramLabel = "REPO@REV", description = "Where the branch starts (same repository).") String from;

        @Override
        public void run() {
            RepoRev b = named(branch, "BRANCH");
            RepoRev f = RepoRev.parse(from);
            if (!f.repo().equals(b.repo())) {
                throw new InvalidInputException("--from must be in " + b.repo() + " (use lineage to link repositories)");
            }
            ObjectNode body = StrataClient.JSON.createObjectNode().put("name", b.rev()).put("kind", "branch").put("from", f.revOrDefault());
            JsonNode r = server.client().post(StrataClient.repoPath(b.repo()) + "/refs", body);
            if (server.json) {
                Cli.printJson(spec, r);
            } else {
                Cli.out(spec).println("branch " + b + " at " + r.path("commit").asText());
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List branches and tags of a repository.")
    static final class List implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO") String repo;

        @Override
        public void run() {
            JsonNode refs = server.client().get(StrataClient.repoPath(RepoRev.parse(repo).repo()) + "/refs");
            if (server.json) {
                Cli.printJson(spec, refs);
                return;
            }
            refs.forEach(r -> Cli.out(spec).printf("%-6s %-30s %s%n", r.path("kind").asText(), r.path("name").asText(), r.path("commit").asText()));
        }
    }

    @Command(name = "delete", mixinStandardHelpOptions = true,
            description = "Delete a branch or tag. Its commits stay listed until `strata gc` reclaims data no other ref keeps.")
    static final class Delete implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO@NAME") String ref;

        @Override
        public void run() {
            RepoRev r = named(ref, "NAME");
            server.client().delete(StrataClient.repoPath(r.repo()) + "/refs/" + StrataClient.encodePath(r.rev()));
            if (!server.json) {
                Cli.out(spec).println("deleted " + r);
            }
        }
    }
}
