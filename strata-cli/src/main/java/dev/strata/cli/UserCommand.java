package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.Names;
import java.io.PrintWriter;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "user", mixinStandardHelpOptions = true,
        description = {"Create, list and disable user accounts (server admins only).", "",
                "A user has no password: they sign in with an API token. Create the user, then issue a token for them and hand over the secret:", "",
                "  strata user create alice",
                "  strata token create --user alice --scope write --out alice.token",
                "  strata user list",
                "  strata user disable alice"},
        subcommands = {UserCommand.Create.class, UserCommand.List.class, UserCommand.Disable.class})
final class UserCommand {

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a user, e.g. `strata user create alice`.", "",
                    "Names use letters, digits, '.', '_' and '-' (like repository owners). With --admin the user is a server admin: every repository, users, groups, the audit trail."})
    static final class Create implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "NAME") String name;
        @Option(names = "--admin", description = "Make the user a server admin.") boolean admin;

        @Override
        public void run() {
            ObjectNode body = StrataClient.JSON.createObjectNode().put("name", Names.subject(name)).put("admin", admin);
            JsonNode u = server.client().post("/api/v1/users", body);
            if (server.json) {
                Cli.printJson(spec, u);
                return;
            }
            PrintWriter out = Cli.out(spec);
            out.println("created user " + u.path("name").asText() + (u.path("admin").asBoolean() ? " (server admin)" : ""));
            out.println("give them a token: strata token create --user " + u.path("name").asText() + " --out "
                    + u.path("name").asText() + ".token");
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List users with their groups.")
    static final class List implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

        @Override
        public void run() {
            JsonNode users = server.client().get("/api/v1/users");
            if (server.json) {
                Cli.printJson(spec, users);
                return;
            }
            PrintWriter out = Cli.out(spec);
            out.printf("%-24s %-9s %-25s %s%n", "NAME", "STATUS", "CREATED", "GROUPS");
            users.forEach(u -> out.printf("%-24s %-9s %-25s %s%n", u.path("name").asText() + (u.path("admin").asBoolean() ? " (admin)" : ""),
                    u.path("disabled").asBoolean() ? "disabled" : "active", u.path("created_at").asText(), AccessArgs.joined(u.path("groups"))));
        }
    }

    @Command(name = "disable", mixinStandardHelpOptions = true,
            description = {"Disable a user: every token of theirs is refused from the next request on.", "",
                    "Their repositories, roles and audit records stay. You cannot disable yourself."})
    static final class Disable implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "NAME") String name;

        @Override
        public void run() {
            server.client().delete("/api/v1/users/" + StrataClient.q(Names.subject(name)));
            if (server.json) {
                Cli.printJson(spec, StrataClient.JSON.createObjectNode().put("name", name).put("disabled", true));
            } else {
                Cli.out(spec).println("disabled user " + name + "; their tokens no longer work");
            }
        }
    }
}
