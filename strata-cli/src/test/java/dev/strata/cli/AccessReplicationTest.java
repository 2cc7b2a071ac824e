package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication of the access state (docs/decisions/0013-replication.md, "Access state"), end to
 * end with two real server processes: users, groups, tokens (their hashes), visibility, roles,
 * protections, grants and retention rules made on the primary reach the replica, where the
 * primary's tokens work with the same rights; a revocation follows; a replica that was down
 * while the rules changed catches up; and the replica checks what it is sent before it changes
 * anything.
 */
class AccessReplicationTest {
    @TempDir Path tmp;

    @Test
    void tokensAndRulesOfThePrimaryHoldOnTheReplicaAndFollowItsChangesAcrossAnOutage() throws Exception {
        Path replicaData = tmp.resolve("replica");
        String port = Integer.toString(ServerProcess.freePort());
        ServerProcess replica = ServerProcess.start(replicaData, "384m", "--port", port);
        try (ServerProcess primary = ServerProcess.start(tmp.resolve("primary"), "384m", "--replica-url", replica.url(),
                "--replica-token-file", replica.adminTokenFile().toString())) {
            CliRunner root = primary.cli();

            // ---- identities and rules, made on the primary only
            root.ok("user", "create", "alice");
            root.ok("user", "create", "bob");
            root.ok("user", "create", "carol");
            root.ok("group", "create", "ml");
            root.ok("group", "add", "ml", "alice");
            Path data = tmp.resolve("weights");
            Files.createDirectories(data);
            Files.write(data.resolve("w.bin"), TestData.bf16(7, 100_000));
            root.ok("repo", "create", "lab/chimera", "-d", "vision");
            root.ok("push", data.toString(), "lab/chimera@main", "-m", "first");
            root.ok("repo", "visibility", "lab/chimera", "internal"); // changed after creation
            root.ok("member", "set", "lab/chimera", "group:ml", "reader");
            root.ok("protect", "add", "lab/chimera", "main", "--allow", "user:carol");
            root.ok("retention", "set", "lab/chimera@main", "--keep-last", "5");
            root.ok("repo", "create", "lab/secret");
            root.ok("push", data.toString(), "lab/secret@main", "-m", "secret");
            root.ok("tag", "lab/secret@main", "v1");
            root.ok("grant", "create", "lab/secret@v1", "bob");
            root.ok("repo", "create", "lab/empty"); // no commit yet: its rules travel all the same
            root.ok("member", "set", "lab/empty", "carol", "writer");
            Path aliceToken = tmp.resolve("alice.token");
            Path bobToken = tmp.resolve("bob.token");
            root.ok("token", "create", "--user", "alice", "--scope", "write", "--out", aliceToken.toString());
            root.ok("token", "create", "--user", "bob", "--scope", "write", "--out", bobToken.toString());

            awaitAccessSynced(root);
            CliRunner rroot = replica.cli(); // the replica's own bootstrap admin still works
            assertSameAccessState(root, rroot);
            JsonNode repo = rroot.ok("repo", "show", "lab/chimera", "--json").json();
            assertEquals("internal", repo.path("visibility").asText(), repo.toString());
            Set<String> replicaTokens = ids(rroot.ok("token", "list", "--all", "--json").json());
            Set<String> primaryTokens = ids(root.ok("token", "list", "--all", "--json").json());
            assertTrue(replicaTokens.containsAll(primaryTokens), "every token of the primary is on the replica");
            assertEquals(primaryTokens.size() + 1, replicaTokens.size(), "plus the replica's own bootstrap token");

            // ---- the primary's tokens work on the replica, with the same rights
            CliRunner alice = new CliRunner(replica.url(), aliceToken);
            CliRunner bob = new CliRunner(replica.url(), bobToken);
            alice.ok("log", "lab/chimera@main");
            assertEquals(Cli.EXIT_DENIED, alice.run("branch", "create", "lab/chimera@mine", "--from", "lab/chimera@main").exit(),
                    "group ml reads lab/chimera, it does not write");
            assertEquals(Cli.EXIT_NOT_FOUND, alice.run("log", "lab/secret@main").exit(), "private, no role");
            bob.ok("log", "lab/chimera@main"); // internal: every signed-in user reads it
            bob.ok("show", "lab/secret@v1"); // the version granted to him
            assertEquals(Cli.EXIT_NOT_FOUND, bob.run("show", "lab/secret@main").exit(), "nothing but the granted version");
            new CliRunner(replica.url(), primary.adminTokenFile()).ok("replication", "status"); // the primary's admin administers the replica

            // ---- a token revoked on the primary is refused on the replica once replicated
            String aliceId = tokenOf(root, "alice");
            root.ok("token", "revoke", aliceId);
            awaitAccessSynced(root);
            assertEquals(Cli.EXIT_DENIED, alice.run("log", "lab/chimera@main").exit());

            // ---- the replica is down while the rules change; the primary shows it, and catches up afterwards
            replica.close();
            root.ok("repo", "visibility", "lab/chimera", "private");
            root.ok("protect", "remove", "lab/chimera", "main");
            root.ok("retention", "clear", "lab/chimera@main");
            root.ok("member", "set", "lab/chimera", "group:ml", "writer");
            root.ok("group", "add", "ml", "bob");
            root.ok("grant", "revoke", "lab/secret", root.ok("grant", "list", "lab/secret", "--json").json().get(0).path("id").asText());
            Files.write(data.resolve("w2.bin"), TestData.bf16(8, 50_000));
            root.ok("push", data.toString(), "lab/secret@main", "-m", "second");
            root.ok("tag", "lab/secret@main", "v2");
            root.ok("grant", "create", "lab/secret@v2", "bob"); // its commit reaches the replica through the log
            root.ok("user", "create", "erin");
            root.ok("member", "set", "lab/secret", "erin", "reader");
            Path erinToken = tmp.resolve("erin.token");
            root.ok("token", "create", "--user", "erin", "--out", erinToken.toString());
            JsonNode behind = ReplicationTest.awaitStatus(root, s -> s.path("access_pending").asBoolean() && !s.path("access_error").isNull());
            assertFalse(behind.path("access_pending_since").isNull(), behind.toString());
            String human = root.ok("replication", "status").out();
            assertTrue(human.contains("access state: changes not yet on the replica") && human.contains("access error"), human);

            replica = ServerProcess.start(replicaData, "384m", "--port", port);
            awaitAccessSynced(root);
            rroot = replica.cli();
            assertSameAccessState(root, rroot);
            assertEquals("private", rroot.ok("repo", "show", "lab/chimera", "--json").json().path("visibility").asText());
            bob = new CliRunner(replica.url(), bobToken);
            bob.ok("branch", "create", "lab/chimera@bobs", "--from", "lab/chimera@main"); // now in ml, which writes
            bob.ok("branch", "delete", "lab/chimera@bobs"); // (the replica is not to be written to; put it back)
            assertEquals(Cli.EXIT_NOT_FOUND, bob.run("show", "lab/secret@v1").exit(), "that grant was revoked");
            bob.ok("show", "lab/secret@v2");
            new CliRunner(replica.url(), erinToken).ok("log", "lab/secret@main");
            assertEquals(Cli.EXIT_DENIED, new CliRunner(replica.url(), aliceToken).run("log", "lab/chimera@main").exit(),
                    "still revoked after the replica's restart");

            // Each server audits what it served: the replica recorded the states it applied.
            List<String> actions = new ArrayList<>();
            rroot.ok("audit", "--action", "replication.access", "--json").json()
                    .forEach(r -> actions.add(r.path("action").asText() + " " + r.path("status").asInt()));
            assertTrue(actions.contains("replication.access 200"), actions.toString());
            String aliceSecret = Cli.readTokenFile(aliceToken);
            assertFalse(primary.log().contains(aliceSecret) || replica.log().contains(aliceSecret), "no secret in either log");
            // The secret part follows "strata_<hex id>_"; base64url may itself contain '_', so not lastIndexOf
            // (a short tail after such an '_' turned up in a log by chance).
            String secretPart = aliceSecret.substring(aliceSecret.indexOf('_', "strata_".length()) + 1);
            assertEquals(43, secretPart.length(), "32 random bytes in base64url");
            assertFalse(primary.log().contains(secretPart) || replica.log().contains(secretPart), "no secret part in either log");
        } finally {
            replica.close();
        }
    }

