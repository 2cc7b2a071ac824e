package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Branch deletion and retention make data unreachable; gc reclaims exactly that and nothing else. */
class GarbageCollectionTest {
    @TempDir static Path tmp;
    static ServerProcess server;
    static CliRunner cli;

    @BeforeAll
    static void start() throws Exception {
        // Small packs so that reclaiming shows up as deleted and rewritten packs.
        server = ServerProcess.start(tmp.resolve("data"), "256m", "--pack-size", Integer.toString(1 << 20));
        cli = server.cli();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    static Path file(String name, long seed, int size) throws Exception {
        Path f = tmp.resolve(name);
        TestData.randomFile(f, size, seed);
        return f;
    }

    @Test
    void deletingABranchThenGcFreesItsChunksAndKeepsTheRest() throws Exception {
        cli.ok("repo", "create", "lab/gc");
        Path keep = file("keep.bin", 1, 3 << 20);
        cli.ok("push", keep.toString(), "lab/gc@main", "-m", "keep");
        cli.ok("branch", "create", "lab/gc@scratch", "--from", "lab/gc@main");
        Path junk = file("junk.bin", 2, 4 << 20);
        cli.ok("push", junk.toString(), "lab/gc@scratch", "-m", "junk");
        cli.ok("branch", "delete", "lab/gc@scratch");

        JsonNode gc = cli.ok("gc", "--json").json();
        assertEquals(1, gc.path("commits_expired").asInt(), gc.toString());
        assertTrue(gc.path("bytes_freed").asLong() >= (3 << 20), "freed " + gc);
        Path out = tmp.resolve("out");
        cli.ok("pull", "lab/gc@main", "-o", out.toString());
        assertEquals(-1, Files.mismatch(keep, out.resolve("keep.bin")));
        JsonNode again = cli.ok("gc", "--json").json();
        assertEquals(0, again.path("bytes_freed").asLong(), "a second gc finds nothing: " + again);
    }

    @Test
    void retentionKeepsTheLastNCommitsAndTaggedOnes() throws Exception {
        cli.ok("repo", "create", "lab/ret");
        String[] ids = new String[4];
        for (int i = 0; i < 4; i++) {
            Path f = file("ckpt-" + i + ".bin", 100 + i, 2 << 20);
            Path dir = tmp.resolve("ret-" + i);
            Files.createDirectories(dir);
            Files.move(f, dir.resolve("model.bin"));
            ids[i] = cli.ok("push", dir.toString(), "lab/ret@run", "-m", "step " + i, "--step", Integer.toString(i), "--json")
                    .json().path("commit").path("id").asText();
        }
        cli.ok("tag", "lab/ret@" + ids[0], "first");
        cli.ok("retention", "set", "lab/ret@run", "--keep-last", "2");
        JsonNode gc = cli.ok("gc", "--json").json();
        assertEquals(1, gc.path("commits_expired").asInt(), "step 1 expires; 0 is tagged, 2 and 3 are the last two: " + gc);

        CliRunner.Run expired = cli.run("pull", "lab/ret@" + ids[1], "-o", tmp.resolve("r1").toString());
        assertEquals(3, expired.exit());
        assertTrue(expired.err().contains("expired"), expired.err());
        cli.ok("pull", "lab/ret@first", "-o", tmp.resolve("r0").toString());
        assertEquals(-1, Files.mismatch(tmp.resolve("ret-0/model.bin"), tmp.resolve("r0/model.bin")));
        cli.ok("pull", "lab/ret@run~1", "-o", tmp.resolve("r2").toString());
        assertEquals(-1, Files.mismatch(tmp.resolve("ret-2/model.bin"), tmp.resolve("r2/model.bin")));
        JsonNode log = cli.ok("log", "lab/ret@run", "--json").json();
        assertEquals(4, log.size(), "expired commits stay in the history");
        assertTrue(log.get(2).path("expired").asBoolean());
    }
}
