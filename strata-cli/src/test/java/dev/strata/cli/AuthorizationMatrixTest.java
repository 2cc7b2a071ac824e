package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Roles × operations × resources against a real server process: every cell asserts the exact
 * status. Principals: anonymous; frank (signed in, no access); bob (granted lab/chimera@v3
 * only); dave (reader through group "readers"); carol (writer); alice (repository admin,
 * created the repository as a member of group "lab"); alice's read-scoped token; root (the
 * bootstrap server admin). lab/chimera is private with {@code main} protected (no allowed
 * pushers); lab/secret is private to root; lab/open is public.
 */
class AuthorizationMatrixTest {
    @TempDir static Path tmp;
    static ServerProcess server;
    static HttpCalls root;
    static Map<String, HttpCalls> as = new LinkedHashMap<>();
    static String siblingCommit;
    static final String C = "/api/v1/repos/lab/chimera";

    static final List<String> PRINCIPALS = List.of("anon", "frank", "bob", "dave", "carol", "alice", "alice_read", "root");

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start(tmp.resolve("data"), "256m", "--auth-failure-limit", "1000");
        root = new HttpCalls(server.url(), server.adminToken());
        for (String u : List.of("alice", "bob", "carol", "dave", "frank", "gina")) {
            root.ok(201, "POST", "/api/v1/users", "{\"name\":\"" + u + "\"}");
        }
        root.ok(201, "POST", "/api/v1/groups", "{\"name\":\"lab\"}");
        root.ok(201, "POST", "/api/v1/groups", "{\"name\":\"readers\"}");
        root.ok(204, "PUT", "/api/v1/groups/lab/members/alice", null);
        root.ok(204, "PUT", "/api/v1/groups/readers/members/dave", null);
        as.put("anon", new HttpCalls(server.url(), null));
        as.put("root", root);
        for (String u : List.of("alice", "bob", "carol", "dave", "frank")) {
            as.put(u, new HttpCalls(server.url(), token(u, u.equals("alice") ? "admin" : "write")));
        }
        as.put("alice_read", new HttpCalls(server.url(), token("alice", "read")));

        // alice creates the repository under her group's namespace and fills it through the real CLI.
        HttpCalls alice = as.get("alice");
        alice.ok(201, "POST", "/api/v1/repos", "{\"name\":\"lab/chimera\"}");
        Path aliceToken = tmp.resolve("alice.token");
        Files.writeString(aliceToken, token("alice", "admin"));
        CliRunner cli = new CliRunner(server.url(), aliceToken);
        Path ckpt = tmp.resolve("ckpt");
        Files.createDirectories(ckpt);
        Files.write(ckpt.resolve("weights.bin"), TestData.bf16(1, 1 << 20));
        cli.ok("push", ckpt.toString(), "lab/chimera@main", "-m", "v3");
        cli.ok("tag", "lab/chimera@main", "v3");
        Files.write(ckpt.resolve("weights.bin"), TestData.bf16(2, 1 << 20));
        siblingCommit = cli.ok("push", ckpt.toString(), "lab/chimera@run-42", "-m", "experiment", "--json").json()
                .path("commit").path("id").asText();
        alice.ok(200, "PUT", C + "/protections", "{\"pattern\":\"main\",\"allow\":[]}");
        alice.ok(200, "PUT", C + "/members/user/carol", "{\"role\":\"writer\"}");
        alice.ok(200, "PUT", C + "/members/group/readers", "{\"role\":\"reader\"}");
        alice.ok(201, "POST", C + "/grants", "{\"rev\":\"v3\",\"to\":\"user:bob\"}");

