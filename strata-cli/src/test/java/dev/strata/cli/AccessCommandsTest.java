package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * The access-control commands against a stub HTTP server that records what they send and
 * answers with canned JSON in the shapes of AccessRoutes/JsonViews: the methods, paths, query
 * strings and bodies on the wire, the handling of token secrets, and exit statuses.
 */
class AccessCommandsTest {
    @TempDir Path tmp;

    record Request(String method, String uri, String body) {}

    private HttpServer http;
    private final List<Request> requests = new CopyOnWriteArrayList<>();
    /** "METHOD /path" (no query) → status and body. */
    private final Map<String, Object[]> replies = new ConcurrentHashMap<>();
    private CliRunner cli;

    @BeforeEach
    void start() throws IOException {
        http = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        http.createContext("/", ex -> {
            String body = new String(ex.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
            requests.add(new Request(ex.getRequestMethod(), ex.getRequestURI().getRawPath()
                    + (ex.getRequestURI().getRawQuery() == null ? "" : "?" + ex.getRequestURI().getRawQuery()), body));
            Object[] r = replies.getOrDefault(ex.getRequestMethod() + " " + ex.getRequestURI().getRawPath(),
                    new Object[] {404, "{\"error\":{\"code\":\"not_found\",\"message\":\"no stub\"}}"});
            int status = (int) r[0];
            byte[] out = ((String) r[1]).getBytes(StandardCharsets.UTF_8);
            if (status == 204) {
                ex.sendResponseHeaders(204, -1);
            } else {
                ex.sendResponseHeaders(status, out.length);
                try (OutputStream o = ex.getResponseBody()) {
                    o.write(out);
                }
            }
            ex.close();
        });
        http.start();
        cli = new CliRunner("http://127.0.0.1:" + http.getAddress().getPort());
    }

    @AfterEach
    void stop() {
        http.stop(0);
    }

    private void reply(String methodAndPath, int status, String json) {
        replies.put(methodAndPath, new Object[] {status, json});
    }

    private Request only() {
        assertEquals(1, requests.size(), () -> "requests: " + requests);
        return requests.getFirst();
    }

    private static JsonNode json(String s) throws IOException {
        return StrataClient.JSON.readTree(s);
    }

    private static final String TOKEN = "{\"id\":\"3f2a9c0d4e5b6a71\",\"user\":\"alice\",\"label\":\"ci\",\"scope\":\"write\","
            + "\"created_at\":\"2026-01-01T00:00:00Z\",\"repos\":[\"lab/chimera\"],\"expires_at\":\"2026-04-01T00:00:00Z\",\"revoked_at\":null,"
            + "\"token\":\"strata_3f2a9c0d4e5b6a71_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0\"}";

    @Test
    void tokenCreateSendsItsOptionsAndPrintsTheSecretOnceOnItsOwnLine() throws IOException {
        reply("POST /api/v1/tokens", 201, TOKEN);
        CliRunner.Run r = cli.ok("token", "create", "--label", "ci", "--scope", "write", "--repo", "lab/chimera", "--expires", "90d",
                "--user", "alice");
        Request q = only();
        assertEquals("POST", q.method());
        assertEquals("/api/v1/tokens", q.uri());
        assertEquals(json("{\"label\":\"ci\",\"scope\":\"write\",\"repos\":[\"lab/chimera\"],\"expires_in\":\"90d\",\"user\":\"alice\"}"),
                json(q.body()));
        String secret = json(TOKEN).path("token").asText();
        assertTrue(r.out().lines().anyMatch(l -> l.equals(secret)), r.out());
        assertTrue(r.out().contains("shown only once"), r.out());

        requests.clear();
        cli.ok("token", "create", "--expires", "2026-12-31T00:00:00Z");
        assertEquals(json("{\"expires_at\":\"2026-12-31T00:00:00Z\"}"), json(only().body()));
    }

    @Test
    void tokenCreateWithOutWritesAPrivateFileAndNeverPrintsTheSecret() throws IOException {
        reply("POST /api/v1/tokens", 201, TOKEN);
        Path file = tmp.resolve("ci.token");
        CliRunner.Run r = cli.ok("token", "create", "--out", file.toString());
        String secret = json(TOKEN).path("token").asText();
        assertEquals(secret + "\n", Files.readString(file));
        assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(file)));
        assertFalse(r.out().contains(secret), r.out());
        assertEquals(secret, Cli.readTokenFile(file), "usable with --token-file");

