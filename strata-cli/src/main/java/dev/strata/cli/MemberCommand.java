package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.catalog.RepoRole;
import dev.strata.service.AccessControl;
import dev.strata.service.RepoRev;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "member", mixinStandardHelpOptions = true,
        description = {"Who holds which role on a repository (repository admins).", "",
                "Roles, each including the ones before it:",
                "  reader  read every version",
                "  writer  also push, create branches and tags",
                "  admin   also manage members, visibility, protected branches and grants", "",
                "A SUBJECT is user:NAME, group:NAME or a bare user name. A token's scope still caps what it may do (a read token of an admin only reads).", "",
                "  strata member set lab/chimera alice writer",
                "  strata member set lab/chimera group:ml-team reader",
                "  strata member remove lab/chimera user:alice",
                "  strata member list lab/chimera"},
        subcommands = {MemberCommand.List.class, MemberCommand.Set.class, MemberCommand.Remove.class})
final class MemberCommand {

    /** The members path of {@code repo} for one subject: .../members/{user|group}/{name}. */
    static String subjectPath(String repo, String subject) {
        AccessControl.Subject s = AccessControl.Subject.parse(subject);
        return StrataClient.repoPath(RepoRev.parse(repo).repo()) + "/members/" + s.kind().wire() + "/" + StrataClient.q(s.name());
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List the roles held on a repository.")
    static final class List implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "REPO") String repo;

        @Override
        public void run() {
            JsonNode members = server.client().get(StrataClient.repoPath(RepoRev.parse(repo).repo()) + "/members");
            if (server.json) {
                Cli.printJson(spec, members);
                return;
            }
            members.forEach(m -> Cli.out(spec).printf("%-30s %s%n", m.path("kind").asText() + ":" + m.path("name").asText(),
                    m.path("role").asText()));
        }
    }

    @Command(name = "set", mixinStandardHelpOptions = true,
            description = {"Give a user or group a role (replacing the one it had).", "",
                    "  strata member set lab/chimera group:ml-team writer",
                    "  strata member set lab/chimera alice admin"})
    static final class Set implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "REPO") String repo;
        @Parameters(index = "1", paramLabel = "SUBJECT", description = "user:NAME, group:NAME or a user name.") String subject;
        @Parameters(index = "2", paramLabel = "ROLE", description = "reader, writer or admin.") String role;

        @Override
        public void run() {
            RepoRole r = RepoRole.fromWire(role);
            JsonNode m = server.client().put(subjectPath(repo, subject), StrataClient.JSON.createObjectNode().put("role", r.wire()));
            if (server.json) {
                Cli.printJson(spec, m);
            } else {
                Cli.out(spec).println(m.path("kind").asText() + ":" + m.path("name").asText() + " is " + m.path("role").asText()
                        + " of " + RepoRev.parse(repo).repo());
            }
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true,
            description = {"Take a user's or group's role away, e.g. `strata member remove lab/chimera alice`.", "",
                    "They may still read through the repository's visibility, a group's role or a version grant."})
    static final class Remove implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "REPO") String repo;
        @Parameters(index = "1", paramLabel = "SUBJECT", description = "user:NAME, group:NAME or a user name.") String subject;

        @Override
        public void run() {
            server.client().delete(subjectPath(repo, subject));
            AccessControl.Subject s = AccessControl.Subject.parse(subject);
            if (server.json) {
                Cli.printJson(spec, StrataClient.JSON.createObjectNode().put("kind", s.kind().wire()).put("name", s.name()).putNull("role"));
            } else {
                Cli.out(spec).println(s + " no longer has a role on " + RepoRev.parse(repo).repo());
            }
        }
    }
}
