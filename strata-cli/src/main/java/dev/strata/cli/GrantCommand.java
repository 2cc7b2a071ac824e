package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.service.AccessControl;
import dev.strata.service.RepoRev;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "grant", mixinStandardHelpOptions = true,
        description = {"Version grants: let a user or group read one version of a repository (repository admins).", "",
                "Shares one version with someone who otherwise cannot see the repository, e.g. a released model with a partner. "
                        + "A grant names a tag or commit; a branch is resolved to its commit now (the grant does not move with it). "
                        + "The grantee names the version by that tag or the full commit id and sees nothing else of the repository. "
                        + "SUBJECT is user:NAME, group:NAME or a bare user name.", "",
                "  strata grant create lab/chimera@v3 bob",
                "  strata grant create lab/chimera@v3 group:partners --expires 7d",
                "  strata grant list lab/chimera",
                "  strata grant revoke lab/chimera g3f2a9c0d4e5b6a71"},
        subcommands = {GrantCommand.Create.class, GrantCommand.List.class, GrantCommand.Revoke.class})
final class GrantCommand {

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Grant read access to one version.", "",
                    "  strata grant create lab/chimera@v3 bob",
                    "  strata grant create lab/chimera@v3 group:partners --expires 7d"})
    static final class Create implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "REPO@REV", description = "The version: a tag (best), a commit id or a branch.") String what;
        @Parameters(index = "1", paramLabel = "SUBJECT", description = "user:NAME, group:NAME or a user name.") String subject;
        @Option(names = "--expires", paramLabel = "WHEN",
                description = "Expiry: a duration (7d, 12h, 30m) or an ISO-8601 instant (2026-12-31T00:00:00Z). Default: never.")
        String expires;

        @Override
        public void run() {
            RepoRev rr = BranchCommand.named(what, "REV");
            AccessControl.Subject.parse(subject);
            ObjectNode body = StrataClient.JSON.createObjectNode().put("rev", rr.rev()).put("to", subject);
            AccessArgs.putExpiry(body, expires);
            JsonNode g = server.client().post(StrataClient.repoPath(rr.repo()) + "/grants", body);
            if (server.json) {
                Cli.printJson(spec, g);
                return;
            }
            Cli.out(spec).printf("grant %s: %s may read %s@%s (commit %s)%s%n", g.path("id").asText(), g.path("to").asText(), rr.repo(),
                    g.path("tag").isTextual() ? g.path("tag").asText() : g.path("commit").asText(), g.path("commit").asText(),
                    g.path("expires_at").isTextual() ? " until " + g.path("expires_at").asText() : "");
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List a repository's grants, revoked and expired ones included.")
    static final class List implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO") String repo;

        @Override
        public void run() {
            JsonNode grants = server.client().get(StrataClient.repoPath(RepoRev.parse(repo).repo()) + "/grants");
            if (server.json) {
                Cli.printJson(spec, grants);
                return;
            }
            PrintWriter out = Cli.out(spec);
            out.printf("%-17s  %-24s %-16s %-12s %-8s %-25s %s%n", "ID", "TO", "TAG", "COMMIT", "STATUS", "EXPIRES", "GRANTED BY");
            grants.forEach(g -> out.printf("%-17s  %-24s %-16s %-12s %-8s %-25s %s%n", g.path("id").asText(), g.path("to").asText(),
                    AccessArgs.text(g, "tag"), abbrev(g.path("commit").asText()), AccessArgs.status(g), AccessArgs.text(g, "expires_at"),
                    g.path("granted_by").asText()));
        }

        private static String abbrev(String commit) {
            return commit.length() > 12 ? commit.substring(0, 12) : commit;
        }
    }

    @Command(name = "revoke", mixinStandardHelpOptions = true,
            description = "Revoke a grant by its id (from `grant list`); it stops working from the next request on.")
    static final class Revoke implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "REPO") String repo;
        @Parameters(index = "1", paramLabel = "GRANT_ID") String id;

        @Override
        public void run() {
            String r = RepoRev.parse(repo).repo();
            server.client().delete(StrataClient.repoPath(r) + "/grants/" + StrataClient.q(id));
            if (server.json) {
                Cli.printJson(spec, StrataClient.JSON.createObjectNode().put("id", id).put("repo", r).put("revoked", true));
            } else {
                Cli.out(spec).println("revoked grant " + id + " on " + r);
            }
        }
    }
}
