package dev.strata.cli;

import dev.strata.server.ApiServer;
import dev.strata.server.ServerConfig;
import dev.strata.server.Strata;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import java.util.stream.Stream;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * The training run behind the launcher's ahead-of-time cache (decision 0018): `./strata` runs this
 * once per build under {@code -XX:AOTCacheOutput}, and every later command starts from the classes
 * it loaded and linked and the method profiles it gathered, which cuts a quarter to a third of a
 * second from each command. It starts a server in this process on a loopback port with a scratch
 * data directory, then drives the everyday commands against it in process (create, push new and
 * known data including a safetensors model, log, show, pull), and removes everything it wrote.
 */
@Command(name = "train-startup", hidden = true,
        description = "Internal: the training workload for the launcher's ahead-of-time cache.")
final class TrainStartupCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "SCRATCH", description = "A scratch directory; everything written under it is deleted afterwards.")
    Path scratch;

    @Override
    public Integer call() throws Exception {
        Path data = scratch.resolve("data");
        Path src = scratch.resolve("src");
        Files.createDirectories(src);
        writeModel(src.resolve("model.safetensors"), 3 << 20, 1);
        Files.writeString(src.resolve("config.json"), "{\"train\": \"startup\"}\n");
        Strata strata = Strata.open(ServerConfig.resolve(Map.of("data", data.toString(), "bind", "127.0.0.1"), Map.of()));
        try (ApiServer server = new ApiServer(strata).start("127.0.0.1", 0)) {
            Path token = strata.bootstrap().orElseThrow();
            String[] to = {"--url", "http://127.0.0.1:" + server.port(), "--token-file", token.toString()};
            run(to, "whoami");
            run(to, "repo", "create", "train/model");
            run(to, "push", src.toString(), "train/model@main", "-m", "first");
            writeModel(src.resolve("model.safetensors"), 3 << 20, 2);
            run(to, "push", src.toString(), "train/model@main", "--json", "--step", "2");
            run(to, "push", src.toString(), "train/model@copy");
            run(to, "log", "train/model");
            run(to, "show", "train/model@main");
            run(to, "pull", "train/model@main~1", "-o", scratch.resolve("pull").toString());
            run(to, "pull", "train/model@main", "-o", scratch.resolve("pull").toString(), "--json");
        } finally {
            strata.close();
            deleteTree(data);
            deleteTree(src);
            deleteTree(scratch.resolve("pull"));
        }
        return 0;
    }

    private static void run(String[] connection, String... args) {
        String[] all = Stream.concat(Stream.of(args), Stream.of(connection)).toArray(String[]::new);
        int rc = Main.run(OutputStream.nullOutputStream(), new PrintWriter(OutputStream.nullOutputStream()), all);
        if (rc != 0) {
            throw new IllegalStateException("training command failed (exit " + rc + "): strata " + String.join(" ", args));
        }
    }

    /** A small safetensors file of BF16 weights (values from a seeded normal distribution). */
    private static void writeModel(Path file, int bytesPerTensor, long seed) throws IOException {
        Random r = new Random(seed);
        int n = bytesPerTensor / 2;
        String header = String.format("{\"a.weight\":{\"dtype\":\"BF16\",\"shape\":[%d],\"data_offsets\":[0,%d]},"
                + "\"b.weight\":{\"dtype\":\"BF16\",\"shape\":[%d],\"data_offsets\":[%d,%d]}}", n, 2 * n, n, 2 * n, 4 * n);
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + 4 * n).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h);
        for (int i = 0; i < 2 * n; i++) {
            b.putShort((short) (Float.floatToIntBits((float) (r.nextGaussian() * 0.02)) >>> 16));
        }
        Files.write(file, b.array());
    }

    private static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) walk.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }
}