        root.ok(201, "POST", "/api/v1/repos", "{\"name\":\"lab/secret\"}");
        root.ok(201, "POST", "/api/v1/repos", "{\"name\":\"lab/open\",\"visibility\":\"public\"}");
    }

    static String token(String user, String scope) throws Exception {
        return root.ok(201, "POST", "/api/v1/tokens", "{\"user\":\"" + user + "\",\"scope\":\"" + scope + "\"}").path("token").asText();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    /** One operation: how to call it, and the expected status per principal (in {@link #PRINCIPALS} order). */
    record Row(String name, String method, String path, String body, int... expected) {}

    static String mainHead() throws Exception {
        return root.ok(200, "GET", C + "/commit?rev=main", null).path("id").asText();
    }

    @Test
    void everyRoleGetsExactlyTheRightStatusForEveryOperation() throws Exception {
        List<Row> rows = List.of(
                //                                                                           anon frank bob dave carol alice a_read root
                new Row("repo info", "GET", C, null,                                            401, 404, 200, 200, 200, 200, 200, 200),
                new Row("tree of granted tag", "GET", C + "/tree?rev=v3", null,                 401, 404, 200, 200, 200, 200, 200, 200),
                new Row("file of granted tag", "GET", C + "/files/weights.bin?rev=v3", null,     401, 404, 200, 200, 200, 200, 200, 200),
                new Row("chunks of granted tag", "GET", C + "/chunks/weights.bin?rev=v3", null,  401, 404, 200, 200, 200, 200, 200, 200),
                new Row("ungranted branch", "GET", C + "/tree?rev=run-42", null,                 401, 404, 404, 200, 200, 200, 200, 200),
                new Row("sibling commit by id", "GET", C + "/commit?rev=" + siblingCommit, null, 401, 404, 404, 200, 200, 200, 200, 200),
                new Row("granted tag's ancestor", "GET", C + "/commit?rev=v3~1", null,           401, 404, 404, 404, 404, 404, 404, 404),
                new Row("list branches", "GET", C + "/refs", null,                               401, 404, 403, 200, 200, 200, 200, 200),
                new Row("log", "GET", C + "/log?rev=main", null,                                 401, 404, 403, 200, 200, 200, 200, 200),
                new Row("stats", "GET", C + "/stats", null,                                      401, 404, 403, 200, 200, 200, 200, 200),
                new Row("start upload", "POST", C + "/uploads", "{}",                            401, 404, 403, 403, 201, 201, 403, 201),
                new Row("tag", "POST", C + "/refs", "{\"kind\":\"tag\",\"name\":\"t-%s\",\"from\":\"main\"}",
                                                                                                 401, 404, 403, 403, 201, 201, 403, 201),
                new Row("commit to protected main", "POST", C + "/commits",
                        "{\"branch\":\"main\",\"parent\":\"%h\",\"message\":\"m\",\"files\":[],\"deletes\":[]}",
                                                                                                 401, 404, 403, 403, 403, 201, 403, 201),
                new Row("delete protected main", "DELETE", C + "/refs/main", null,               401, 404, 403, 403, 403, 403, 403, 403),
                new Row("grant", "POST", C + "/grants", "{\"rev\":\"v3\",\"to\":\"gina\"}",      401, 404, 403, 403, 403, 201, 403, 201),
                new Row("list grants", "GET", C + "/grants", null,                               401, 404, 403, 403, 403, 200, 403, 200),
                new Row("set role", "PUT", C + "/members/user/gina",  "{\"role\":\"reader\"}",   401, 404, 403, 403, 403, 200, 403, 200),
                new Row("repository audit", "GET", "/api/v1/audit?repo=lab/chimera", null,       401, 403, 403, 403, 403, 200, 403, 200),
                new Row("server audit", "GET", "/api/v1/audit", null,                            401, 403, 403, 403, 403, 403, 403, 200),
                new Row("verify audit", "GET", "/api/v1/audit/verify", null,                     401, 403, 403, 403, 403, 403, 403, 200),
                new Row("gc", "POST", "/api/v1/admin/gc", null,                                  401, 403, 403, 403, 403, 403, 403, 200),
                new Row("scrub", "POST", "/api/v1/admin/scrub", null,                            401, 403, 403, 403, 403, 403, 403, 200),
                new Row("scrub status", "GET", "/api/v1/admin/scrub", null,                      401, 403, 403, 403, 403, 403, 403, 200),
                new Row("fsck", "POST", "/api/v1/admin/fsck", null,                              401, 403, 403, 403, 403, 403, 403, 200),
                new Row("repair", "POST", "/api/v1/admin/repair", null,                          401, 403, 403, 403, 403, 403, 403, 200),
                new Row("catalog backup", "POST", "/api/v1/admin/backup", null,                  401, 403, 403, 403, 403, 403, 403, 200),
                new Row("create user", "POST", "/api/v1/users", "{\"name\":\"u-%s\"}",           401, 403, 403, 403, 403, 403, 403, 201),
                new Row("private repo of others", "GET", "/api/v1/repos/lab/secret", null,       401, 404, 404, 404, 404, 404, 404, 200),
                new Row("missing repo", "GET", "/api/v1/repos/lab/missing", null,                401, 404, 404, 404, 404, 404, 404, 404),
                new Row("public repo", "GET", "/api/v1/repos/lab/open", null,                    200, 200, 200, 200, 200, 200, 200, 200),
                new Row("write public repo", "POST", "/api/v1/repos/lab/open/uploads", "{}",     401, 403, 403, 403, 403, 403, 403, 201),
                new Row("create repo in own group", "POST", "/api/v1/repos", "{\"name\":\"lab/new-%s\"}",
                                                                                                 401, 403, 403, 403, 403, 201, 403, 201),
                new Row("whoami", "GET", "/api/v1/auth/whoami", null,                            401, 200, 200, 200, 200, 200, 200, 200));
        List<String> failures = new ArrayList<>();
        for (Row row : rows) {
            for (int i = 0; i < PRINCIPALS.size(); i++) {
                String who = PRINCIPALS.get(i);
                String body = row.body() == null ? null : row.body().replace("%s", who).replace("%h", row.body().contains("%h") ? mainHead() : "");
                HttpCalls.Response r = as.get(who).call(row.method(), row.path(), body);
                if (r.status() != row.expected()[i]) {
                    failures.add(row.name() + " as " + who + ": " + r.status() + " (expected " + row.expected()[i] + ") " + r.text());
                }
            }
        }
        assertEquals(List.of(), failures, "authorization matrix cells that differ");
    }

    @Test
    void outsidersCannotTellAPrivateRepositoryFromAMissingOne() throws Exception {
        HttpCalls frank = as.get("frank");
        for (String suffix : List.of("", "/tree?rev=main", "/files/weights.bin?rev=main", "/refs", "/stats")) {
            HttpCalls.Response secret = frank.get("/api/v1/repos/lab/chimera" + suffix);
            HttpCalls.Response missing = frank.get("/api/v1/repos/lab/chimerb" + suffix);
            assertEquals(404, secret.status());
            assertEquals(missing.text().replace("chimerb", "chimera"), secret.text(), "same answer for " + suffix);
        }
        JsonNode listed = frank.ok(200, "GET", "/api/v1/repos", null);
        List<String> names = new ArrayList<>();
        listed.forEach(r -> names.add(r.path("name").asText()));
        assertEquals(List.of("lab/open"), names, "frank sees only the public repository");
        JsonNode bobSees = as.get("bob").ok(200, "GET", "/api/v1/repos", null);
        List<String> bobNames = new ArrayList<>();
        bobSees.forEach(r -> bobNames.add(r.path("name").asText()));
        assertTrue(bobNames.contains("lab/chimera") && !bobNames.contains("lab/secret"), "bob: " + bobNames);
    }

    @Test
    void aGranteeSeesNoParentIdsAndCannotNameTheGrantedCommitOtherwise() throws Exception {
        HttpCalls bob = as.get("bob");
        JsonNode c = bob.ok(200, "GET", C + "/commit?rev=v3", null);
        assertEquals(0, c.path("parents").size(), "parents of a granted version are hidden");
        String id = c.path("id").asText();
        assertEquals(200, bob.get(C + "/commit?rev=" + id).status(), "the full commit id of the grant works");
        assertEquals(404, bob.get(C + "/commit?rev=" + id.substring(0, 12)).status(), "prefixes do not");
        assertEquals(404, bob.get(C + "/commit").status(), "the default branch is not granted");
    }
}
