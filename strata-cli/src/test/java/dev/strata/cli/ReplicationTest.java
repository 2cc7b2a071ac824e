package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Replication to a second server, end to end: two real server processes on loopback, the
 * primary started with --replica-url. Pushes arrive on the replica with the same commit ids,
 * metadata, trees and bytes; a replica outage shows as lag and is caught up in order after it
 * returns; with the primary killed, a restore drill from the replica is bit-identical.
 */
class ReplicationTest {
    @TempDir Path tmp;

    @Test
    void pushesReachTheReplicaVerbatimSurviveAnOutageAndRestoreAfterThePrimaryDies() throws Exception {
        Path replicaData = tmp.resolve("replica");
        String port = Integer.toString(ServerProcess.freePort());
        ServerProcess replica = ServerProcess.start(replicaData, "512m", "--port", port);
        ServerProcess primary = null;
        try {
            primary = ServerProcess.start(tmp.resolve("primary"), "512m", "--replica-url", replica.url(),
                    "--replica-token-file", replica.adminTokenFile().toString());
            assertTrue(primary.log().contains("Replicating to " + replica.url()), primary.log());
            assertFalse(primary.log().contains(replica.adminToken()), "the replica's token is never logged");
            CliRunner cli = primary.cli();
            CliRunner rcli = replica.cli();

            // ---- a run with two checkpoints, a fork, a tag, and an adapter in another repository
            byte[] model = TestData.bf16(1, 3 << 20);
            byte[] optim = TestData.bf16(2, 1 << 20);
            Path c1 = EndToEndTest.checkpoint(tmp.resolve("ckpt-1"), model, optim);
            byte[] model2 = model.clone();
            System.arraycopy(TestData.bf16(3, model.length / 8), 0, model2, 1 << 20, model.length / 8);
            Path c2 = EndToEndTest.checkpoint(tmp.resolve("ckpt-2"), model2, optim);
            cli.ok("repo", "create", "lab/chimera", "-d", "vision model", "--visibility", "internal");
            cli.ok("push", c1.toString(), "lab/chimera@run-42", "-m", "step 1000", "--step", "1000", "--metric", "val/acc=0.71",
                    "--meta", "dataset=radiology-v3");
            cli.ok("push", c2.toString(), "lab/chimera@run-42", "-m", "step 1500", "--step", "1500", "--metric", "val/acc=0.74");
            cli.ok("branch", "create", "lab/chimera@run-43", "--from", "lab/chimera@run-42~1");
            cli.ok("tag", "lab/chimera@run-42", "v1");
            cli.ok("repo", "create", "lab/chimera-lora");
            Path adapter = tmp.resolve("adapter");
            Files.createDirectories(adapter);
            Files.write(adapter.resolve("adapter.safetensors"), TestData.bf16(9, 200_000));
            // Two links, given out of the catalog's order: the id was computed in request order.
            cli.ok("push", adapter.toString(), "lab/chimera-lora@main", "-m", "rank 8", "--lineage", "base_model=lab/chimera@run-43",
                    "--lineage", "adapter_of=lab/chimera@v1");

            JsonNode status = awaitStatus(cli, s -> s.path("lag_entries").asLong() == 0 && s.path("last_seq").asLong() > 0);
            assertEquals(status.path("last_seq"), status.path("replicated_seq"), status.toString());
            assertEquals(0.0, status.path("lag_seconds").asDouble(), status.toString());
            assertFalse(status.path("last_success_at").isNull(), status.toString());
            assertEquals(rcli.ok("replication", "status", "--json").json().path("server_id"), status.path("replica_id"));

            // ---- the replica is a faithful copy: same ids, metadata, refs, trees, lineage, visibility
            for (String rev : List.of("lab/chimera@run-42", "lab/chimera@run-43", "lab/chimera-lora@main")) {
                assertEquals(cli.ok("log", rev, "--json").json(), rcli.ok("log", rev, "--json").json(), rev);
                assertEquals(cli.ok("show", rev, "--json").json(), rcli.ok("show", rev, "--json").json(), rev);
            }
            assertEquals(cli.ok("branch", "list", "lab/chimera", "--json").json(), rcli.ok("branch", "list", "lab/chimera", "--json").json());
            assertEquals(cli.ok("lineage", "lab/chimera-lora@main", "--json").json(), rcli.ok("lineage", "lab/chimera-lora@main", "--json").json());
            JsonNode repo = rcli.ok("repo", "show", "lab/chimera", "--json").json();
            assertEquals("vision model", repo.path("description").asText());
            assertEquals("internal", repo.path("visibility").asText());
            Path restored = tmp.resolve("from-replica");
            rcli.ok("pull", "lab/chimera@v1", "-o", restored.toString(), "--verify-sha256");
            assertEquals(-1, Files.mismatch(restored.resolve("model.safetensors"), c2.resolve("model.safetensors")));
            assertEquals(-1, Files.mismatch(restored.resolve("optim/state.bin"), c2.resolve("optim/state.bin")));

            // ---- the replica goes away; the primary keeps taking writes and shows the lag
            replica.close();
            byte[] model3 = model2.clone();
            System.arraycopy(TestData.bf16(4, model.length / 8), 0, model3, 2 << 20, model.length / 8);
            Path c3 = EndToEndTest.checkpoint(tmp.resolve("ckpt-3"), model3, optim);
            cli.ok("push", c3.toString(), "lab/chimera@run-42", "-m", "step 2000", "--step", "2000", "--metric", "val/acc=0.78");
            cli.ok("tag", "lab/chimera@run-42", "v2");
            cli.ok("branch", "delete", "lab/chimera@run-43");
            JsonNode behind = awaitStatus(cli, s -> !s.path("last_error").isNull());
            assertEquals(3, behind.path("lag_entries").asLong(), behind.toString());
            assertTrue(behind.path("lag_seconds").asDouble() > 0, behind.toString());
            String human = cli.ok("replication", "status").out();
            assertTrue(human.contains("3 entries behind") && human.contains("last error"), human);

            // ---- it comes back on the same address and catches up, in order
            replica = ServerProcess.start(replicaData, "512m", "--port", port);
            awaitStatus(cli, s -> s.path("lag_entries").asLong() == 0 && s.path("last_error").isNull());
            rcli = replica.cli();
            assertEquals(cli.ok("log", "lab/chimera@run-42", "--json").json(), rcli.ok("log", "lab/chimera@run-42", "--json").json());
            assertEquals(cli.ok("branch", "list", "lab/chimera", "--json").json(), rcli.ok("branch", "list", "lab/chimera", "--json").json());
            assertEquals(Cli.EXIT_NOT_FOUND, rcli.run("log", "lab/chimera@run-43").exit(), "the deleted branch is gone there too");

            // ---- the primary dies; a restore drill from the replica is bit-identical
            primary.kill9();
            Path scratch = tmp.resolve("drill");
            CliRunner.Run drill = new CliRunner(replica.url()).run("drill", "lab/chimera@v2", "--from", replica.url(),
                    "--token-file", replica.adminTokenFile().toString(), "--scratch", scratch.toString(), "--json");
            assertEquals(0, drill.exit(), drill.out() + drill.err());
            JsonNode d = drill.json();
            assertEquals("ok", d.path("result").asText(), d.toString());
            assertEquals(3, d.path("files").asInt());
            assertEquals(model3.length + optim.length + 13, d.path("bytes").asLong());
            assertEquals(0, d.path("mismatches").size());
            assertEquals(-1, Files.mismatch(scratch.resolve("model.safetensors"), c3.resolve("model.safetensors")));

            // A failed restore is reported as such, with exit status 1.
            CliRunner.Run missing = new CliRunner(replica.url()).run("drill", "lab/chimera@no-such-tag", "--from", replica.url(),
                    "--token-file", replica.adminTokenFile().toString());
            assertEquals(Cli.EXIT_ERROR, missing.exit());
            assertTrue(missing.out().contains("FAILED") && missing.out().contains("no-such-tag"), missing.out());

            // ---- failover: the replica is promoted (clients switch --url) and gets a replica of its own,
            // which receives everything, lineage links included, with the same ids.
            replica.close();
            try (ServerProcess third = ServerProcess.start(tmp.resolve("third"), "512m")) {
                replica = ServerProcess.start(replicaData, "512m", "--port", port, "--replica-url", third.url(),
                        "--replica-token-file", third.adminTokenFile().toString());
                CliRunner promoted = replica.cli();
                promoted.ok("push", c1.toString(), "lab/chimera@after-failover", "-m", "written to the promoted server");
                awaitStatus(promoted, s -> s.path("lag_entries").asLong() == 0 && s.path("last_seq").asLong() > 0);
                for (String rev : List.of("lab/chimera@run-42", "lab/chimera@after-failover", "lab/chimera-lora@main")) {
                    assertEquals(promoted.ok("log", rev, "--json").json(), third.cli().ok("log", rev, "--json").json(), rev);
                }
                assertEquals(promoted.ok("lineage", "lab/chimera-lora@main", "--json").json(),
                        third.cli().ok("lineage", "lab/chimera-lora@main", "--json").json());
                replica.close();
            }
        } finally {
            if (primary != null) {
                primary.close();
            }
            replica.close();
        }
    }

