package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.Names;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "group", mixinStandardHelpOptions = true,
        description = {"Create groups of users and manage their members (server admins only).", "",
                "A group can hold a role on a repository (`strata member set REPO group:NAME ROLE`), be allowed to push to a protected branch, receive a version grant, and own repositories (its members may create GROUP/...).", "",
                "  strata group create ml-team",
                "  strata group add ml-team alice",
                "  strata group remove ml-team alice",
                "  strata group list"},
        subcommands = {GroupCommand.Create.class, GroupCommand.List.class, GroupCommand.Add.class, GroupCommand.Remove.class})
final class GroupCommand {

    @Command(name = "create", mixinStandardHelpOptions = true, description = "Create an (empty) group.")
    static final class Create implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "NAME") String name;

        @Override
        public void run() {
            ObjectNode body = StrataClient.JSON.createObjectNode().put("name", Names.subject(name));
            JsonNode g = server.client().post("/api/v1/groups", body);
            if (server.json) {
                Cli.printJson(spec, g);
            } else {
                Cli.out(spec).println("created group " + g.path("name").asText());
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List groups and their members.")
    static final class List implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

        @Override
        public void run() {
            JsonNode groups = server.client().get("/api/v1/groups");
            if (server.json) {
                Cli.printJson(spec, groups);
                return;
            }
            groups.forEach(g -> Cli.out(spec).printf("%-24s %s%n", g.path("name").asText(), AccessArgs.joined(g.path("members"))));
        }
    }

    @Command(name = "add", mixinStandardHelpOptions = true, description = "Add a user to a group, e.g. `strata group add ml-team alice`.")
    static final class Add implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "GROUP") String group;
        @Parameters(index = "1", paramLabel = "USER") String user;

        @Override
        public void run() {
            server.client().put(memberPath(group, user), StrataClient.JSON.createObjectNode());
            report(spec, server, group, user, true);
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Remove a user from a group, e.g. `strata group remove ml-team alice`.")
    static final class Remove implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "GROUP") String group;
        @Parameters(index = "1", paramLabel = "USER") String user;

        @Override
        public void run() {
            server.client().delete(memberPath(group, user));
            report(spec, server, group, user, false);
        }
    }

    private static String memberPath(String group, String user) {
        return "/api/v1/groups/" + StrataClient.q(Names.subject(group)) + "/members/" + StrataClient.q(Names.subject(user));
    }

    private static void report(CommandSpec spec, Cli.ServerOptions server, String group, String user, boolean member) {
        if (server.json) {
            Cli.printJson(spec, StrataClient.JSON.createObjectNode().put("group", group).put("user", user).put("member", member));
        } else {
            Cli.out(spec).println(member ? "added " + user + " to group " + group : "removed " + user + " from group " + group);
        }
    }
}
