package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The launcher's ahead-of-time cache is trained by `strata train-startup` (decision 0018). If that
 * workload broke, every command would silently start slower: it must succeed and leave nothing behind.
 */
class StartupTrainingTest {
    @TempDir
    Path scratch;

    @Test
    void theTrainingWorkloadSucceedsAndCleansUp() throws Exception {
        StringWriter err = new StringWriter();
        int rc = Main.run(new ByteArrayOutputStream(), new PrintWriter(err, true), "train-startup", scratch.toString());
        assertEquals(0, rc, err.toString());
        try (Stream<Path> left = Files.list(scratch)) {
            assertEquals(java.util.List.of(), left.toList());
        }
    }
}
