package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One server per data directory: a second one refuses to start instead of corrupting the packs. */
class ServerLockTest {
    @TempDir Path tmp;

    @Test
    void aSecondServerOnTheSameDataDirectoryRefusesToStart() throws Exception {
        Path data = tmp.resolve("data");
        try (ServerProcess first = ServerProcess.start(data, "256m")) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ServerProcess.start(data, "256m"));
            assertTrue(e.getMessage().contains("in use by another Strata server"), e.getMessage());
            first.cli().ok("repo", "create", "lab/still-serving");
        }
        try (ServerProcess again = ServerProcess.start(data, "256m")) {
            again.cli().ok("repo", "show", "lab/still-serving");
        }
    }
}
