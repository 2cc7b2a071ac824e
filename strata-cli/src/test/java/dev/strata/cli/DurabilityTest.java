package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;
import dev.strata.core.store.erasure.ShardPackFiles;
import dev.strata.core.store.erasure.ShardPackFiles.ShardEntry;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Scrub, fsck and repair end to end, against a real server storing chunks 4+2 over six
 * directories: damaged shards are repaired by `strata scrub`, a deleted directory is rebuilt by
 * `strata repair`, and damage beyond parity is reported by both, with exit status 1.
 */
class DurabilityTest {
    @TempDir Path tmp;

    String dirs() {
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            b.append(i == 0 ? "" : ",").append(tmp.resolve("disk" + i));
        }
        return b.toString();
    }

    ServerProcess start() throws Exception {
        return ServerProcess.start(tmp.resolve("data"), "256m", "--chunk-dirs", dirs(), "--erasure", "4+2", "--scrub-rate-mb", "0");
    }

    /** Intact shard entries (in the shard pack files of the six directories) by chunk id (hex), each list ordered by shard index. */
    Map<String, List<ShardEntry>> shards() throws IOException {
        Map<String, List<ShardEntry>> out = new TreeMap<>();
        for (int i = 0; i < 6; i++) {
            ShardPackFiles.byChunk(tmp.resolve("disk" + i)).forEach((id, l) -> out.computeIfAbsent(id, k -> new ArrayList<>()).addAll(l));
        }
        out.values().forEach(l -> l.sort(Comparator.comparingInt(ShardEntry::index)));
        return out;
    }

    /** Flips bits in byte {@code at} of a shard entry (counted from the start of its 64-byte header). */
    static void flip(ShardEntry e, int at) {
        ShardPackFiles.flipBit(e, 8L * at + 5);
    }

    static void deleteTree(Path p) throws IOException {
        try (Stream<Path> walk = Files.walk(p)) {
            for (Path x : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }

    @Test
    void scrubRepairsShardsRepairRebuildsADirectoryAndDamageBeyondParityIsReported() throws Exception {
        Path src = tmp.resolve("ckpt");
        Files.createDirectories(src);
        TestData.randomFile(src.resolve("model.bin"), 3 << 20, 21);
        try (ServerProcess server = start()) {
            CliRunner cli = server.cli();
            cli.ok("repo", "create", "lab/durable");
            cli.ok("push", src.toString(), "lab/durable@main", "-m", "ckpt");
            Map<String, List<ShardEntry>> shards = shards();
            int chunks = shards.size();
            assertTrue(chunks >= 10, "chunks: " + chunks);
            List<String> ids = new ArrayList<>(shards.keySet());

            // four damaged shards in four stripes: a data bit, a header bit, a torn write, an erased entry
            flip(shards.get(ids.get(0)).get(1), 64 + 10);
            flip(shards.get(ids.get(1)).get(5), 30);
            ShardPackFiles.zero(shards.get(ids.get(2)).get(0), 100);
            ShardPackFiles.erase(shards.get(ids.get(3)).get(3));

            CliRunner.Run scrub = cli.run("scrub", "--json");
            assertEquals(0, scrub.exit(), scrub.out() + scrub.err());
            JsonNode r = scrub.json();
            assertEquals(chunks, r.path("chunks_checked").asInt());
            assertEquals(4, r.path("damaged").asInt(), r.toPrettyString());
            assertEquals(4, r.path("repaired").asInt());
            assertTrue(r.path("clean").asBoolean());
            assertEquals("manual", r.path("trigger").asText());
            assertEquals(shards.values().stream().mapToInt(List::size).sum(), shards().values().stream().mapToInt(List::size).sum(),
                    "every shard is back");
            CliRunner.Run again = cli.ok("scrub", "--rate-mb", "200");
            assertTrue(again.out().contains("0 damaged"), again.out());
            CliRunner.Run fsck = cli.ok("fsck");
            assertTrue(fsck.out().contains("clean"), fsck.out());
            JsonNode status = cli.ok("scrub", "status", "--json").json();
            assertFalse(status.path("running").asBoolean());
            assertEquals(0, status.path("last").path("damaged").asInt());
            assertEquals("off", cli.ok("scrub", "status").out().lines().filter(l -> l.startsWith("background")).findFirst()
                    .orElseThrow().substring("background: ".length()));

            // a lost disk: the whole directory goes, `strata repair --dir` rebuilds it while the server runs
            Path disk3 = tmp.resolve("disk3");
            deleteTree(disk3);
            CliRunner.Run repair = cli.run("repair", "--dir", disk3.toString(), "--json");
            assertEquals(0, repair.exit(), repair.out() + repair.err());
            JsonNode rep = repair.json();
            assertEquals(chunks, rep.path("repaired").asInt(), rep.toPrettyString());
            assertEquals(chunks, rep.path("repaired_by_location").path(disk3.toString()).asInt(), rep.toPrettyString());
            assertEquals(disk3.toString(), rep.path("directory").asText());
            Path out = tmp.resolve("out");
            cli.ok("pull", "lab/durable@main", "-o", out.toString());
            assertEquals(-1, Files.mismatch(src.resolve("model.bin"), out.resolve("model.bin")));
            assertEquals(chunks, shards().values().stream().filter(l -> l.stream().anyMatch(p -> p.file().startsWith(disk3))).count());
            assertTrue(cli.ok("repair").out().contains("0 damaged"), "a full repair finds nothing left");
            JsonNode audit = cli.ok("audit", "--action", "repair.run", "--json").json();
            assertEquals(2, audit.size(), audit.toPrettyString());

            // beyond parity: three shards of one stripe, all six of another
            Map<String, List<ShardEntry>> now = shards();
            for (int i = 0; i < 3; i++) {
                ShardPackFiles.erase(now.get(ids.get(5)).get(i));
            }
            for (ShardEntry p : now.get(ids.get(6))) {
                ShardPackFiles.erase(p);
            }
            CliRunner.Run bad = cli.run("scrub");
            assertEquals(1, bad.exit(), bad.out() + bad.err());
            assertTrue(bad.out().contains("UNRECOVERABLE chunk " + ids.get(5)), bad.out());
            assertTrue(bad.out().contains("2 chunks unrecoverable"), bad.out());
            assertEquals(1, cli.run("scrub", "status").exit(), "the last pass left damage");
            CliRunner.Run badFsck = cli.run("fsck", "--json");
            assertEquals(1, badFsck.exit());
            assertEquals(2, badFsck.json().path("chunks_corrupt").asInt(), badFsck.out());
        }
        // after a restart the stripe with no shard left is not in the store at all: missing
        try (ServerProcess server = start()) {
            CliRunner cli = server.cli();
            CliRunner.Run fsck = cli.run("fsck", "--json");
            assertEquals(1, fsck.exit(), fsck.out() + fsck.err());
            JsonNode f = fsck.json();
            assertFalse(f.path("clean").asBoolean());
            assertEquals(1, f.path("chunks_missing").asInt(), f.toPrettyString());
            assertEquals(1, f.path("chunks_corrupt").asInt(), f.toPrettyString());
            JsonNode missing = null;
            for (JsonNode p : f.path("problems")) {
                if (p.path("problem").asText().equals("missing")) {
                    missing = p;
                }
            }
            assertTrue(missing != null, f.toPrettyString());
            assertEquals("lab/durable", missing.path("references").path(0).path("repo").asText());
            assertEquals("model.bin", missing.path("references").path(0).path("path").asText());
            CliRunner.Run human = cli.run("fsck");
            assertEquals(1, human.exit());
            assertTrue(human.out().contains("MISSING chunk") && human.out().contains("used by lab/durable@"), human.out());
            assertNotEquals(0, cli.run("pull", "lab/durable@main", "-o", tmp.resolve("out2").toString()).exit(), "never a wrong file");
        }
    }
}