    /** The replica side alone: verbatim commits are checked, idempotent, admin-only; ref moves are compare-and-set. */
    @Test
    void replicatedWritesAreVerifiedIdempotentAndForAdminsOnly() throws Exception {
        try (ServerProcess source = ServerProcess.start(tmp.resolve("source"), "256m");
             ServerProcess target = ServerProcess.start(tmp.resolve("target"), "256m")) {
            JsonNode none = new HttpCalls(source.url(), source.adminToken()).ok(200, "GET", "/api/v1/admin/replication", null);
            assertTrue(none.path("replica_url").isNull(), none.toString());
            assertNotEquals(none.path("server_id"), new HttpCalls(target.url(), target.adminToken())
                    .ok(200, "GET", "/api/v1/admin/replication", null).path("server_id"));

            // A commit made on the source, to copy by hand.
            CliRunner src = source.cli();
            src.ok("repo", "create", "lab/hand");
            Path dir = tmp.resolve("hand");
            Files.createDirectories(dir);
            Files.write(dir.resolve("w.bin"), TestData.bf16(5, 300_000));
            src.ok("push", dir.toString(), "lab/hand@main", "-m", "first", "--step", "1", "--metric", "loss=0.5");
            JsonNode tree = src.ok("show", "lab/hand@main", "--json").json();
            JsonNode commit = tree.path("commit");
            JsonNode file = tree.path("files").get(0);
            String body = StrataClient.JSON.createObjectNode().put("id", commit.path("id").asText())
                    .<com.fasterxml.jackson.databind.node.ObjectNode>set("parents", commit.path("parents"))
                    .put("author", commit.path("author").asText()).put("message", commit.path("message").asText())
                    .put("created_at", commit.path("created_at").asText()).put("step", commit.path("step").asLong())
                    .<com.fasterxml.jackson.databind.node.ObjectNode>set("metrics", commit.path("metrics"))
                    .put("metadata_json", commit.path("metadata").toString())
                    .<com.fasterxml.jackson.databind.node.ObjectNode>set("files", StrataClient.JSON.createArrayNode().add(
                            StrataClient.JSON.createObjectNode().put("path", file.path("path").asText()).put("size", file.path("size").asLong())
                                    .put("sha256", file.path("sha256").asText()).put("manifest_id", file.path("manifest_id").asText())))
                    .put("branch", "main").putNull("expected_head").toString();

            HttpCalls admin = new HttpCalls(target.url(), target.adminToken());
            target.cli().ok("repo", "create", "lab/hand");
            String path = "/api/v1/repos/lab/hand/replicated-commits";
            HttpCalls.Response lacking = admin.call("POST", path, body);
            assertEquals(409, lacking.status(), lacking.text());
            assertEquals("missing_manifests", lacking.json().path("error").path("code").asText());
            assertEquals(file.path("manifest_id").asText(), lacking.json().path("missing_manifests").get(0).asText());

            // Upload the data with the ordinary push protocol (a push of the same directory to a scratch branch does it).
            target.cli().ok("push", dir.toString(), "lab/hand@scratch", "-m", "data");
            String tampered = body.replace("\"message\":\"first\"", "\"message\":\"forged\"");
            HttpCalls.Response forged = admin.call("POST", path, tampered);
            assertEquals(400, forged.status(), forged.text());
            assertTrue(forged.text().contains("does not match its content"), forged.text());
            assertEquals(201, admin.call("POST", path, body).status());
            JsonNode again = admin.ok(200, "POST", path, body);
            assertFalse(again.path("imported").asBoolean(), "replaying is harmless: " + again);
            assertEquals(src.ok("log", "lab/hand@main", "--json").json(), target.cli().ok("log", "lab/hand@main", "--json").json());

            String id = commit.path("id").asText();
            String refs = "/api/v1/repos/lab/hand/replicated-refs/";
            assertTrue(admin.ok(200, "PUT", refs + "v1", "{\"kind\":\"tag\",\"expected\":null,\"next\":\"" + id + "\"}").path("moved").asBoolean());
            assertFalse(admin.ok(200, "PUT", refs + "v1", "{\"kind\":\"tag\",\"expected\":null,\"next\":\"" + id + "\"}").path("moved").asBoolean());
            String other = target.cli().ok("show", "lab/hand@scratch", "--json").json().path("commit").path("id").asText();
            assertEquals(409, admin.call("PUT", refs + "exp/a", "{\"kind\":\"branch\",\"expected\":\"" + other + "\",\"next\":\"" + id + "\"}").status(),
                    "a ref that is neither where the primary had it nor where it goes: the replica diverged");
            admin.ok(200, "PUT", refs + "v1", "{\"kind\":\"tag\",\"expected\":\"" + id + "\",\"next\":null}");
            assertFalse(admin.ok(200, "PUT", refs + "v1", "{\"kind\":\"tag\",\"expected\":\"" + id + "\",\"next\":null}").path("moved").asBoolean());

            // Only server administrators may write verbatim.
            target.cli().ok("user", "create", "alice");
            Path aliceToken = tmp.resolve("alice.token");
            target.cli().ok("token", "create", "--user", "alice", "--scope", "admin", "--out", aliceToken.toString());
            target.cli().ok("member", "set", "lab/hand", "alice", "admin");
            HttpCalls alice = new HttpCalls(target.url(), Cli.readTokenFile(aliceToken));
            assertEquals(403, alice.call("POST", path, body).status());
            assertEquals(403, alice.call("PUT", refs + "v9", "{\"kind\":\"tag\",\"expected\":null,\"next\":\"" + id + "\"}").status());
            assertEquals(403, alice.call("GET", "/api/v1/admin/replication", null).status());
            List<String> actions = new ArrayList<>();
            target.cli().ok("audit", "--action", "replication.", "--json").json().forEach(r -> actions.add(r.path("action").asText() + " " + r.path("status").asInt()));
            assertTrue(actions.contains("replication.commit 201") && actions.contains("replication.ref 200"), actions.toString());
        }
    }

    /** Polls `replication status --json` until {@code done} holds (60 s at most). */
    static JsonNode awaitStatus(CliRunner cli, Predicate<JsonNode> done) throws Exception {
        long deadline = System.nanoTime() + 60_000_000_000L;
        JsonNode s = null;
        while (System.nanoTime() < deadline) {
            s = cli.ok("replication", "status", "--json").json();
            if (done.test(s)) {
                return s;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("replication status never got there: " + s);
    }
}
