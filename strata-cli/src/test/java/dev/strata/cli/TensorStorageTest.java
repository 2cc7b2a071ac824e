package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.core.Codec;
import dev.strata.core.codec.Codecs;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The user story of tensor-aware storage: a researcher pushes consecutive mixed-precision
 * checkpoints (BF16 weights, FP32 master weights, one frozen tensor); background compaction stores
 * the float tensors with the float codec and as deltas against the parent's tensors; every version
 * still reads back bit for bit, diff names the changed tensors with the size of their change, and
 * garbage collection keeps the bases a kept version's deltas need after the versions that named
 * them expired.
 */
class TensorStorageTest {
    @TempDir static Path tmp;
    static ServerProcess server;
    static CliRunner cli;

    static final int N = 600_000; // elements per trained tensor: a few 1 MiB slices each

    @BeforeAll
    static void start() throws Exception {
        // Small packs, so that pushes seal packs and compaction reaches them.
        server = ServerProcess.start(tmp.resolve("data"), "512m", "--pack-size", Integer.toString(1 << 20));
        cli = server.cli();
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void checkpointsAreStoredAsFloatsAndDeltasAndReadBackBitExact() throws Exception {
        cli.ok("repo", "create", "lab/tensors");
        SplittableRandom r = new SplittableRandom(42);
        float[] w = new float[N];
        float[] m = new float[N];
        for (int i = 0; i < N; i++) {
            w[i] = (float) (gaussian(r) * 0.02);
        }
        float[] frozen = new float[N / 4];
        for (int i = 0; i < frozen.length; i++) {
            frozen[i] = (float) (gaussian(r) * 0.05);
        }
        int steps = 4;
        Path[] dirs = new Path[steps];
        String[] ids = new String[steps];
        float[][] weights = new float[steps][];
        for (int s = 0; s < steps; s++) {
            if (s > 0) {
                for (int i = 0; i < N; i++) { // an Adam-like small update of every weight
                    m[i] = 0.9f * m[i] + 0.1f * (float) gaussian(r);
                    w[i] -= 1e-4f * Math.signum(m[i]) * (float) (0.5 + r.nextDouble());
                }
            }
            weights[s] = w.clone();
            dirs[s] = tmp.resolve("ckpt-" + s);
            Files.createDirectories(dirs[s]);
            Map<String, Object[]> model = new LinkedHashMap<>();
            model.put("layers.0.weight", new Object[] {"BF16", bf16(w), new long[] {N / 600, 600}});
            model.put("embed.weight", new Object[] {"F32", f32(frozen), new long[] {frozen.length}});
            writeSafetensors(dirs[s].resolve("model.safetensors"), model);
            Map<String, Object[]> optim = new LinkedHashMap<>();
            optim.put("master.layers.0.weight", new Object[] {"F32", f32(w), new long[] {N}});
            optim.put("exp_avg.layers.0.weight", new Object[] {"F32", f32(m), new long[] {N}});
            writeSafetensors(dirs[s].resolve("optimizer.safetensors"), optim);
            ids[s] = cli.ok("push", dirs[s].toString(), "lab/tensors@run", "-m", "step " + s, "--step", Integer.toString(s), "--json")
                    .json().path("commit").path("id").asText();
        }

        JsonNode before = cli.ok("stats", "lab/tensors", "--json").json();
        JsonNode compact = cli.ok("compact", "--json").json();
        assertTrue(compact.path("tensor_chunks").asLong() > 0, compact.toString());
        assertTrue(compact.path("delta_chunks").asLong() > 0, "later checkpoints are deltas of earlier ones: " + compact);
        JsonNode after = cli.ok("stats", "lab/tensors", "--json").json();
        assertTrue(after.path("by_codec").has("delta"), after.toString());
        assertTrue(after.path("by_codec").has("float"), after.toString());
        assertTrue(after.path("stored_bytes").asLong() < 0.8 * before.path("stored_bytes").asLong(),
                "float and delta codecs shrink the series: " + before.path("stored_bytes") + " -> " + after.path("stored_bytes"));

        for (int s = 0; s < steps; s++) {
            Path out = tmp.resolve("pull-" + s);
            cli.ok("pull", "lab/tensors@" + ids[s], "-o", out.toString());
            assertSameFiles(dirs[s], out);
        }
        // The plain file download (the path range reads and lazy tensor loads take) resolves deltas too.
        HttpCalls http = new HttpCalls(server.url(), server.adminToken());
        HttpCalls.Response file = http.get("/api/v1/repos/lab/tensors/files/optimizer.safetensors?rev=run");
        assertEquals(200, file.status());
        assertEquals(-1, java.util.Arrays.mismatch(Files.readAllBytes(dirs[steps - 1].resolve("optimizer.safetensors")), file.body()));

        // Chunk frames carry FLOAT chunks as stored only to clients that read every FLOAT version
        // (X-Strata-Float); others, such as CLIs from before FLOAT version 2, get them decoded.
        String frames = "/api/v1/repos/lab/tensors/chunks/model.safetensors?rev=" + ids[0];
        Map<Integer, Integer> decoded = frameCodecs(http.get(frames).body());
        Map<Integer, Integer> stored = frameCodecs(http.get(frames, "X-Strata-Float", Integer.toString(Codecs.FLOAT_VERSION)).body());
        assertTrue(stored.containsKey(Codec.FLOAT.id()) && !decoded.containsKey(Codec.FLOAT.id()), stored + " / " + decoded);
        assertEquals(stored.values().stream().mapToInt(Integer::intValue).sum(), decoded.values().stream().mapToInt(Integer::intValue).sum());
        assertFalse(frameCodecs(http.get(frames, "X-Strata-Float", "1").body()).containsKey(Codec.FLOAT.id()));
        assertEquals(400, http.get(frames, "X-Strata-Float", "two").status());

        JsonNode diff = cli.ok("diff", "lab/tensors@run~1", "lab/tensors@run", "--tensors", "--json").json();
        JsonNode modelDiff = null;
        for (JsonNode f : diff.path("files")) {
            if (f.path("path").asText().equals("model.safetensors")) {
                modelDiff = f;
            }
        }
        assertNotNull(modelDiff, diff.toString());
        Map<String, JsonNode> byName = new LinkedHashMap<>();
        modelDiff.path("tensors").forEach(t -> byName.put(t.path("name").asText(), t));
        assertEquals("unchanged", byName.get("embed.weight").path("status").asText());
        JsonNode changed = byName.get("layers.0.weight");
        assertEquals("changed", changed.path("status").asText());
        double expected = relativeChange(toBf16Floats(weights[steps - 2]), toBf16Floats(weights[steps - 1]));
        assertEquals(expected, changed.path("relative_change").asDouble(), expected * 1e-9, changed.toString());
        CliRunner.Run text = cli.run("diff", "lab/tensors@run~1", "lab/tensors@run", "--tensors");
        assertTrue(text.out().contains("~ layers.0.weight BF16"), text.out());

        // Only the last version is kept: its deltas' bases (earlier versions' chunks) must survive GC.
        cli.ok("retention", "set", "lab/tensors@run", "--keep-last", "1");
        JsonNode gc = cli.ok("gc", "--full", "--json").json();
        assertEquals(steps - 1, gc.path("commits_expired").asInt(), gc.toString());
        Path last = tmp.resolve("pull-last-after-gc");
        cli.ok("pull", "lab/tensors@run", "-o", last.toString());
        assertSameFiles(dirs[steps - 1], last);
        cli.ok("scrub", "--json"); // exit 0: clean and complete, deltas decoded against their bases
        JsonNode fsck = cli.ok("fsck", "--json").json();
        assertTrue(fsck.path("clean").asBoolean(), fsck.toString());
    }

    /**
     * A series compacted in one run gets the chains it would get push by push, whatever order the
     * packs' random ids give: with depth 4 the first checkpoint is a keyframe, the next four are
     * deltas at depths 1 to 4, the sixth is a keyframe again. (Compacting packs in id order made a
     * later checkpoint's chunk a delta before its parent's, which then had to stay a keyframe.)
     */
    @Test
    void aSeriesCompactedAtOnceChainsEachCheckpointToItsParent() throws Exception {
        cli.ok("repo", "create", "lab/chains");
        int steps = 6;
        int slices = 3;
        int n = slices << 19; // BF16: three 1 MiB slices, each in a pack of its own (1 MiB packs)
        SplittableRandom r = new SplittableRandom(7);
        float[] w = new float[n];
        for (int i = 0; i < n; i++) {
            w[i] = (float) (gaussian(r) * 0.02);
        }
        Path[] dirs = new Path[steps];
        for (int s = 0; s < steps; s++) {
            for (int i = 0; s > 0 && i < n; i++) {
                w[i] -= 1e-4f * (float) gaussian(r);
            }
            dirs[s] = tmp.resolve("chain-" + s);
            Files.createDirectories(dirs[s]);
            writeSafetensors(dirs[s].resolve("model.safetensors"), Map.of("w", new Object[] {"BF16", bf16(w), new long[] {n / 512, 512}}));
            cli.ok("push", dirs[s].toString(), "lab/chains@run", "-m", "step " + s);
        }
        JsonNode compact = cli.ok("compact", "--json").json();
        assertEquals((long) (steps - 2) * slices, compact.path("delta_chunks").asLong(), compact.toString());
        Path out = tmp.resolve("chain-pull");
        cli.ok("pull", "lab/chains@run", "-o", out.toString());
        assertEquals(-1, Files.mismatch(dirs[steps - 1].resolve("model.safetensors"), out.resolve("model.safetensors")));
    }

    /** Frames per codec id in a chunk-frames body (docs/api.md, "Chunk frames"), which must end with a frame. */
    static Map<Integer, Integer> frameCodecs(byte[] body) {
        Map<Integer, Integer> codecs = new java.util.TreeMap<>();
        ByteBuffer b = ByteBuffer.wrap(body); // big-endian
        while (b.hasRemaining()) {
            b.position(b.position() + 32);
            int codec = b.get() & 0xff;
            b.getInt(); // raw length
            int encoded = b.getInt();
            b.position(b.position() + encoded);
            codecs.merge(codec, 1, Integer::sum);
        }
        return codecs;
    }

    static void assertSameFiles(Path expected, Path actual) throws Exception {
        for (String f : new String[] {"model.safetensors", "optimizer.safetensors"}) {
            assertEquals(-1, Files.mismatch(expected.resolve(f), actual.resolve(f)), f + " differs in " + actual);
        }
    }

    static double relativeChange(float[] a, float[] b) {
        double d2 = 0, n2 = 0;
        for (int i = 0; i < a.length; i++) {
            double d = (double) b[i] - a[i];
            d2 += d * d;
            n2 += (double) a[i] * a[i];
        }
        return Math.sqrt(d2) / Math.sqrt(n2);
    }

    static float[] toBf16Floats(float[] w) {
        byte[] b = bf16(w);
        float[] out = new float[w.length];
        for (int i = 0; i < w.length; i++) {
            out[i] = Float.intBitsToFloat(((b[2 * i] & 0xff) | (b[2 * i + 1] & 0xff) << 8) << 16);
        }
        return out;
    }

    static double gaussian(SplittableRandom r) {
        double u = r.nextDouble(1e-12, 1.0), v = r.nextDouble();
        return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
    }

    /** Round-to-nearest-even FP32 → BF16, little-endian (what mixed-precision trainers save). */
    static byte[] bf16(float[] a) {
        ByteBuffer b = ByteBuffer.allocate(a.length * 2).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : a) {
            int u = Float.floatToRawIntBits(x);
            int rounding = ((u >>> 16) & 1) + 0x7fff;
            b.putShort((short) ((u + rounding) >>> 16));
        }
        return b.array();
    }

