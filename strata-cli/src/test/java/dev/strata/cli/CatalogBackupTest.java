package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Online catalog backup and offline restore: push, back up, push more, stop, restore, start. The
 * first commit is back and pulls bit-exact, the later one is gone, and fsck finds no missing chunk
 * (the later push's chunks are orphans).
 */
class CatalogBackupTest {
    @TempDir Path tmp;

    @Test
    void backupWhileServingThenRestoreOfflineBringsBackTheFirstCommitOnly() throws Exception {
        Path data = tmp.resolve("data");
        Path src = tmp.resolve("ckpt");
        Files.createDirectories(src);
        TestData.randomFile(src.resolve("model.bin"), 3 << 20, 1);
        byte[] first = Files.readAllBytes(src.resolve("model.bin"));
        ServerProcess server = ServerProcess.start(data, "256m");
        String backupFile;
        String c2;
        String c1;
        try {
            CliRunner cli = server.cli();
            cli.ok("repo", "create", "lab/backup");
            c1 = cli.ok("push", src.toString(), "lab/backup@main", "-m", "one", "--json").json().path("commit").path("id").asText();

            backupFile = cli.ok("backup").out().strip();
            assertTrue(backupFile.startsWith(data.resolve("backups").toAbsolutePath().toString()), backupFile);
            assertTrue(Files.size(Path.of(backupFile)) > 0);
            JsonNode named = cli.ok("backup", "--to", "named.db", "--json").json();
            assertEquals(data.resolve("backups/named.db").toAbsolutePath().toString(), named.path("file").asText());
            assertTrue(named.path("bytes").asLong() > 0);
            for (String bad : List.of("../escape.db", "/tmp/x.db", "..", "a/b.db")) {
                CliRunner.Run r = cli.run("backup", "--to", bad);
                assertNotEquals(0, r.exit(), "backup --to " + bad + " must be refused");
            }
            assertFalse(Files.exists(data.resolve("escape.db")));
            assertEquals(Cli.EXIT_CONFLICT, cli.run("backup", "--to", "named.db").exit(), "no overwrite");

            TestData.randomFile(src.resolve("model.bin"), 3 << 20, 2);
            c2 = cli.ok("push", src.toString(), "lab/backup@main", "-m", "two", "--json").json().path("commit").path("id").asText();

            JsonNode audit = cli.ok("audit", "--action", "backup.run", "--json").json();
            assertTrue(audit.size() >= 2, audit.toString());

            CliRunner.Run refused = cli.run("restore-catalog", backupFile, "--data", data.toString());
            assertNotEquals(0, refused.exit());
            assertTrue(refused.err().contains("in use"), refused.err());
        } finally {
            server.close();
        }

        CliRunner local = new CliRunner("http://127.0.0.1:1");
        CliRunner.Run restored = local.ok("restore-catalog", backupFile, "--data", data.toString());
        assertTrue(restored.out().contains("restored"), restored.out());
        try (Stream<Path> s = Files.list(data)) {
            assertTrue(s.anyMatch(p -> p.getFileName().toString().startsWith("catalog.db.before-restore-")));
        }

        server = ServerProcess.start(data, "256m");
        try {
            CliRunner cli = server.cli();
            JsonNode log = cli.ok("log", "lab/backup@main", "--json").json();
            List<String> ids = log.findValuesAsText("id");
            assertEquals(List.of(c1), ids, "only the commit before the backup");
            assertNotEquals(0, cli.run("show", "lab/backup@" + c2).exit(), "the later commit is gone");
            Path out = tmp.resolve("pulled");
            cli.ok("pull", "lab/backup@" + c1, "-o", out.toString());
            assertEquals(-1, Files.mismatch(out.resolve("model.bin"), write(first)));
            JsonNode fsck = cli.ok("fsck", "--json").json();
            assertTrue(fsck.path("clean").asBoolean(), fsck.toString());
            assertEquals(0, fsck.path("chunks_missing").asLong());
            assertTrue(fsck.path("orphan_chunks").asLong() > 0, "the later push's chunks are orphans: " + fsck);
            cli.ok("audit", "verify"); // re-anchored: the shorter log is not reported as tampering
            assertFalse(server.log().contains("tampering"), server.log());
        } finally {
            server.close();
        }
    }

    private Path write(byte[] b) throws Exception {
        Path p = Files.createTempFile(tmp, "want", ".bin");
        Files.write(p, b);
        return p;
    }
}
