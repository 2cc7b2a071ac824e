package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The foundation's user stories, end to end: a real server process on loopback, the real CLI.
 * Push two checkpoints of a run, fork a run from the first, tag, log, find, diff, pull bit-exact,
 * pull incrementally, stats.
 */
class EndToEndTest {
    @TempDir static Path tmp;
    static ServerProcess server;
    static CliRunner cli;

    @BeforeAll
    static void start() throws Exception {
        server = ServerProcess.start(tmp.resolve("data"), "512m");
        cli = server.cli();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    static Path checkpoint(Path dir, byte[] model, byte[] optimizer) throws Exception {
        Files.createDirectories(dir.resolve("optim"));
        Files.write(dir.resolve("model.safetensors"), model);
        Files.write(dir.resolve("optim/state.bin"), optimizer);
        Files.writeString(dir.resolve("config.json"), "{\"layers\": 4}");
        return dir;
    }

    @Test
    void checkpointLifecycle() throws Exception {
        byte[] model = TestData.bf16(1, 6 << 20);
        byte[] optim = TestData.bf16(2, 3 << 20);
        Path c1 = checkpoint(tmp.resolve("ckpt-step-1000"), model, optim);
        byte[] model2 = model.clone();
        byte[] fresh = TestData.bf16(3, model.length / 10);
        System.arraycopy(fresh, 0, model2, 2 << 20, fresh.length); // 10% of the tensor bytes change
        Path c2 = checkpoint(tmp.resolve("ckpt-step-1500"), model2, optim);
        Path yaml = tmp.resolve("train.yaml");
        Files.writeString(yaml, "lr: 0.001\nbatch: 32\n");

        cli.ok("repo", "create", "lab/chimera", "-d", "vision model");
        JsonNode p1 = cli.ok("push", c1.toString(), "lab/chimera@run-42", "-m", "step 1000", "--step", "1000",
                "--metric", "val/acc=0.71", "--meta", "dataset=radiology-v3", "--meta", "code_commit=ab12cd",
                "--config", yaml.toString(), "--json").json();
        assertEquals(3, p1.path("files").asInt());
        assertTrue(p1.path("sent_chunks").asLong() > 0);
        String first = p1.path("commit").path("id").asText();
        assertEquals(40, first.length());

        JsonNode p2 = cli.ok("push", c2.toString(), "lab/chimera@run-42", "-m", "step 1500", "--step", "1500",
                "--metric", "val/acc=0.74", "--json").json();
        assertEquals(1, p2.path("changed_files").asInt(), "only the model changed");
        long logical2 = model2.length + optim.length + 13;
        assertTrue(p2.path("sent_bytes").asLong() < logical2 / 4,
                "second checkpoint sends only changed chunks: " + p2.path("sent_bytes").asLong() + " of " + logical2);
        String second = p2.path("commit").path("id").asText();
        assertEquals(first, p2.path("commit").path("parents").get(0).asText());

        JsonNode fork = cli.ok("branch", "create", "lab/chimera@run-43", "--from", "lab/chimera@run-42~1", "--json").json();
        assertEquals(first, fork.path("commit").asText());
        cli.ok("tag", "lab/chimera@run-42", "v1");

        JsonNode log = cli.ok("log", "lab/chimera@run-42", "--json").json();
        assertEquals(2, log.size());
        assertEquals(1500, log.get(0).path("step").asLong());
        assertEquals(1000, log.get(1).path("step").asLong());
        assertEquals("radiology-v3", log.get(1).path("metadata").path("dataset").asText());
        assertEquals("lr: 0.001\nbatch: 32\n", log.get(1).path("metadata").path("config").path("content").asText());

        assertEquals(second, cli.ok("find", "lab/chimera", "--branch", "run-42", "--best", "val/acc", "--json").json().get(0).path("id").asText());
        assertEquals(first, cli.ok("find", "lab/chimera", "--branch", "run-42", "--best", "val/acc", "--min", "--json").json().get(0).path("id").asText());
        assertEquals(first, cli.ok("find", "lab/chimera", "--step", "1000", "--json").json().get(0).path("id").asText());
        assertEquals(second, cli.ok("find", "lab/chimera", "--branch", "run-42", "--latest", "--json").json().get(0).path("id").asText());
        assertEquals(3, cli.run("find", "lab/chimera", "--step", "7").exit(), "no match is exit 3");

        JsonNode diff = cli.ok("diff", "lab/chimera@run-42~1", "lab/chimera@run-42", "--json").json();
        assertEquals(1, diff.path("modified").asInt());
        assertEquals(2, diff.path("unchanged").asInt());
        assertEquals("model.safetensors", diff.path("files").get(0).path("path").asText());
        long newBytes = diff.path("new_chunk_bytes").asLong();
        assertTrue(newBytes >= fresh.length && newBytes < fresh.length + (1 << 20), "new chunk bytes " + newBytes);

        Path restored = tmp.resolve("restored");
        JsonNode pull = cli.ok("pull", "lab/chimera@v1", "-o", restored.toString(), "--json").json();
        assertEquals(second, pull.path("commit").asText());
        assertEquals(-1, Files.mismatch(restored.resolve("model.safetensors"), c2.resolve("model.safetensors")));
        assertEquals(-1, Files.mismatch(restored.resolve("optim/state.bin"), c2.resolve("optim/state.bin")));
        assertEquals("{\"layers\": 4}", Files.readString(restored.resolve("config.json")));

        // Pulling the other checkpoint over it fetches only what differs.
        JsonNode back = cli.ok("pull", "lab/chimera@run-43", "-o", restored.toString(), "--json").json();
        assertEquals(first, back.path("commit").asText());
        assertEquals(2, back.path("unchanged_files").asInt());
        assertTrue(back.path("fetched_bytes").asLong() < model.length / 4, "incremental pull fetched " + back.path("fetched_bytes"));
        assertEquals(-1, Files.mismatch(restored.resolve("model.safetensors"), c1.resolve("model.safetensors")));

        JsonNode stats = cli.ok("stats", "lab/chimera", "--json").json();
        long logical = 2L * (model.length + optim.length + 13);
        assertEquals(logical, stats.path("logical_bytes").asLong());
        assertTrue(stats.path("unique_bytes").asLong() < logical * 0.7, stats.toString());
        assertTrue(stats.path("stored_bytes").asLong() <= stats.path("unique_bytes").asLong(), stats.toString());
        assertEquals(2, stats.path("branches").asInt());
        assertEquals(1, stats.path("tags").asInt());
        JsonNode one = cli.ok("stats", "lab/chimera@v1", "--json").json();
        assertEquals(second, one.path("commit").asText());
        assertEquals(model2.length + optim.length + 13, one.path("logical_bytes").asLong());
        assertEquals(newBytes, one.path("new_bytes").asLong(), "what the commit added is what diff calls new: " + one);
        assertTrue(one.path("new_stored_bytes").asLong() <= one.path("new_bytes").asLong(), one.toString());

        // An adapter in another repository links to the exact base version it was trained on.
        cli.ok("repo", "create", "lab/chimera-lora");
        Path adapter = tmp.resolve("adapter");
        Files.createDirectories(adapter);
        Files.write(adapter.resolve("adapter.safetensors"), TestData.bf16(9, 200_000));
        String lora = cli.ok("push", adapter.toString(), "lab/chimera-lora@main", "-m", "rank 8",
                "--lineage", "adapter_of=lab/chimera@v1", "--json").json().path("commit").path("id").asText();
        JsonNode derived = cli.ok("find", "lab/chimera-lora", "--derived-from", "lab/chimera@v1", "--json").json();
        assertEquals(1, derived.size());
        assertEquals(lora, derived.get(0).path("id").asText());
        assertEquals(3, cli.run("find", "lab/chimera-lora", "--derived-from", "lab/chimera@run-43").exit(), "not derived from step 1000");
        JsonNode up = cli.ok("lineage", "lab/chimera-lora@main", "--json").json().path("derives_from");
        assertEquals("adapter_of", up.get(0).path("relation").asText());
        assertEquals(second, up.get(0).path("target_commit").asText());
        JsonNode down = cli.ok("lineage", "lab/chimera@v1", "--json").json().path("derived");
        assertEquals(lora, down.get(0).path("commit").asText());
        assertEquals("lab/chimera-lora", down.get(0).path("repo").asText());

        // A single range of a file, as a tensor reader would fetch it.
        CliRunner.Run cat = cli.ok("cat", "lab/chimera@v1", "config.json", "--range", "1-8");
        assertEquals("\"layers\"", cat.out());
    }

    @Test
    void aRepushOfUnchangedCachedFilesLooksUpNoChunks() throws Exception {
        cli.ok("repo", "create", "lab/unchanged");
        Path d = tmp.resolve("unchanged");
        Files.createDirectories(d);
        Path f = d.resolve("w.bin");
        TestData.randomFile(f, 3 << 20, 5);
        // Settled a while ago, so the local index cache keeps its chunking.
        Files.setLastModifiedTime(f, java.nio.file.attribute.FileTime.from(java.time.Instant.now().minusSeconds(3600)));
        cli.ok("push", d.toString(), "lab/unchanged@main", "-m", "first");
        JsonNode again = cli.ok("push", d.toString(), "lab/unchanged@main", "-m", "again", "--json").json();
        assertEquals(0, again.path("changed_files").asInt());
        assertEquals(0, again.path("known_chunks").asLong(), "the parent holds the same file: none of its chunks is looked up");
        assertEquals(0, again.path("sent_chunks").asLong());
        Files.write(f, new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
        JsonNode changed = cli.ok("push", d.toString(), "lab/unchanged@main", "-m", "grown", "--json").json();
        assertEquals(1, changed.path("changed_files").asInt());
        assertTrue(changed.path("known_chunks").asLong() > 0, "a changed file is looked up chunk by chunk: " + changed);
    }

    @Test
    void pushCarriesOverUnchangedFilesAndDeletesExplicitly() throws Exception {
        cli.ok("repo", "create", "lab/carry");
        Path a = tmp.resolve("carry-a");
        Files.createDirectories(a);
        Files.writeString(a.resolve("one.txt"), "one");
        Files.writeString(a.resolve("two.txt"), "two");
        cli.ok("push", a.toString(), "lab/carry@main", "-m", "both");
        Path b = tmp.resolve("carry-b");
        Files.createDirectories(b);
        Files.writeString(b.resolve("three.txt"), "three");
        cli.ok("push", b.toString(), "lab/carry", "-m", "add three", "--delete", "one.txt");
        JsonNode tree = cli.ok("show", "lab/carry@main", "--json").json();
        List<String> paths = new ArrayList<>();
        tree.path("files").forEach(f -> paths.add(f.path("path").asText()));
        assertEquals(List.of("three.txt", "two.txt"), paths);
        cli.ok("push", b.toString(), "lab/carry", "-m", "sync", "--sync");
        assertEquals(1, cli.ok("show", "lab/carry@main", "--json").json().path("files").size());
        assertEquals(3, cli.run("push", b.toString(), "lab/carry", "--delete", "nope.txt").exit(), "deleting a missing path is not found");
    }

    @Test
    void clearErrorsAndExitCodes() throws Exception {
        CliRunner.Run missing = cli.run("log", "lab/nothing-here@main");
        assertEquals(3, missing.exit());
        assertTrue(missing.err().contains("lab/nothing-here"), missing.err());
        cli.ok("repo", "create", "lab/errs");
        CliRunner.Run rev = cli.run("pull", "lab/errs@no-such-branch", "-o", tmp.resolve("x").toString());
        assertEquals(3, rev.exit());
        assertTrue(rev.err().contains("no-such-branch"), rev.err());
        assertNotEquals(0, cli.run("repo", "create", "../etc").exit());
        assertNotEquals(0, cli.run("repo", "create", "lab/a..b").exit());
        CliRunner.Run dup = cli.run("repo", "create", "lab/errs");
        assertEquals(4, dup.exit());
        CliRunner.Run down = new CliRunner("http://127.0.0.1:1").run("repo", "list");
        assertEquals(5, down.exit());
        assertTrue(down.err().contains("cannot reach"), down.err());
    }
}
