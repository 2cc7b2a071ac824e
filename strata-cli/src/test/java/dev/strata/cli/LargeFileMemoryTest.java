package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Memory stays bounded whatever the file size (ARCHITECTURE invariant 4): a 4 GiB file is
 * pushed to and pulled from a server running with a 256 MiB heap, bit-exact. The size can be
 * lowered with STRATA_LARGE_FILE_MIB where disk is short.
 */
class LargeFileMemoryTest {
    @TempDir Path tmp;

    @Test
    void fourGibThroughA256MibHeapServer() throws Exception {
        long size = Long.parseLong(System.getenv().getOrDefault("STRATA_LARGE_FILE_MIB", "4096")) << 20;
        Path src = tmp.resolve("big");
        Files.createDirectories(src);
        TestData.randomFile(src.resolve("huge.bin"), size, 4);
        try (ServerProcess server = ServerProcess.start(tmp.resolve("data"), "256m")) {
            CliRunner cli = server.cli();
            cli.ok("repo", "create", "lab/huge");
            JsonNode push = cli.ok("push", src.toString(), "lab/huge@main", "-m", "4 GiB", "--json").json();
            assertEquals(size, push.path("logical_bytes").asLong());
            Path out = tmp.resolve("out");
            JsonNode pull = cli.ok("pull", "lab/huge@main", "-o", out.toString(), "--json").json();
            assertEquals(size, pull.path("bytes").asLong());
            assertEquals(-1, Files.mismatch(src.resolve("huge.bin"), out.resolve("huge.bin")));
            assertEquals(true, server.alive(), "the server survived with its 256 MiB heap");
        }
    }
}
