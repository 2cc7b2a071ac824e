package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The "share one version" story end to end, with the real CLI against a real server process:
 * Alice grants Bob lab/chimera@v3; Bob pulls it bit-exact; Bob cannot list branches, read
 * @run-42, read another commit by id, or discover another private repository; Alice revokes and
 * Bob's next read fails; the audit trail shows all of it and verifies; editing one audit record
 * by hand makes verification fail.
 */
class ShareOneVersionTest {
    @TempDir Path tmp;

    @Test
    void aliceSharesOneVersionWithBobThenRevokes() throws Exception {
        Path data = tmp.resolve("data");
        try (ServerProcess server = ServerProcess.start(data, "256m")) {
            CliRunner root = server.cli();
            assertEquals("rw-------", PosixFilePermissions.toString(Files.getPosixFilePermissions(server.adminTokenFile())),
                    "the bootstrap token is readable by its owner only");
            root.ok("user", "create", "alice");
            root.ok("user", "create", "bob");
            root.ok("group", "create", "lab");
            root.ok("group", "add", "lab", "alice");
            Path aliceToken = tmp.resolve("alice.token");
            Path bobToken = tmp.resolve("bob.token");
            root.ok("token", "create", "--user", "alice", "--scope", "admin", "--label", "alice laptop", "--out", aliceToken.toString());
            root.ok("token", "create", "--user", "bob", "--scope", "write", "--out", bobToken.toString());
            CliRunner alice = root.as(aliceToken);
            CliRunner bob = root.as(bobToken);
            assertTrue(alice.ok("whoami").out().contains("alice"));

            // Alice's run: step 1000 becomes v3, then step 1500 lands on the same branch.
            root.ok("repo", "create", "lab/secret", "-d", "another team's model");
            alice.ok("repo", "create", "lab/chimera");
            byte[] v3Weights = TestData.bf16(31, 3 << 20);
            Path ckpt = tmp.resolve("ckpt");
            Files.createDirectories(ckpt);
            Files.write(ckpt.resolve("model.safetensors"), v3Weights);
            Files.writeString(ckpt.resolve("config.json"), "{\"layers\": 12}");
            alice.ok("push", ckpt.toString(), "lab/chimera@run-42", "-m", "step 1000", "--step", "1000");
            alice.ok("tag", "lab/chimera@run-42", "v3");
            Files.write(ckpt.resolve("model.safetensors"), TestData.bf16(32, 3 << 20));
            String later = alice.ok("push", ckpt.toString(), "lab/chimera@run-42", "-m", "step 1500", "--step", "1500", "--json")
                    .json().path("commit").path("id").asText();

            alice.ok("grant", "create", "lab/chimera@v3", "bob");

            // Bob pulls exactly v3, bit-exact.
            Path out = tmp.resolve("restored");
            bob.ok("pull", "lab/chimera@v3", "-o", out.toString());
            assertArrayEquals(v3Weights, Files.readAllBytes(out.resolve("model.safetensors")));
            assertEquals("{\"layers\": 12}", Files.readString(out.resolve("config.json")));

            // ... and nothing else.
            CliRunner.Run branches = bob.run("branch", "list", "lab/chimera");
            assertEquals(Cli.EXIT_DENIED, branches.exit(), branches.err());
            CliRunner.Run run42 = bob.run("pull", "lab/chimera@run-42", "-o", tmp.resolve("x").toString());
            assertEquals(Cli.EXIT_NOT_FOUND, run42.exit(), run42.err());
            CliRunner.Run byId = bob.run("show", "lab/chimera@" + later);
            assertEquals(Cli.EXIT_NOT_FOUND, byId.exit(), byId.err());
            CliRunner.Run secret = bob.run("repo", "show", "lab/secret");
            CliRunner.Run missing = bob.run("repo", "show", "lab/no-such-repo");
            assertEquals(Cli.EXIT_NOT_FOUND, secret.exit());
            assertEquals(missing.err().replace("lab/no-such-repo", "lab/secret"), secret.err(), "a private repository looks missing");
            String listed = bob.ok("repo", "list").out();
            assertTrue(listed.contains("lab/chimera") && !listed.contains("lab/secret"), listed);

            // Alice revokes; Bob's next read fails.
            JsonNode grants = alice.ok("grant", "list", "lab/chimera", "--json").json();
            assertEquals(1, grants.size());
            alice.ok("grant", "revoke", "lab/chimera", grants.get(0).path("id").asText());
            CliRunner.Run after = bob.run("pull", "lab/chimera@v3", "-o", tmp.resolve("again").toString());
            assertEquals(Cli.EXIT_NOT_FOUND, after.exit(), after.err());

            // The audit trail shows the story, in order, and verifies.
            JsonNode trail = root.ok("audit", "--repo", "lab/chimera", "--json").json();
            List<String> story = new ArrayList<>();
            for (JsonNode r : trail) {
                String p = r.path("principal").asText();
                String a = r.path("action").asText();
                if ((p.equals("alice") && a.startsWith("grant.") && !a.equals("grant.list"))
                        || (p.equals("bob") && (a.startsWith("file.") || a.equals("tree.read") || a.equals("ref.list")))) {
                    story.add(p + " " + a + " " + r.path("decision").asText() + " " + r.path("status").asInt());
                }
            }
            assertEquals("alice grant.create allow 201", story.get(0), story.toString());
            assertTrue(story.stream().anyMatch(s -> s.startsWith("bob file.") && s.endsWith("allow 200")), "bob's reads: " + story);
            assertTrue(story.contains("bob ref.list deny 403"), story.toString());
            assertTrue(story.contains("alice grant.revoke allow 204"), story.toString());
            assertTrue(story.contains("bob tree.read deny 404"), "bob's attempt on run-42 is denied: " + story);
            assertTrue(story.get(story.size() - 1).matches("bob (tree|file)\\.\\w+ deny 404"), "the read after revocation is denied: " + story);
            assertTrue(trail.toString().contains("\"resource\":\"lab/chimera@run-42\""), "bob's attempt on run-42 is recorded");
            CliRunner.Run verify = root.run("audit", "verify");
            assertEquals(0, verify.exit(), verify.out() + verify.err());
            assertTrue(verify.out().contains("intact"), verify.out());

            // Someone edits one record by hand: verification names it.
            long seq = trail.get(trail.size() / 2).path("seq").asLong();
            try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + data.resolve("catalog.db"));
                 Statement st = c.createStatement()) {
                st.execute("PRAGMA busy_timeout = 10000");
                assertEquals(1, st.executeUpdate("UPDATE audit_log SET principal = 'mallory' WHERE seq = " + seq));
            }
            CliRunner.Run broken = root.run("audit", "verify");
            assertEquals(Cli.EXIT_AUDIT_BROKEN, broken.exit(), broken.out() + broken.err());
            assertTrue((broken.out() + broken.err()).contains(Long.toString(seq)), "the altered record is named: " + broken.out() + broken.err());
            assertFalse(Files.readString(data.resolve("catalog.db").resolveSibling("audit.head")).isBlank());
        }
    }
}
