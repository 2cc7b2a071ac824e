package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.service.RepoRev;
import java.util.ArrayList;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "protect", mixinStandardHelpOptions = true,
        description = {"Protected branches: who may push, and that nobody deletes them (repository admins).", "",
                "Only repository admins and the allowed pushers may push to a branch matching a protected pattern, and nobody may delete it. "
                        + "A PATTERN names branches: '*' matches within one '/'-separated part, '**' across parts (main, release/*, prod/**). "
                        + "An allowed pusher is user:NAME, group:NAME or a bare user name. Adding a pattern that exists replaces its allowed pushers.", "",
                "  strata protect add lab/chimera main --allow group:release --allow user:alice",
                "  strata protect add lab/chimera 'release/*'",
                "  strata protect list lab/chimera",
                "  strata protect remove lab/chimera 'release/*'"},
        subcommands = {ProtectCommand.Add.class, ProtectCommand.List.class, ProtectCommand.Remove.class})
final class ProtectCommand {

    private static String path(String repo) {
        return StrataClient.repoPath(RepoRev.parse(repo).repo()) + "/protections";
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Protect the branches matching PATTERN.")
    static final class Add implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "REPO") String repo;
        @Parameters(index = "1", paramLabel = "PATTERN") String pattern;
        @Option(names = "--allow", paramLabel = "SUBJECT",
                description = "Also allow this user:NAME / group:NAME to push (repeatable). Default: repository admins only.")
        java.util.List<String> allow = new ArrayList<>();

        @Override
        public void run() {
            ObjectNode body = StrataClient.JSON.createObjectNode().put("pattern", pattern);
            ArrayNode a = body.putArray("allow");
            allow.forEach(a::add);
            JsonNode p = server.client().put(path(repo), body);
            if (server.json) {
                Cli.printJson(spec, p);
            } else {
                Cli.out(spec).println("protected " + RepoRev.parse(repo).repo() + " branches '" + p.path("pattern").asText()
                        + "'; pushers: repository admins" + (p.path("allow").isEmpty() ? "" : ", " + AccessArgs.joined(p.path("allow"))));
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List a repository's protected branch patterns.")
    static final class List implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO") String repo;

        @Override
        public void run() {
            JsonNode ps = server.client().get(path(repo));
            if (server.json) {
                Cli.printJson(spec, ps);
                return;
            }
            ps.forEach(p -> Cli.out(spec).printf("%-30s pushers: admins%s%n", p.path("pattern").asText(),
                    p.path("allow").isEmpty() ? "" : ", " + AccessArgs.joined(p.path("allow"))));
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove a protection (the exact PATTERN it was added with).")
    static final class Remove implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "REPO") String repo;
        @Parameters(index = "1", paramLabel = "PATTERN") String pattern;

        @Override
        public void run() {
            server.client().delete(path(repo) + "?pattern=" + StrataClient.q(pattern));
            if (server.json) {
                Cli.printJson(spec, StrataClient.JSON.createObjectNode().put("pattern", pattern).put("protected", false));
            } else {
                Cli.out(spec).println(RepoRev.parse(repo).repo() + " branches '" + pattern + "' are no longer protected");
            }
        }
    }
}
