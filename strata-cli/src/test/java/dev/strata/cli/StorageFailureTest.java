package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.catalog.Catalogs;
import dev.strata.core.store.FaultyChunkStore;
import dev.strata.core.store.local.LocalPackStore;
import dev.strata.server.ApiServer;
import dev.strata.server.Strata;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * When the chunk store's disk fails (full, unwritable: injected with {@link FaultyChunkStore}, as
 * root ignores permissions here), a push fails with a clear storage error and leaves no commit,
 * reads keep working, and once the disk recovers the same push completes.
 */
class StorageFailureTest {
    @TempDir Path tmp;

    @Test
    void aFailingDiskRefusesWritesClearlyAndKeepsServingReads() throws Exception {
        FaultyChunkStore store = new FaultyChunkStore(LocalPackStore.open(tmp.resolve("chunks")));
        try (Strata strata = new Strata(store, Catalogs.open("sqlite:" + tmp.resolve("catalog.db")), Clock.systemUTC(), tmp, 20);
             ApiServer server = new ApiServer(strata).start("127.0.0.1", 0)) {
            Path token = strata.bootstrap().orElseThrow();
            CliRunner cli = new CliRunner("http://127.0.0.1:" + server.port(), token);
            cli.ok("repo", "create", "lab/disk");
            Path v1 = tmp.resolve("v1");
            Files.createDirectories(v1);
            TestData.randomFile(v1.resolve("model.bin"), 2 << 20, 1);
            String head = cli.ok("push", v1.toString(), "lab/disk@main", "-m", "v1", "--json").json().path("commit").path("id").asText();

            store.fail(FaultyChunkStore.Op.PUT, FaultyChunkStore.Op.FLUSH);
            Path v2 = tmp.resolve("v2");
            Files.createDirectories(v2);
            TestData.randomFile(v2.resolve("model.bin"), 2 << 20, 2);
            CliRunner.Run failed = cli.run("push", v2.toString(), "lab/disk@main", "-m", "v2");
            assertEquals(1, failed.exit());
            assertTrue(failed.err().contains("injected fault"), "the storage error reaches the user: " + failed.err());
            assertEquals(head, cli.ok("log", "lab/disk@main", "--json").json().get(0).path("id").asText(), "no commit appeared");

            Path out = tmp.resolve("out");
            cli.ok("pull", "lab/disk@main", "-o", out.toString());
            assertEquals(-1, Files.mismatch(v1.resolve("model.bin"), out.resolve("model.bin")), "reads keep working");

            store.healAll();
            JsonNode ok = cli.ok("push", v2.toString(), "lab/disk@main", "-m", "v2", "--json").json();
            assertEquals(head, ok.path("commit").path("parents").get(0).asText());
            cli.ok("pull", "lab/disk@main", "-o", out.toString());
            assertEquals(-1, Files.mismatch(v2.resolve("model.bin"), out.resolve("model.bin")));
        }
    }
}
