package dev.strata.core.codec;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.store.EncodedChunk;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Codec ratio and throughput on real checkpoints, one core, printed as JSON. Takes a checkpoint
 * directory (model.safetensors with BF16 weights, optimizer.safetensors with FP32 master weights
 * and Adam moments, as written by shared/data/make_checkpoints.py) and optionally the previous
 * checkpoint's directory; given a series directory (holding step-* directories) it uses the last
 * two. Every tensor is cut into 1 MiB slices from its first byte (how the store chunks tensors);
 * per tensor class (bf16 weights, fp32 master, exp_avg, exp_avg_sq, and clean FP32 = the BF16
 * weights widened) it reports ratio = encoded / raw and encode / decode MB/s (10^6 raw bytes per
 * second of this thread's CPU time) for zstd-1, zstd-3, tuned zstd (level 1, min match 7), byte planes, FLOAT (the
 * writer's choice, and {@code float_v1}: version 1 only, decision 0020), and DELTA
 * (XOR, SUB, and encodeDelta's choice) against the previous checkpoint's slice of the same tensor.
 * Run: {@code java -cp <test-classpath> dev.strata.core.codec.FloatBench /tmp/fc-series}
 * ({@code -Dcodecs=float,compress_float} runs only those codecs, {@code -Drounds=N} sets the rounds).
 */
public final class FloatBench {
    private static final int SLICE = 1 << 20;

    record Slice(byte[] raw, byte[] prev, FloatFormat fmt) {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args[0]);
        Path prev = args.length > 1 ? Path.of(args[1]) : null;
        if (!Files.exists(dir.resolve("model.safetensors"))) {
            List<Path> steps;
            try (Stream<Path> s = Files.list(dir)) {
                steps = s.filter(p -> p.getFileName().toString().startsWith("step-")).sorted().toList();
            }
            dir = steps.getLast();
            prev = steps.size() > 1 ? steps.get(steps.size() - 2) : null;
        }
        Map<String, List<Slice>> classes = new LinkedHashMap<>();
        Map<String, byte[]> model = read(dir.resolve("model.safetensors"));
        Map<String, byte[]> opt = read(dir.resolve("optimizer.safetensors"));
        Map<String, byte[]> pModel = prev == null ? Map.of() : read(prev.resolve("model.safetensors"));
        Map<String, byte[]> pOpt = prev == null ? Map.of() : read(prev.resolve("optimizer.safetensors"));
        for (var e : model.entrySet()) {
            slice(classes, "bf16_weights", e.getValue(), pModel.get(e.getKey()), FloatFormat.BF16);
            byte[] pw = pModel.get(e.getKey());
            slice(classes, "fp32_clean_from_bf16", CodecBench.cleanFp32(e.getValue()), pw == null ? null : CodecBench.cleanFp32(pw), FloatFormat.FP32);
        }
        for (var e : opt.entrySet()) {
            String k = e.getKey();
            String cls = k.startsWith("master.") ? "fp32_master" : k.startsWith("exp_avg_sq.") ? "exp_avg_sq" : k.startsWith("exp_avg.") ? "exp_avg" : "fp32_other";
            slice(classes, cls, e.getValue(), pOpt.get(k), FloatFormat.FP32);
        }
        // -Dcodecs=float,delta_xor limits the run to those codecs; -Drounds=N (default 3) repeats it.
        List<String> only = Arrays.stream(System.getProperty("codecs", "").split(",")).filter(x -> !x.isBlank()).toList();
        int rounds = Integer.getInteger("rounds", 3);
        List<String> lines = new ArrayList<>();
        for (int round = 0; round < rounds; round++) { // rounds 0 and 1 warm up the JIT; later ones are all printed
            if (round <= 2) {
                lines.clear();
            }
            for (var c : classes.entrySet()) {
                FloatFormat fmt = c.getValue().getFirst().fmt();
                Codec planes = fmt.width() == 2 ? Codec.BYTE_PLANES_2 : Codec.BYTE_PLANES_4;
                Map<String, Function<Slice, EncodedChunk>> codecs = new LinkedHashMap<>();
                codecs.put("zstd1", s -> new EncodedChunk(Codec.ZSTD, s.raw.length, Zstd.compress(s.raw, 1)));
                codecs.put("zstd3", s -> new EncodedChunk(Codec.ZSTD, s.raw.length, Zstd.compress(s.raw, 3)));
                codecs.put("zstd1_minmatch7", s -> new EncodedChunk(Codec.ZSTD, s.raw.length, tuned(s.raw)));
                codecs.put("byte_planes", s -> Codecs.encode(planes, s.raw));
                codecs.put("float", s -> Codecs.encodeFloat(s.raw, s.fmt, 0));
                codecs.put("float_v1", s -> new EncodedChunk(Codec.FLOAT, s.raw.length, FloatCodec.encodeVersion1(s.raw, s.fmt, 0, false)));
                codecs.put("compress_float", s -> Codecs.compressFloat(s.raw, s.fmt));
                if (c.getValue().getFirst().prev() != null) {
                    codecs.put("delta_xor", s -> Codecs.encodeDelta(s.raw, s.fmt, DeltaTransform.XOR, ContentHash.of(s.prev), s.prev, 0));
                    codecs.put("delta_sub", s -> Codecs.encodeDelta(s.raw, s.fmt, DeltaTransform.SUB, ContentHash.of(s.prev), s.prev, 0));
                    codecs.put("encode_delta_or_float", s -> {
                        Optional<EncodedChunk> d = Codecs.encodeDelta(s.raw, s.fmt, ContentHash.of(s.prev), s.prev, 0);
                        return d.orElseGet(() -> Codecs.compressFloat(s.raw, s.fmt));
                    });
                }
                for (var codec : codecs.entrySet()) {
                    if (!only.isEmpty() && !only.contains(codec.getKey())) {
                        continue;
                    }
                    lines.add(run(c.getKey(), c.getValue(), codec.getKey(), codec.getValue()));
                }
            }
        }
        System.out.println("[\n  " + String.join(",\n  ", lines) + "\n]");
    }

    /**
     * CPU time of this thread: the development machine is shared (2 cores, other builds running),
     * so wall time would mostly measure the neighbours.
     */
    private static long cpuNanos() {
        return java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
    }

    private static byte[] tuned(byte[] raw) {
        try (ZstdCompressCtx ctx = new ZstdCompressCtx()) {
            ctx.setLevel(1);
            ctx.setMinMatch(7);
            return ctx.compress(raw);
        }
    }

    private static void slice(Map<String, List<Slice>> classes, String cls, byte[] t, byte[] prev, FloatFormat fmt) {
        List<Slice> l = classes.computeIfAbsent(cls, k -> new ArrayList<>());
        for (int off = 0; off < t.length; off += SLICE) {
            int end = Math.min(t.length, off + SLICE);
            byte[] p = prev == null || prev.length <= off ? null : Arrays.copyOfRange(prev, off, Math.min(prev.length, off + SLICE));
            l.add(new Slice(Arrays.copyOfRange(t, off, end), p, fmt));
        }
    }

    private static String run(String cls, List<Slice> slices, String name, Function<Slice, EncodedChunk> codec) {
        int n = slices.size();
        EncodedChunk[] enc = new EncodedChunk[n];
        Map<ContentHash, byte[]> bases = new HashMap<>();
        long raw = 0;
        for (Slice s : slices) {
            raw += s.raw.length;
            if (s.prev != null) {
                bases.put(ContentHash.of(s.prev), s.prev);
            }
        }
        DeltaBases b = bases::get;
        long t0 = cpuNanos();
        for (int i = 0; i < n; i++) {
            enc[i] = codec.apply(slices.get(i));
        }
        long t1 = cpuNanos();
        for (int i = 0; i < n; i++) {
            byte[] out = Codecs.decode(enc[i], b);
            if (out.length != slices.get(i).raw.length) {
                throw new AssertionError();
            }
        }
        long t2 = cpuNanos();
        long encoded = 0;
        Map<Codec, Integer> chosen = new java.util.EnumMap<>(Codec.class);
        for (int i = 0; i < n; i++) {
            encoded += enc[i].data().length;
            chosen.merge(enc[i].codec(), 1, Integer::sum);
            if (!Arrays.equals(Codecs.decode(enc[i], b), slices.get(i).raw)) {
                throw new AssertionError(name + " does not round-trip on " + cls);
            }
        }
        double mb = raw / 1e6;
        StringBuilder c = new StringBuilder();
        chosen.forEach((k, v) -> c.append(c.isEmpty() ? "" : ", ").append('"').append(k.name().toLowerCase(Locale.ROOT)).append("\": ").append(v));
        return String.format(Locale.ROOT,
                "{\"class\": \"%s\", \"codec\": \"%s\", \"mib\": %.1f, \"ratio\": %.4f, \"encode_mb_s\": %.0f, \"decode_mb_s\": %.0f, \"chunks_by_codec\": {%s}}",
                cls, name, raw / 1048576.0, (double) encoded / raw, mb / ((t1 - t0) / 1e9), mb / ((t2 - t1) / 1e9), c);
    }

    /** Per tensor in a safetensors header: its name, then (anywhere in its object) its data offsets. */
    private static final java.util.regex.Pattern TENSOR = java.util.regex.Pattern.compile(
            "\"([^\"]+)\"\\s*:\\s*\\{[^{}]*?\"data_offsets\"\\s*:\\s*\\[\\s*(\\d+)\\s*,\\s*(\\d+)\\s*\\][^{}]*\\}");

    /** Tensors of a safetensors file by name: u64 LE header length, JSON header, data. */
    static Map<String, byte[]> read(Path file) throws IOException {
        byte[] all = Files.readAllBytes(file);
        long h = 0;
        for (int i = 7; i >= 0; i--) {
            h = h << 8 | (all[i] & 0xff);
        }
        String header = new String(all, 8, (int) h, StandardCharsets.UTF_8);
        Map<String, byte[]> out = new LinkedHashMap<>();
        int base = 8 + (int) h;
        var m = TENSOR.matcher(header);
        while (m.find()) {
            out.put(m.group(1), Arrays.copyOfRange(all, base + Integer.parseInt(m.group(2)), base + Integer.parseInt(m.group(3))));
        }
        return out;
    }
}
