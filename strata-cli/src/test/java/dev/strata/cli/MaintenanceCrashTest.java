package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 at random moments of the maintenance operations that rewrite stored data: garbage
 * collection (`gc --full`, moving live chunks out of packs with garbage), scrub (rewriting damaged
 * erasure-coded shards) and repair (rebuilding a lost directory). After every restart: fsck finds no
 * live chunk missing or corrupt, every visible commit pulls bit-exact, and the retried operation
 * completes. STRATA_CRASH_ROUNDS (default 2) rounds per operation; bench/crash_bench.py runs many.
 */
class MaintenanceCrashTest {
    @TempDir Path tmp;

    private final int rounds = Integer.parseInt(System.getenv().getOrDefault("STRATA_CRASH_ROUNDS", "2"));
    private final Map<String, String> committed = new HashMap<>(); // commit id -> SHA-256 of model.bin

    @Test
    void killNineDuringGcLosesNoLiveChunk() throws Exception {
        Random random = new Random(7);
        Path data = tmp.resolve("data");
        String[] args = {"--pack-size", Integer.toString(1 << 20)};
        Path keep = tmp.resolve("keep");
        Path junk = tmp.resolve("junk");
        Files.createDirectories(keep);
        Files.createDirectories(junk);
        ServerProcess server = ServerProcess.start(data, "256m", args);
        int interrupted = 0;
        try {
            server.cli().ok("repo", "create", "lab/crash");
            long gcMillis = 0;
            for (int round = -1; round < rounds; round++) { // round -1: uninterrupted, to time a gc
                CliRunner cli = server.cli();
                // live chunks and garbage share packs: main and a scratch branch alternate
                TestData.randomFile(keep.resolve("model.bin"), 4 << 20, 100 + round);
                push(cli, keep, "lab/crash@main");
                cli.ok("branch", "create", "lab/crash@scratch", "--from", "lab/crash@main");
                TestData.randomFile(junk.resolve("model.bin"), 6 << 20, 200 + round);
                cli.ok("push", junk.toString(), "lab/crash@scratch", "-m", "junk");
                TestData.randomFile(keep.resolve("model.bin"), 4 << 20, 300 + round);
                push(cli, keep, "lab/crash@main");
                cli.ok("branch", "delete", "lab/crash@scratch");
                if (round < 0) {
                    long t0 = System.nanoTime();
                    cli.ok("gc", "--full");
                    gcMillis = Math.max(20, (System.nanoTime() - t0) / 1_000_000);
                    gcMillisSeen = gcMillis;
                    continue;
                }
                server = killDuring(server, random, gcMillis, data, args, "gc", "--full");
                interrupted += lastInterrupted ? 1 : 0;
                CliRunner after = server.cli();
                verify(after, "lab/crash@main", round);
                after.ok("gc", "--full");
                verify(after, "lab/crash@main", round);
            }
        } finally {
            server.close();
        }
        System.out.printf("gc: %d of %d kills interrupted a gc (an uninterrupted one took %d ms)%n", interrupted, rounds, gcMillisSeen);
    }

    @Test
    void killNineDuringScrubLeavesShardsRepairable() throws Exception {
        Random random = new Random(11);
        Path data = tmp.resolve("data");
        String[] args = erasureArgs();
        ServerProcess server = ServerProcess.start(data, "256m", args);
        int interrupted = 0;
        try {
            pushOnce(server.cli());
            long scrubMillis = 0;
            for (int round = -1; round < rounds; round++) {
                damageShards(random, 12);
                if (round < 0) {
                    long t0 = System.nanoTime();
                    server.cli().ok("scrub");
                    scrubMillis = Math.max(20, (System.nanoTime() - t0) / 1_000_000);
                    continue;
                }
                server = killDuring(server, random, scrubMillis, data, args, "scrub");
                interrupted += lastInterrupted ? 1 : 0;
                CliRunner after = server.cli();
                verify(after, "lab/crash@main", round);
                CliRunner.Run retry = after.run("scrub", "--json");
                assertEquals(0, retry.exit(), retry.out() + retry.err());
                assertTrue(retry.json().path("clean").asBoolean(), retry.out());
                JsonNode again = after.ok("scrub", "--json").json();
                assertEquals(0, again.path("damaged").asInt(), "nothing left after the retried scrub: " + again);
            }
        } finally {
            server.close();
        }
        System.out.printf("scrub: %d of %d kills interrupted a scrub%n", interrupted, rounds);
    }

