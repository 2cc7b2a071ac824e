package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A server storing chunks 4+2 erasure-coded over six directories still serves a pull after losing two of them. */
class ErasureCodedServerTest {
    @TempDir Path tmp;

    @Test
    void pullSurvivesTwoLostDirectories() throws Exception {
        StringBuilder dirs = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            dirs.append(i == 0 ? "" : ",").append(tmp.resolve("disk" + i));
        }
        Path src = tmp.resolve("ckpt");
        Files.createDirectories(src);
        TestData.randomFile(src.resolve("model.bin"), 3 << 20, 8);
        try (ServerProcess server = ServerProcess.start(tmp.resolve("data"), "256m", "--chunk-dirs", dirs.toString(), "--erasure", "4+2")) {
            CliRunner cli = server.cli();
            cli.ok("repo", "create", "lab/ec");
            cli.ok("push", src.toString(), "lab/ec@main", "-m", "ec");
        }
        for (String lost : new String[] {"disk1", "disk4"}) {
            try (Stream<Path> walk = Files.walk(tmp.resolve(lost))) {
                walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        try (ServerProcess server = ServerProcess.start(tmp.resolve("data"), "256m", "--chunk-dirs", dirs.toString(), "--erasure", "4+2")) {
            Path out = tmp.resolve("out");
            server.cli().ok("pull", "lab/ec@main", "-o", out.toString());
            assertEquals(-1, Files.mismatch(src.resolve("model.bin"), out.resolve("model.bin")));
        }
    }
}