        CliRunner.Run j = cli.ok("token", "create", "--out", tmp.resolve("b.token").toString(), "--json");
        assertFalse(j.out().contains(secret), j.out());
        assertEquals("3f2a9c0d4e5b6a71", j.json().path("id").asText());

        // An existing file is refused before any token is created.
        requests.clear();
        CliRunner.Run again = cli.run("token", "create", "--out", file.toString());
        assertEquals(2, again.exit(), again.err());
        assertTrue(requests.isEmpty(), "no token created: " + requests);
        assertEquals(secret + "\n", Files.readString(file), "left as it was");

        // A refused request leaves no empty file behind.
        reply("POST /api/v1/tokens", 403, "{\"error\":{\"code\":\"forbidden\",\"message\":\"no\"}}");
        Path none = tmp.resolve("none.token");
        assertEquals(Cli.EXIT_DENIED, cli.run("token", "create", "--out", none.toString()).exit());
        assertFalse(Files.exists(none));
    }

    @Test
    void tokenListAndRevoke() throws IOException {
        reply("GET /api/v1/tokens", 200, "[" + TOKEN.replaceAll(",\"token\":\"[^\"]*\"", "") + "]");
        reply("DELETE /api/v1/tokens/3f2a9c0d4e5b6a71", 204, "");
        CliRunner.Run r = cli.ok("token", "list");
        assertTrue(r.out().contains("3f2a9c0d4e5b6a71") && r.out().contains("lab/chimera"), r.out());
        cli.ok("token", "list", "--all");
        cli.ok("token", "list", "--user", "bob");
        assertEquals(2, cli.run("token", "list", "--all", "--user", "bob").exit(), "--all and --user exclude each other");
        cli.ok("token", "revoke", "3f2a9c0d4e5b6a71");
        assertEquals(List.of("GET /api/v1/tokens", "GET /api/v1/tokens?user=*", "GET /api/v1/tokens?user=bob",
                "DELETE /api/v1/tokens/3f2a9c0d4e5b6a71"), requests.stream().map(q -> q.method() + " " + q.uri()).toList());
    }

    @Test
    void usersAndGroups() throws IOException {
        reply("POST /api/v1/users", 201, "{\"name\":\"alice\",\"admin\":true,\"disabled\":false,\"created_at\":\"2026-01-01T00:00:00Z\",\"groups\":[]}");
        reply("GET /api/v1/users", 200, "[{\"name\":\"alice\",\"admin\":false,\"disabled\":true,\"created_at\":\"2026-01-01T00:00:00Z\",\"groups\":[\"ml\"]}]");
        reply("DELETE /api/v1/users/alice", 204, "");
        reply("POST /api/v1/groups", 201, "{\"name\":\"ml\"}");
        reply("GET /api/v1/groups", 200, "[{\"name\":\"ml\",\"members\":[\"alice\",\"bob\"]}]");
        reply("PUT /api/v1/groups/ml/members/alice", 204, "");
        reply("DELETE /api/v1/groups/ml/members/alice", 204, "");
        assertTrue(cli.ok("user", "create", "alice", "--admin").out().contains("created user alice (server admin)"));
        assertTrue(cli.ok("user", "list").out().contains("disabled"));
        cli.ok("user", "disable", "alice");
        cli.ok("group", "create", "ml");
        assertTrue(cli.ok("group", "list").out().contains("alice, bob"));
        cli.ok("group", "add", "ml", "alice");
        cli.ok("group", "remove", "ml", "alice");
        assertEquals(List.of("POST /api/v1/users {\"name\":\"alice\",\"admin\":true}", "GET /api/v1/users ", "DELETE /api/v1/users/alice ",
                        "POST /api/v1/groups {\"name\":\"ml\"}", "GET /api/v1/groups ", "PUT /api/v1/groups/ml/members/alice {}",
                        "DELETE /api/v1/groups/ml/members/alice "),
                requests.stream().map(q -> q.method() + " " + q.uri() + " " + q.body()).toList());
        assertEquals(2, cli.run("user", "create", "no/slash").exit(), "names are checked before sending");
    }

    @Test
    void repositoryAccessSettings() throws IOException {
        String repo = "{\"name\":\"lab/chimera\",\"description\":\"\",\"created_at\":\"2026-01-01T00:00:00Z\",\"visibility\":\"public\"}";
        reply("POST /api/v1/repos", 201, repo);
        reply("PUT /api/v1/repos/lab/chimera/visibility", 200, repo);
        reply("PUT /api/v1/repos/lab/chimera/members/group/ml", 200, "{\"kind\":\"group\",\"name\":\"ml\",\"role\":\"writer\"}");
        reply("PUT /api/v1/repos/lab/chimera/members/user/bob", 200, "{\"kind\":\"user\",\"name\":\"bob\",\"role\":\"admin\"}");
        reply("DELETE /api/v1/repos/lab/chimera/members/user/bob", 204, "");
        reply("GET /api/v1/repos/lab/chimera/members", 200, "[{\"kind\":\"group\",\"name\":\"ml\",\"role\":\"writer\"}]");
        reply("PUT /api/v1/repos/lab/chimera/protections", 200, "{\"pattern\":\"release/*\",\"allow\":[\"user:alice\",\"group:ml\"]}");
        reply("GET /api/v1/repos/lab/chimera/protections", 200, "[{\"pattern\":\"release/*\",\"allow\":[]}]");
        reply("DELETE /api/v1/repos/lab/chimera/protections", 204, "");

        cli.ok("repo", "create", "lab/chimera", "--visibility", "public");
        // "public" and "admin" are values here, not command words: --url must still land after "repo visibility".
        assertTrue(cli.ok("repo", "visibility", "lab/chimera", "public").out().contains("lab/chimera is now public"));
        assertEquals(2, cli.run("repo", "visibility", "lab/chimera", "secret").exit(), "checked before sending");
        cli.ok("member", "set", "lab/chimera", "group:ml", "writer");
        cli.ok("member", "set", "lab/chimera", "bob", "admin");
        cli.ok("member", "remove", "lab/chimera", "user:bob");
        assertTrue(cli.ok("member", "list", "lab/chimera").out().contains("group:ml"));
        assertEquals(2, cli.run("member", "set", "lab/chimera", "team:ml", "writer").exit());
        assertEquals(2, cli.run("member", "set", "lab/chimera", "bob", "owner").exit());
        cli.ok("protect", "add", "lab/chimera", "release/*", "--allow", "user:alice", "--allow", "group:ml");
        cli.ok("protect", "list", "lab/chimera");
        cli.ok("protect", "remove", "lab/chimera", "release/*");
        assertEquals(List.of(
                "POST /api/v1/repos {\"name\":\"lab/chimera\",\"description\":\"\",\"visibility\":\"public\"}",
                "PUT /api/v1/repos/lab/chimera/visibility {\"visibility\":\"public\"}",
                "PUT /api/v1/repos/lab/chimera/members/group/ml {\"role\":\"writer\"}",
                "PUT /api/v1/repos/lab/chimera/members/user/bob {\"role\":\"admin\"}",
                "DELETE /api/v1/repos/lab/chimera/members/user/bob ",
                "GET /api/v1/repos/lab/chimera/members ",
                "PUT /api/v1/repos/lab/chimera/protections {\"pattern\":\"release/*\",\"allow\":[\"user:alice\",\"group:ml\"]}",
                "GET /api/v1/repos/lab/chimera/protections ",
                "DELETE /api/v1/repos/lab/chimera/protections?pattern=release%2F* "),
                requests.stream().map(q -> q.method() + " " + q.uri() + " " + q.body()).toList());
    }

    @Test
    void grants() throws IOException {
        reply("POST /api/v1/repos/lab/chimera/grants", 201, "{\"id\":\"g0123456789abcdef\",\"repo\":\"lab/chimera\",\"tag\":\"v3\","
                + "\"commit\":\"" + "a".repeat(40) + "\",\"to\":\"user:bob\",\"granted_by\":\"admin\",\"created_at\":\"2026-01-01T00:00:00Z\","
                + "\"expires_at\":\"2026-01-08T00:00:00Z\",\"revoked_at\":null}");
        reply("GET /api/v1/repos/lab/chimera/grants", 200, "[]");
        reply("DELETE /api/v1/repos/lab/chimera/grants/g0123456789abcdef", 204, "");
        CliRunner.Run r = cli.ok("grant", "create", "lab/chimera@v3", "bob", "--expires", "7d");
        assertTrue(r.out().contains("user:bob may read lab/chimera@v3"), r.out());
        cli.ok("grant", "list", "lab/chimera");
        cli.ok("grant", "revoke", "lab/chimera", "g0123456789abcdef");
        assertEquals(2, cli.run("grant", "create", "lab/chimera", "bob").exit(), "a revision is required");
        assertEquals(List.of(
                "POST /api/v1/repos/lab/chimera/grants {\"rev\":\"v3\",\"to\":\"bob\",\"expires_in\":\"7d\"}",
                "GET /api/v1/repos/lab/chimera/grants ",
                "DELETE /api/v1/repos/lab/chimera/grants/g0123456789abcdef "),
                requests.stream().map(q -> q.method() + " " + q.uri() + " " + q.body()).toList());
    }

    private static final String RECORD = "{\"seq\":7,\"at\":\"2026-11-21T10:00:00Z\",\"principal\":\"alice\",\"token_id\":\"3f2a9c0d4e5b6a71\","
            + "\"client\":\"127.0.0.1\",\"action\":\"grant.create\",\"resource\":\"lab/chimera@v3\",\"decision\":\"allow\",\"status\":201,"
            + "\"detail\":\"grant g1 to user:bob\",\"prev_hash\":\"00\",\"hash\":\"11\"}";

    @Test
    void auditQueriesAndExports() throws IOException {
        reply("GET /api/v1/audit", 200, "[" + RECORD + "]");
        CliRunner.Run r = cli.ok("audit", "--repo", "lab/chimera", "--principal", "alice", "--action", "grant.create",
                "--since", "2026-11-01T00:00:00Z", "--until", "2026-12-01T00:00:00Z", "--after", "5", "--limit", "10");
        assertEquals("GET /api/v1/audit?repo=lab%2Fchimera&principal=alice&action=grant.create&since=2026-11-01T00%3A00%3A00Z"
                + "&until=2026-12-01T00%3A00%3A00Z&after=5&limit=10", requests.getFirst().method() + " " + requests.getFirst().uri());
        String line = r.out().strip();
        for (String part : new String[] {"7", "2026-11-21T10:00:00Z", "alice", "grant.create", "lab/chimera@v3", "allow", "201", "grant g1 to user:bob"}) {
            assertTrue(line.contains(part), line);
        }
        assertEquals(1, r.out().lines().count());

        requests.clear();
        String lines = RECORD + "\n" + RECORD.replace("\"seq\":7", "\"seq\":8") + "\n";
        reply("GET /api/v1/audit", 200, lines);
        CliRunner.Run export = cli.ok("audit", "--jsonl");
        assertEquals(lines, export.out(), "JSON lines pass through unchanged");
        assertEquals("/api/v1/audit?format=jsonl", only().uri());
        assertEquals(2, cli.run("audit", "--jsonl", "--json").exit());
    }

    @Test
    void auditVerifyExitStatus() throws IOException {
        reply("GET /api/v1/audit/verify", 200, "{\"ok\":true,\"records\":42,\"last_seq\":42}");
        CliRunner.Run ok = cli.ok("audit", "verify");
        assertEquals("audit trail intact: 42 records", ok.out().strip());
        reply("GET /api/v1/audit/verify", 200, "{\"ok\":false,\"records\":42,\"last_seq\":42,\"first_bad_seq\":17,\"problem\":\"hash mismatch\"}");
        CliRunner.Run bad = cli.run("audit", "verify");
        assertEquals(Cli.EXIT_AUDIT_BROKEN, bad.exit());
        assertTrue(bad.out().contains("17") && bad.out().contains("hash mismatch"), bad.out());
        CliRunner.Run badJson = cli.run("audit", "verify", "--json");
        assertEquals(Cli.EXIT_AUDIT_BROKEN, badJson.exit());
        assertEquals(17, badJson.json().path("first_bad_seq").asInt());
        assertTrue(requests.stream().allMatch(q -> q.uri().equals("/api/v1/audit/verify")), requests::toString);
    }

    /** The test runner's table of command words is Main's command tree: nothing missing, nothing extra. */
    @Test
    void cliRunnerKnowsEveryCommandWord() {
        CommandLine main = new CommandLine(new Main());
        Main.addSubcommands(main, new String[0]);
        Map<String, Set<String>> actual = new java.util.HashMap<>();
        main.getSubcommands().forEach((name, sub) -> {
            if (!name.equals("help") && !sub.getCommandSpec().usageMessage().hidden()) {
                actual.put(name, Set.copyOf(sub.getSubcommands().keySet()));
            }
        });
        assertEquals(actual, CliRunner.COMMANDS);
    }

    @Test
    void auditIsBothACommandAndTheParentOfVerify() {
        String[] args = {"audit", "--repo", "lab/chimera", "--limit", "5"};
        CommandLine main = new CommandLine(new Main());
        Main.addSubcommands(main, args);
        List<CommandLine> chain = main.parseArgs(args).asCommandLineList();
        assertEquals("audit", chain.getLast().getCommandName());
        args = new String[] {"audit", "verify", "--json"};
        main = new CommandLine(new Main());
        Main.addSubcommands(main, args);
        chain = main.parseArgs(args).asCommandLineList();
        assertEquals("verify", chain.getLast().getCommandName());
    }
}