    @Test
    void killNineDuringRepairOfALostDirectory() throws Exception {
        Random random = new Random(13);
        Path data = tmp.resolve("data");
        String[] args = erasureArgs();
        ServerProcess server = ServerProcess.start(data, "256m", args);
        int interrupted = 0;
        try {
            pushOnce(server.cli());
            long repairMillis = 0;
            for (int round = -1; round < rounds; round++) {
                Path disk = tmp.resolve("disk" + Math.floorMod(round + 1, 6));
                DurabilityTest.deleteTree(disk);
                if (round < 0) {
                    long t0 = System.nanoTime();
                    server.cli().ok("repair", "--dir", disk.toString());
                    repairMillis = Math.max(20, (System.nanoTime() - t0) / 1_000_000);
                    continue;
                }
                server = killDuring(server, random, repairMillis, data, args, "repair", "--dir", disk.toString());
                interrupted += lastInterrupted ? 1 : 0;
                CliRunner after = server.cli();
                verify(after, "lab/crash@main", round);
                CliRunner.Run retry = after.run("repair", "--dir", disk.toString(), "--json");
                assertEquals(0, retry.exit(), retry.out() + retry.err());
                JsonNode again = after.ok("scrub", "--json").json();
                assertEquals(0, again.path("damaged").asInt(), "the directory is whole after the retried repair: " + again);
            }
        } finally {
            server.close();
        }
        System.out.printf("repair: %d of %d kills interrupted a repair%n", interrupted, rounds);
    }

    // ---- helpers

    private boolean lastInterrupted;
    private long gcMillisSeen;

    /**
     * Starts {@code op} through the CLI, kills the server within the first half of the operation's
     * uninterrupted duration, waits for the CLI to return and starts the server again on the same data.
     */
    private ServerProcess killDuring(ServerProcess server, Random random, long opMillis, Path data, String[] args, String... op)
            throws Exception {
        CliRunner cli = server.cli();
        CompletableFuture<CliRunner.Run> run = CompletableFuture.supplyAsync(() -> cli.run(op));
        // Within the first half of an uninterrupted run: the CLI starts cold, so the kill nearly always lands mid-operation.
        Thread.sleep(random.nextInt((int) Math.min(Integer.MAX_VALUE, Math.max(10, opMillis / 2))));
        server.kill9();
        CliRunner.Run r = run.get();
        lastInterrupted = r.exit() != 0;
        return ServerProcess.start(data, "256m", args);
    }

    private String[] erasureArgs() {
        StringBuilder dirs = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            dirs.append(i == 0 ? "" : ",").append(tmp.resolve("disk" + i));
        }
        return new String[] {"--chunk-dirs", dirs.toString(), "--erasure", "4+2", "--scrub-rate-mb", "0"};
    }

    private void pushOnce(CliRunner cli) throws Exception {
        Path src = tmp.resolve("ckpt");
        Files.createDirectories(src);
        TestData.randomFile(src.resolve("model.bin"), 3 << 20, 5);
        cli.ok("repo", "create", "lab/crash");
        push(cli, src, "lab/crash@main");
    }

    private void push(CliRunner cli, Path src, String where) throws Exception {
        JsonNode r = cli.ok("push", src.toString(), where, "-m", "ckpt", "--json").json();
        committed.put(r.path("commit").path("id").asText(), sha256(src.resolve("model.bin")));
    }

    /** Damages one shard in each of {@code n} random stripes (within parity): a flipped byte or an erased entry. */
    private void damageShards(Random random, int n) throws Exception {
        DurabilityTest helper = new DurabilityTest();
        helper.tmp = tmp;
        List<List<dev.strata.core.store.erasure.ShardPackFiles.ShardEntry>> stripes = new ArrayList<>(helper.shards().values());
        java.util.Collections.shuffle(stripes, random);
        for (var shards : stripes.subList(0, Math.min(n, stripes.size()))) {
            var f = shards.get(random.nextInt(shards.size()));
            if (random.nextBoolean()) {
                dev.strata.core.store.erasure.ShardPackFiles.erase(f);
            } else {
                DurabilityTest.flip(f, 64 + random.nextInt(Math.max(1, f.length() - 64)));
            }
        }
    }

    /** fsck clean for live commits; every visible commit pulls bit-exact; every acknowledged commit is visible. */
    private void verify(CliRunner cli, String branch, int round) throws Exception {
        CliRunner.Run fsckRun = cli.run("fsck", "--json");
        JsonNode fsck = fsckRun.json();
        assertEquals(0, fsck.path("chunks_missing").asLong(), fsck.toPrettyString());
        assertEquals(0, fsck.path("chunks_corrupt").asLong(), fsck.toPrettyString());
        assertEquals(0, fsck.path("manifests_bad").asLong(), fsck.toPrettyString());
        assertEquals(0, fsckRun.exit(), fsckRun.err());
        JsonNode log = cli.ok("log", branch, "--json", "-n", "1000").json();
        List<String> visible = log.findValuesAsText("id");
        for (String id : visible) {
            Path out = tmp.resolve("pull-" + round + "-" + id + "-" + System.nanoTime());
            cli.ok("pull", branch.substring(0, branch.indexOf('@')) + "@" + id, "-o", out.toString());
            String want = committed.get(id);
            if (want != null) {
                assertEquals(want, sha256(out.resolve("model.bin")), "commit " + id + " content");
            }
            deleteTree(out); // a 100-round run pulls thousands of commits: keep the disk
        }
        for (String id : committed.keySet()) {
            assertTrue(visible.contains(id), "acknowledged commit " + id + " is visible after the crash");
        }
    }

    static String sha256(Path f) throws Exception {
        return dev.strata.core.ContentHash.sha256Of(f).hex();
    }

    static void deleteTree(Path p) throws Exception {
        try (var walk = Files.walk(p)) {
            for (Path x : walk.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
