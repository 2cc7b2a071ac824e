package dev.strata.core.codec;

import dev.strata.core.Codec;
import dev.strata.core.store.EncodedChunk;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.function.Function;

/**
 * Codec throughput and ratio on one core, 64 KiB chunks, printed as JSON (one object per data set
 * and codec): ratio = encoded / raw bytes; compress and decompress MB/s (10^6 bytes of raw data per
 * second). Data sets: random bytes (worst case), BF16 weights N(0, 0.02) (also starting at an odd
 * byte, as content-defined chunks do), FP32 Adam second moments (exp_avg_sq: small positive values
 * with a full mantissa) and "clean" FP32 (BF16 values widened, low 16 bits zero). Not a JMH
 * benchmark: numbers are indicative. Run:
 * {@code mvn -q -pl strata-core test-compile exec:java -Dexec.classpathScope=test -Dexec.mainClass=dev.strata.core.codec.CodecBench}
 * or {@code java -cp <test-classpath> dev.strata.core.codec.CodecBench [MiB per data set, default 64]}.
 */
public final class CodecBench {
    private static final int CHUNK = 64 << 10;

    public static void main(String[] args) {
        int total = (args.length > 0 ? Integer.parseInt(args[0]) : 64) << 20;
        Random r = new Random(1);
        Map<String, byte[]> sets = new java.util.LinkedHashMap<>();
        byte[] random = new byte[total];
        r.nextBytes(random);
        sets.put("random", random);
        byte[] bf16 = bf16(r, total, 0.02);
        sets.put("bf16_normal_0.02", bf16);
        byte[] odd = new byte[total];
        System.arraycopy(bf16, 1, odd, 0, total - 1);
        sets.put("bf16_normal_0.02_odd_start", odd);
        sets.put("fp32_adam_exp_avg_sq", adamExpAvgSq(r, total));
        sets.put("fp32_clean_from_bf16", cleanFp32(bf16(r, total / 2, 0.02)));

        Map<String, Function<byte[], EncodedChunk>> codecs = new java.util.LinkedHashMap<>();
        codecs.put("zstd1", raw -> Codecs.encode(Codec.ZSTD, raw));
        codecs.put("byte_planes_2", raw -> Codecs.encode(Codec.BYTE_PLANES_2, raw));
        codecs.put("byte_planes_2_phase1", raw -> Codecs.encodeBytePlanes(Codec.BYTE_PLANES_2, raw, 1));
        codecs.put("byte_planes_4", raw -> Codecs.encode(Codec.BYTE_PLANES_4, raw));
        codecs.put("compress_best", Codecs::compressBest);

        List<String> lines = new ArrayList<>();
        for (int round = 0; round < 2; round++) { // round 0 warms up the JIT and the native library
            for (var s : sets.entrySet()) {
                for (var c : codecs.entrySet()) {
                    String line = run(s.getKey(), s.getValue(), c.getKey(), c.getValue());
                    if (round == 1) {
                        lines.add(line);
                    }
                }
            }
        }
        System.out.println("[\n  " + String.join(",\n  ", lines) + "\n]");
    }

    static byte[] bf16(Random r, int bytes, double std) {
        byte[] b = new byte[bytes];
        for (int i = 0; i + 1 < bytes; i += 2) {
            int bits = toBf16((float) (r.nextGaussian() * std));
            b[i] = (byte) bits;
            b[i + 1] = (byte) (bits >>> 8);
        }
        return b;
    }

    /** Round-to-nearest-even float32 to bfloat16 bits (finite values). */
    static int toBf16(float f) {
        int x = Float.floatToRawIntBits(f);
        return (x + 0x7fff + ((x >>> 16) & 1)) >>> 16;
    }

    /** exp_avg_sq-like: an EMA of squared gradients, ~1e-8..1e-5, full 23-bit mantissas. */
    static byte[] adamExpAvgSq(Random r, int bytes) {
        byte[] b = new byte[bytes];
        for (int i = 0; i + 3 < bytes; i += 4) {
            double scale = Math.exp(r.nextGaussian() * 1.5) * 1e-3; // per-parameter gradient scale
            double v = 0;
            for (int k = 0; k < 4; k++) {
                double g = r.nextGaussian() * scale;
                v = 0.999 * v + 0.001 * g * g * 250;
            }
            putFloat(b, i, (float) v);
        }
        return b;
    }

    static byte[] cleanFp32(byte[] bf16) {
        byte[] b = new byte[bf16.length * 2];
        for (int i = 0; i + 1 < bf16.length; i += 2) {
            b[2 * i + 2] = bf16[i];
            b[2 * i + 3] = bf16[i + 1];
        }
        return b;
    }

    static void putFloat(byte[] b, int at, float f) {
        int x = Float.floatToRawIntBits(f);
        b[at] = (byte) x;
        b[at + 1] = (byte) (x >>> 8);
        b[at + 2] = (byte) (x >>> 16);
        b[at + 3] = (byte) (x >>> 24);
    }

    private static String run(String set, byte[] data, String name, Function<byte[], EncodedChunk> codec) {
        int n = data.length / CHUNK;
        EncodedChunk[] enc = new EncodedChunk[n];
        byte[][] chunks = new byte[n][];
        for (int i = 0; i < n; i++) {
            chunks[i] = java.util.Arrays.copyOfRange(data, i * CHUNK, (i + 1) * CHUNK);
        }
        Map<Codec, Integer> chosen = new EnumMap<>(Codec.class);
        long encoded = 0;
        long t0 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            enc[i] = codec.apply(chunks[i]);
        }
        long t1 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            byte[] out = Codecs.decode(enc[i]);
            if (out.length != CHUNK) {
                throw new AssertionError();
            }
        }
        long t2 = System.nanoTime();
        for (int i = 0; i < n; i++) {
            encoded += enc[i].data().length;
            chosen.merge(enc[i].codec(), 1, Integer::sum);
        }
        double mb = (double) n * CHUNK / 1e6;
        StringBuilder c = new StringBuilder();
        chosen.forEach((k, v) -> c.append(c.isEmpty() ? "" : ", ").append('"').append(k.name().toLowerCase(Locale.ROOT)).append("\": ").append(v));
        return String.format(Locale.ROOT,
                "{\"data\": \"%s\", \"codec\": \"%s\", \"ratio\": %.4f, \"compress_mb_s\": %.0f, \"decompress_mb_s\": %.0f, \"chunks_by_codec\": {%s}}",
                set, name, (double) encoded / ((double) n * CHUNK), mb / ((t1 - t0) / 1e9), mb / ((t2 - t1) / 1e9), c);
    }
}
