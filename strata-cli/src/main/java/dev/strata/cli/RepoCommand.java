package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.Visibility;
import dev.strata.core.Names;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

@Command(name = "repo", mixinStandardHelpOptions = true, description = "Create, list and show repositories (owner/name), and set who may read them.",
        subcommands = {RepoCommand.Create.class, RepoCommand.List.class, RepoCommand.Show.class, RepoCommand.SetVisibility.class})
final class RepoCommand {

    @Command(name = "create", mixinStandardHelpOptions = true,
            description = {"Create a repository; you become its admin.", "",
                    "You may create repositories under your own name or a group you belong to (server admins: anywhere), "
                            + "e.g. `strata repo create lab/chimera --visibility internal`."})
    static final class Create implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "OWNER/NAME") String name;
        @Option(names = {"-d", "--description"}, defaultValue = "") String description;
        @Option(names = "--visibility", paramLabel = "VISIBILITY",
                description = "private (default: members only), internal (every signed-in user may read) or public (anyone may read).")
        String visibility;

        @Override
        public void run() {
            ObjectNode body = StrataClient.JSON.createObjectNode().put("name", Names.repo(name)).put("description", description);
            if (visibility != null) {
                body.put("visibility", Visibility.fromWire(visibility).wire());
            }
            JsonNode r = server.client().post("/api/v1/repos", body);
            if (server.json) {
                Cli.printJson(spec, r);
            } else {
                Cli.out(spec).println("created " + r.path("name").asText() + " (" + r.path("visibility").asText("private") + ")");
            }
        }
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "List repositories.")
    static final class List implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

        @Override
        public void run() {
            JsonNode r = server.client().get("/api/v1/repos");
            if (server.json) {
                Cli.printJson(spec, r);
                return;
            }
            r.forEach(n -> Cli.out(spec).println(n.path("name").asText() + "\t" + n.path("description").asText()));
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true, description = "Show a repository with its branches and tags.")
    static final class Show implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(paramLabel = "OWNER/NAME") String name;

        @Override
        public void run() {
            StrataClient c = server.client();
            JsonNode repo = c.get(StrataClient.repoPath(Names.repo(name)));
            JsonNode refs = c.get(StrataClient.repoPath(name) + "/refs");
            if (server.json) {
                ObjectNode n = ((ObjectNode) repo).deepCopy();
                n.set("refs", refs);
                Cli.printJson(spec, n);
                return;
            }
            Cli.out(spec).println(repo.path("name").asText() + "  (" + repo.path("visibility").asText() + ")  " + repo.path("description").asText());
            refs.forEach(r -> Cli.out(spec).printf("  %-6s %-30s %s%n", r.path("kind").asText(), r.path("name").asText(),
                    r.path("commit").asText()));
        }
    }

    @Command(name = "visibility", mixinStandardHelpOptions = true,
            description = {"Set who may read a repository without a role on it (repository admins).", "",
                    "  private   only its members (and version grants): the default",
                    "  internal  every signed-in user",
                    "  public    everyone, without a token", "",
                    "Writing always needs the writer role.", "",
                    "  strata repo visibility lab/chimera internal"})
    static final class SetVisibility implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @Parameters(index = "0", paramLabel = "OWNER/NAME") String name;
        @Parameters(index = "1", paramLabel = "VISIBILITY", description = "private, internal or public.") String visibility;

        @Override
        public void run() {
            Visibility v = Visibility.fromWire(visibility);
            JsonNode r = server.client().put(StrataClient.repoPath(Names.repo(name)) + "/visibility",
                    StrataClient.JSON.createObjectNode().put("visibility", v.wire()));
            if (server.json) {
                Cli.printJson(spec, r);
            } else {
                Cli.out(spec).println(r.path("name").asText(name) + " is now " + r.path("visibility").asText(v.wire()));
            }
        }
    }
}
