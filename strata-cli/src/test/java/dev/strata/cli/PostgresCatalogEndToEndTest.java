package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.catalog.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scale-out catalog: a real server process over a real PostgreSQL, push / branch / pull / restart. */
class PostgresCatalogEndToEndTest {
    @TempDir Path tmp;

    @Test
    void pushAndPullWithAPostgresCatalogSurviveARestart() throws Exception {
        try (PostgresServer pg = PostgresServer.start()) {
            String url = pg.jdbcUrl(pg.createDatabase());
            Path data = tmp.resolve("data");
            Path src = tmp.resolve("ckpt");
            Files.createDirectories(src);
            Files.write(src.resolve("model.bin"), TestData.bf16(5, 2 << 20));
            String id;
            try (ServerProcess server = ServerProcess.start(data, "256m", "--catalog", url)) {
                CliRunner cli = server.cli();
                cli.ok("repo", "create", "lab/pg");
                id = cli.ok("push", src.toString(), "lab/pg@run-1", "-m", "pg", "--step", "10", "--json").json()
                        .path("commit").path("id").asText();
                cli.ok("tag", "lab/pg@run-1", "v1");
                CliRunner.Run backup = cli.run("backup");
                assertEquals(Cli.EXIT_ERROR, backup.exit(), "a PostgreSQL catalog is not backed up by Strata");
                org.junit.jupiter.api.Assertions.assertTrue(backup.err().contains("pg_dump"), backup.err());
            }
            try (ServerProcess server = ServerProcess.start(data, "256m", "--catalog", url)) {
                CliRunner cli = server.cli();
                JsonNode found = cli.ok("find", "lab/pg", "--step", "10", "--json").json();
                assertEquals(id, found.get(0).path("id").asText());
                Path out = tmp.resolve("out");
                cli.ok("pull", "lab/pg@v1", "-o", out.toString());
                assertEquals(-1, Files.mismatch(src.resolve("model.bin"), out.resolve("model.bin")));
            }
        }
    }
}
