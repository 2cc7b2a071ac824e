package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.io.PrintWriter;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ParentCommand;
import picocli.CommandLine.Spec;

@Command(name = "audit", mixinStandardHelpOptions = true,
        description = {"Read the audit trail (one record per API request), or verify it.", "",
                "Every API request is recorded: who, what, on which resource, allowed or denied, HTTP status. "
                        + "Records are numbered in order and hash-chained, so that changes to past records are detected (`strata audit verify`). "
                        + "Server admins read everything; a repository admin may read the records of a repository with --repo. "
                        + "Without --jsonl at most 1000 records come back per call (page with --after).", "",
                "Output: one line per record: seq, time, principal, action, resource, decision, status, detail.", "",
                "  strata audit --repo lab/chimera --since 2026-11-01T00:00:00Z",
                "  strata audit --principal alice --action token.create",
                "  strata audit --jsonl > audit.jsonl     # export: the server's JSON lines",
                "  strata audit verify                    # exit status 7 if broken"},
        subcommands = AuditCommand.Verify.class)
final class AuditCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @ParentCommand Main main;

    @Option(names = "--repo", paramLabel = "OWNER/NAME", description = "Only records about this repository.") String repo;
    @Option(names = "--principal", paramLabel = "USER", description = "Only requests made by this user ('anonymous' for none).") String principal;
    @Option(names = "--action", paramLabel = "ACTION", description = "Only this action, e.g. token.create, repo.create, grant.create, commit.create, file.read.") String action;
    @Option(names = "--since", paramLabel = "INSTANT", description = "Only records at or after this ISO-8601 instant (2026-11-21T10:00:00Z).") String since;
    @Option(names = "--until", paramLabel = "INSTANT", description = "Only records before this ISO-8601 instant.") String until;
    @Option(names = "--after", paramLabel = "SEQ", description = "Only records after this sequence number (to page).") Long after;
    @Option(names = "--limit", paramLabel = "N", description = "At most N records (default 1000 per call; with --jsonl: all).") Integer limit;
    @Option(names = "--jsonl", description = "Stream the matching records as JSON lines, exactly as the server sends them (export).") boolean jsonl;

    @Override
    public Integer call() throws Exception {
        if (jsonl && server.json) {
            throw new ParameterException(spec.commandLine(), "give --json or --jsonl, not both");
        }
        Map<String, Object> q = new LinkedHashMap<>();
        q.put("repo", repo);
        q.put("principal", principal);
        q.put("action", action);
        q.put("since", since);
        q.put("until", until);
        q.put("after", after);
        q.put("limit", limit);
        if (jsonl) {
            q.put("format", "jsonl");
            StrataClient.Streamed r = server.client().stream("/api/v1/audit" + AccessArgs.query(q), null);
            try (InputStream in = r.body()) {
                in.transferTo(main.stdout);
            }
            main.stdout.flush();
            return 0;
        }
        JsonNode records = server.client().get("/api/v1/audit" + AccessArgs.query(q));
        if (server.json) {
            Cli.printJson(spec, records);
            return 0;
        }
        PrintWriter out = Cli.out(spec);
        records.forEach(r -> out.println(line(r)));
        out.flush();
        int page = limit != null ? limit : 1000;
        if (!records.isEmpty() && records.size() >= page) {
            spec.commandLine().getErr().println("(" + records.size() + " records; for more: --after "
                    + records.get(records.size() - 1).path("seq").asLong() + ")");
        }
        return 0;
    }

    /** One record as a line: seq, time, principal, action, resource, decision, status, detail. */
    static String line(JsonNode r) {
        return String.format("%-7d %-27s %-16s %-22s %-32s %-6s %3d %s", r.path("seq").asLong(), r.path("at").asText(),
                r.path("principal").asText(), r.path("action").asText(), AccessArgs.text(r, "resource"), r.path("decision").asText(),
                r.path("status").asInt(), r.path("detail").isTextual() ? r.path("detail").asText() : "").stripTrailing();
    }

    @Command(name = "verify", mixinStandardHelpOptions = true,
            description = {"Check the audit trail's hash chain from the first record to the last (server admins).", "",
                    "Exit status: 0 intact (prints the number of records); " + Cli.EXIT_AUDIT_BROKEN + " broken: a record was changed, "
                            + "removed or inserted (prints the problem and the first bad sequence number); "
                            + "otherwise as for every command (5 server unreachable, 6 not signed in or not allowed, ...)."})
    static final class Verify implements Callable<Integer> {
        @Spec CommandSpec spec;
        @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
        @ParentCommand AuditCommand parent;

        @Override
        public Integer call() {
            // Options given before the word "verify" (strata audit --url X verify) count too.
            server.url = server.url != null ? server.url : parent.server.url;
            server.tokenFile = server.tokenFile != null ? server.tokenFile : parent.server.tokenFile;
            server.json |= parent.server.json;
            JsonNode v = server.client().get("/api/v1/audit/verify");
            boolean ok = v.path("ok").asBoolean(false);
            if (server.json) {
                Cli.printJson(spec, v);
            } else if (ok) {
                Cli.out(spec).println("audit trail intact: " + v.path("records").asLong() + " records");
            } else {
                PrintWriter out = Cli.out(spec);
                out.println("audit trail BROKEN at seq " + v.path("first_bad_seq").asText() + ": " + v.path("problem").asText());
                out.println("(" + v.path("records").asLong() + " records, last seq " + v.path("last_seq").asText() + ")");
            }
            return ok ? 0 : Cli.EXIT_AUDIT_BROKEN;
        }
    }
}
