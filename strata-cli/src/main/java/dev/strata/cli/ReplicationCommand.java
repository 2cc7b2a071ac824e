package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

@Command(name = "replication", mixinStandardHelpOptions = true,
        description = {"Replication of this server to its replica (serve --replica-url): every commit and ref move is",
                "streamed asynchronously, in order, from a persistent log, and the access state (users, groups,",
                "token hashes, repository rules) whenever it changes. Server administrators only."},
        subcommands = {ReplicationCommand.Status.class})
final class ReplicationCommand {
    @Command(name = "status", mixinStandardHelpOptions = true,
            description = {"Where replication stands: log entries not yet on the replica (lag), the age of the oldest,",
                    "the last success and the last error; whether the access state is on the replica, and its error."})
    static final class Status implements Runnable {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

        @Override
        public void run() {
            JsonNode s = server.client().get("/api/v1/admin/replication");
            if (server.json) {
                Cli.printJson(spec, s);
                return;
            }
            var out = Cli.out(spec);
            if (s.path("replica_url").isNull()) {
                out.printf("no replica configured (replication log at seq %d)%n", s.path("last_seq").asLong());
                return;
            }
            long lag = s.path("lag_entries").asLong();
            out.printf("replica %s: %s (replicated seq %d of %d)%n", s.path("replica_url").asText(),
                    lag == 0 ? "up to date" : String.format("%d entries behind, oldest %.1f s old", lag, s.path("lag_seconds").asDouble()),
                    s.path("replicated_seq").asLong(), s.path("last_seq").asLong());
            if (!s.path("last_success_at").isNull()) {
                out.println("last success: " + s.path("last_success_at").asText());
            }
            if (!s.path("last_error").isNull()) {
                out.println("last error (" + s.path("last_error_at").asText() + "): " + s.path("last_error").asText());
            }
            if (s.path("access_pending").asBoolean()) {
                out.println("access state: changes not yet on the replica since " + s.path("access_pending_since").asText("?")
                        + (s.path("access_synced_at").isNull() ? "" : " (last sent " + s.path("access_synced_at").asText() + ")"));
            } else if (!s.path("access_synced_at").isNull()) {
                out.println("access state: up to date (sent " + s.path("access_synced_at").asText() + ")");
            }
            if (!s.path("access_error").isNull()) {
                out.println("access error (" + s.path("access_error_at").asText() + "): " + s.path("access_error").asText());
            }
        }
    }
}