    static byte[] f32(float[] a) {
        ByteBuffer b = ByteBuffer.allocate(a.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : a) {
            b.putFloat(x);
        }
        return b.array();
    }

    /** tensors: name → {dtype, bytes, shape}. */
    static void writeSafetensors(Path file, Map<String, Object[]> tensors) throws Exception {
        StringBuilder h = new StringBuilder("{");
        long offset = 0;
        for (Map.Entry<String, Object[]> e : tensors.entrySet()) {
            byte[] data = (byte[]) e.getValue()[1];
            long[] shape = (long[]) e.getValue()[2];
            if (h.length() > 1) {
                h.append(',');
            }
            h.append('"').append(e.getKey()).append("\":{\"dtype\":\"").append(e.getValue()[0]).append("\",\"shape\":[");
            for (int i = 0; i < shape.length; i++) {
                h.append(i == 0 ? "" : ",").append(shape[i]);
            }
            h.append("],\"data_offsets\":[").append(offset).append(',').append(offset + data.length).append("]}");
            offset += data.length;
        }
        h.append('}');
        while (h.length() % 8 != 0) {
            h.append(' ');
        }
        byte[] header = h.toString().getBytes(StandardCharsets.UTF_8);
        try (var out = Files.newOutputStream(file)) {
            out.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(header.length).array());
            out.write(header);
            for (Object[] t : tensors.values()) {
                out.write((byte[]) t[1]);
            }
        }
    }
}
