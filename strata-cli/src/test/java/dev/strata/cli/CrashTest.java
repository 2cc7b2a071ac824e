package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills the server with SIGKILL at random moments of a push, many times, restarting it on the
 * same data directory each time. After every restart: each visible commit pulls bit-exact
 * (ARCHITECTURE invariant 2), and the retried push completes. Set STRATA_CRASH_ROUNDS for a
 * longer, nightly-style run.
 *
 * <p>The test keeps only the SHA-256 of each acknowledged commit's content (a long run makes
 * hundreds of commits), and after each crash pulls the commits not verified yet plus one older one
 * at random, with fsck checking every live chunk of every commit; the end pulls every commit.
 */
class CrashTest {
    @TempDir Path tmp;

    @Test
    void killNineDuringPushLosesNothingVisible() throws Exception {
        int rounds = Integer.parseInt(System.getenv().getOrDefault("STRATA_CRASH_ROUNDS", "6"));
        Random random = new Random(42);
        Path data = tmp.resolve("data");
        Path src = tmp.resolve("ckpt");
        Files.createDirectories(src);
        TestData.randomFile(src.resolve("model.bin"), 24 << 20, 1);
        Map<String, String> committed = new HashMap<>(); // commit id -> SHA-256 of model.bin
        java.util.Set<String> verified = new java.util.HashSet<>();
        ServerProcess server = ServerProcess.start(data, "256m");
        int killedMidPush = 0;
        try {
            CliRunner first = server.cli();
            first.ok("repo", "create", "lab/crash");
            // Uninterrupted pushes (the second one warm, like the rounds) set the window in which kills land.
            int pushMillis = 0;
            for (int warm = 0; warm < 2; warm++) {
                mutate(src.resolve("model.bin"), random);
                long t0 = System.nanoTime();
                JsonNode base = first.ok("push", src.toString(), "lab/crash@main", "-m", "base", "--json").json();
                pushMillis = (int) Math.max(20, (System.nanoTime() - t0) / 1_000_000);
                committed.put(base.path("commit").path("id").asText(), MaintenanceCrashTest.sha256(src.resolve("model.bin")));
            }
            for (int round = 0; round < rounds; round++) {
                mutate(src.resolve("model.bin"), random);
                String expected = MaintenanceCrashTest.sha256(src.resolve("model.bin"));
                CliRunner cli = server.cli();
                CompletableFuture<CliRunner.Run> push = CompletableFuture.supplyAsync(
                        () -> cli.run("push", src.toString(), "lab/crash@main", "-m", "round", "--json"));
                // Within the first half of a warm push's duration: a round's push starts on a cold
                // server and client, so a kill there nearly always lands mid-push, even on a busy machine.
                Thread.sleep(random.nextInt(Math.max(10, pushMillis / 2)));
                server.kill9();
                CliRunner.Run interrupted = push.get();
                if (interrupted.exit() != 0) {
                    killedMidPush++;
                } else {
                    committed.put(interrupted.json().path("commit").path("id").asText(), expected);
                }
                server = ServerProcess.start(data, "256m");
                CliRunner after = server.cli();
                verifyVisibleCommits(after, committed, verified, random, round);
                JsonNode retry = after.ok("push", src.toString(), "lab/crash@main", "-m", "retry", "--json").json();
                committed.put(retry.path("commit").path("id").asText(), expected);
            }
            verified.clear(); // the end: every commit, pulled
            verifyVisibleCommits(server.cli(), committed, verified, null, rounds);
            assertTrue(killedMidPush >= rounds / 2, "most kills must land during a push, got " + killedMidPush + " of " + rounds);
        } finally {
            server.close();
        }
    }

    /** Overwrites three random 4 MiB regions so each round uploads about half the file. */
    private static void mutate(Path f, Random random) throws Exception {
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.WRITE)) {
            for (int i = 0; i < 3; i++) {
                byte[] b = new byte[4 << 20];
                random.nextBytes(b);
                ch.write(ByteBuffer.wrap(b), random.nextLong(ch.size() - b.length));
            }
        }
    }

    /**
     * Every acknowledged commit is visible; fsck finds every live chunk stored and intact; the
     * commits not verified before (and one older one, when {@code random} is given) pull bit-exact.
     */
    private void verifyVisibleCommits(CliRunner cli, Map<String, String> committed, java.util.Set<String> verified,
                                      Random random, int round) throws Exception {
        CliRunner.Run logRun = cli.run("log", "lab/crash@main", "--json", "-n", "1000");
        if (logRun.exit() == 3 && committed.isEmpty()) {
            return; // nothing was ever acknowledged and the branch does not exist yet: consistent
        }
        assertEquals(0, logRun.exit(), logRun.err());
        JsonNode log = logRun.json();
        JsonNode fsck = cli.ok("fsck", "--json").json();
        assertTrue(fsck.path("clean").asBoolean(), "fsck after crash round " + round + ": " + fsck);
        java.util.List<String> ids = log.findValuesAsText("id");
        java.util.List<String> toPull = new java.util.ArrayList<>();
        for (String id : ids) {
            if (!verified.contains(id)) {
                toPull.add(id);
            }
        }
        if (random != null && !ids.isEmpty()) {
            toPull.add(ids.get(random.nextInt(ids.size())));
        }
        for (String id : toPull) {
            Path out = tmp.resolve("pull-" + round + "-" + id);
            cli.ok("pull", "lab/crash@" + id, "-o", out.toString()); // verifies every file's SHA-256
            String want = committed.get(id);
            if (want != null) {
                assertEquals(want, MaintenanceCrashTest.sha256(out.resolve("model.bin")), "commit " + id + " content");
            }
            MaintenanceCrashTest.deleteTree(out);
            verified.add(id);
        }
        for (String id : committed.keySet()) {
            assertTrue(log.findValuesAsText("id").contains(id), "acknowledged commit " + id + " is visible after the crash");
        }
    }
}