    /** The replica side alone: a hand-made state is checked field by field before anything changes, and admin-only. */
    @Test
    void aStateIsCheckedBeforeAnythingChangesAndOnlyServerAdminsMaySendOne() throws Exception {
        try (ServerProcess target = ServerProcess.start(tmp.resolve("target"), "256m")) {
            CliRunner root = target.cli();
            root.ok("repo", "create", "lab/x");
            HttpCalls admin = new HttpCalls(target.url(), target.adminToken());
            String path = "/api/v1/admin/replication/access";
            JsonNode usersBefore = root.ok("user", "list", "--json").json();

            // A token made elsewhere: only its SHA-256 travels.
            byte[] secretBytes = new byte[32];
            new java.security.SecureRandom().nextBytes(secretBytes);
            String id = "0123456789abcdef";
            String token = "strata_" + id + "_" + Base64.getUrlEncoder().withoutPadding().encodeToString(secretBytes);
            String hash = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.UTF_8)));

            List<String> refused = List.of(
                    state(hash, id).put("format", 2).toString(),
                    state(hash.substring(2), id).toString(), // 31 bytes
                    state(hash.toUpperCase(java.util.Locale.ROOT), id).toString(),
                    state(hash, "short").toString(),
                    state(hash, id).put("users", "alice").toString(),
                    withUser(state(hash, id), "no/slash").toString(),
                    withUser(state(hash, id), "anonymous").toString(),
                    withUser(state(hash, id), "alice").toString(), // listed twice
                    tokenOwner(state(hash, id), "nobody").toString(),
                    member(state(hash, id), "nobody").toString(),
                    grant(state(hash, id), "not-a-commit").toString(),
                    role(state(hash, id), "group", "ghosts").toString(),
                    "[]");
            for (String body : refused) {
                HttpCalls.Response r = admin.call("PUT", path, body);
                assertEquals(400, r.status(), body + " -> " + r.text());
            }
            ObjectNode unknownRepo = state(hash, id);
            ((ObjectNode) unknownRepo.path("repositories").get(0)).put("name", "lab/ghost");
            assertEquals(404, admin.call("PUT", path, unknownRepo.toString()).status());
            assertEquals(usersBefore, root.ok("user", "list", "--json").json(), "nothing changed");
            assertEquals(401, new HttpCalls(target.url(), token).call("GET", "/api/v1/auth/whoami", null).status());

            // The valid state: the token made elsewhere now works here, with the rights the state gives.
            JsonNode applied = admin.ok(200, "PUT", path, state(hash, id).toString());
            assertEquals(1, applied.path("tokens").asInt(), applied.toString());
            HttpCalls alice = new HttpCalls(target.url(), token);
            assertEquals("alice", alice.ok(200, "GET", "/api/v1/auth/whoami", null).path("user").asText());
            alice.ok(200, "GET", "/api/v1/repos/lab/x", null);
            assertEquals("internal", root.ok("repo", "show", "lab/x", "--json").json().path("visibility").asText());
            assertEquals(403, alice.call("PUT", path, state(hash, id).toString()).status(), "server administrators only");
            assertTrue(root.ok("user", "list").out().contains("admin"), "this server's own admin is kept");

            // Revoked in the next state: refused from the next request on.
            ObjectNode revoked = state(hash, id);
            ((ObjectNode) revoked.path("tokens").get(0)).put("revoked_at", "2026-01-01T00:00:00Z");
            admin.ok(200, "PUT", path, revoked.toString());
            assertEquals(401, alice.call("GET", "/api/v1/auth/whoami", null).status());
            JsonNode trail = root.ok("audit", "--action", "replication.access", "--json").json();
            assertTrue(trail.size() >= 2, trail.toString());
            assertFalse(trail.toString().contains(hash), "the audit trail names counts, not hashes");
        }
    }

    /** A valid state: user alice (write-scoped token {@code id} with {@code hash}), group ml, lab/x internal with a reader role. */
    private static ObjectNode state(String hash, String id) {
        ObjectNode s = StrataClient.JSON.createObjectNode().put("format", 1).put("source_server_id", "ab12").put("taken_at", "2026-11-22T00:00:00Z");
        s.putArray("users").addObject().put("name", "alice").put("admin", false).put("disabled", false).put("created_at", "2026-01-01T00:00:00Z");
        ObjectNode g = s.putArray("groups").addObject().put("name", "ml").put("created_at", "2026-01-01T00:00:00Z");
        g.putArray("members").add("alice");
        ObjectNode t = s.putArray("tokens").addObject().put("id", id).put("user", "alice").put("label", "made elsewhere").put("scope", "write");
        t.putArray("repos");
        t.put("secret_sha256", hash).put("created_at", "2026-01-01T00:00:00Z").putNull("expires_at").putNull("revoked_at");
        ObjectNode r = s.putArray("repositories").addObject().put("name", "lab/x").put("visibility", "internal");
        r.putObject("retention").put("main", 3);
        r.putArray("roles").addObject().put("kind", "group").put("subject", "ml").put("role", "reader");
        r.putArray("protections").addObject().put("pattern", "release/*").putArray("allow").add("user:alice");
        r.putArray("grants");
        return s;
    }

    private static ObjectNode withUser(ObjectNode s, String name) {
        ((ArrayNode) s.path("users")).addObject().put("name", name).put("admin", false).put("disabled", false).put("created_at", "2026-01-01T00:00:00Z");
        return s;
    }

    private static ObjectNode tokenOwner(ObjectNode s, String user) {
        ((ObjectNode) s.path("tokens").get(0)).put("user", user);
        return s;
    }

    private static ObjectNode member(ObjectNode s, String user) {
        ((ArrayNode) s.path("groups").get(0).path("members")).add(user);
        return s;
    }

    private static ObjectNode grant(ObjectNode s, String commit) {
        ((ArrayNode) s.path("repositories").get(0).path("grants")).addObject().put("id", "g0123456789abcdef").putNull("tag")
                .put("commit", commit).put("kind", "user").put("subject", "alice").put("granted_by", "alice")
                .put("created_at", "2026-01-01T00:00:00Z");
        return s;
    }

    private static ObjectNode role(ObjectNode s, String kind, String subject) {
        ((ArrayNode) s.path("repositories").get(0).path("roles")).addObject().put("kind", kind).put("subject", subject).put("role", "admin");
        return s;
    }

    /** Waits until the log and the access state are both on the replica. */
    private static JsonNode awaitAccessSynced(CliRunner primary) throws Exception {
        return ReplicationTest.awaitStatus(primary, s -> s.path("lag_entries").asLong() == 0 && !s.path("access_pending").asBoolean()
                && s.path("access_error").isNull() && !s.path("access_synced_at").isNull());
    }

    /** Users, groups and every repository's roles, protections, grants and retention rules read the same on both servers. */
    private static void assertSameAccessState(CliRunner primary, CliRunner replica) throws Exception {
        assertEquals(primary.ok("user", "list", "--json").json(), replica.ok("user", "list", "--json").json(), "users");
        assertEquals(primary.ok("group", "list", "--json").json(), replica.ok("group", "list", "--json").json(), "groups");
        for (String repo : List.of("lab/chimera", "lab/secret", "lab/empty")) {
            assertEquals(primary.ok("member", "list", repo, "--json").json(), replica.ok("member", "list", repo, "--json").json(), repo);
            assertEquals(primary.ok("protect", "list", repo, "--json").json(), replica.ok("protect", "list", repo, "--json").json(), repo);
            assertEquals(primary.ok("grant", "list", repo, "--json").json(), replica.ok("grant", "list", repo, "--json").json(), repo);
            assertEquals(primary.ok("retention", "show", repo, "--json").json(), replica.ok("retention", "show", repo, "--json").json(), repo);
            assertEquals(primary.ok("repo", "show", repo, "--json").json().path("visibility"),
                    replica.ok("repo", "show", repo, "--json").json().path("visibility"), repo);
        }
    }

    private static Set<String> ids(JsonNode tokens) {
        Set<String> out = new TreeSet<>();
        tokens.forEach(t -> out.add(t.path("id").asText()));
        return out;
    }

    private static String tokenOf(CliRunner root, String user) throws Exception {
        for (JsonNode t : root.ok("token", "list", "--all", "--json").json()) {
            if (t.path("user").asText().equals(user)) {
                return t.path("id").asText();
            }
        }
        throw new AssertionError("no token of " + user);
    }
}
