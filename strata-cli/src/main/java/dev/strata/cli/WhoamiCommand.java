package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "whoami", mixinStandardHelpOptions = true, description = "Show the user, token and scope the server sees for your token.")
final class WhoamiCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Override
    public Integer call() {
        JsonNode me = server.client().get("/api/v1/auth/whoami");
        if (server.json) {
            Cli.printJson(spec, me);
            return 0;
        }
        StringBuilder repos = new StringBuilder();
        me.path("repos").forEach(r -> repos.append(repos.isEmpty() ? "" : ", ").append(r.asText()));
        StringBuilder groups = new StringBuilder();
        me.path("groups").forEach(g -> groups.append(groups.isEmpty() ? "" : ", ").append(g.asText()));
        Cli.out(spec).printf("%s%s on %s%n  token %s, scope %s%s%s%n", me.path("user").asText(),
                me.path("admin").asBoolean() ? " (server admin)" : "", server.client().baseUrl(), me.path("token_id").asText(),
                me.path("scope").asText(), repos.isEmpty() ? "" : ", limited to " + repos,
                groups.isEmpty() ? "" : "\n  groups: " + groups);
        return 0;
    }
}
