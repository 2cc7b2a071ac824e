package dev.strata.core.chunk;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Throughput numbers for docs/decisions/0003-chunking.md; not a test. Run after
 * {@code mvn -pl strata-core test-compile}:
 * {@code java -cp strata-core/target/classes:strata-core/target/test-classes dev.strata.core.chunk.ChunkerBenchmark [fileMiB] [threads...]}
 */
public final class ChunkerBenchmark {
    public static void main(String[] args) throws Exception {
        int fileMiB = args.length > 0 ? Integer.parseInt(args[0]) : 512;
        byte[] data = new byte[256 << 20];
        new SplitMix64(1).nextBytes(data);
        int[] lengths = new int[GearChunker.maxChunks(data.length)];
        long chunks = 0;
        for (int round = 0; round < 8; round++) {
            long t0 = System.nanoTime();
            int n = GearChunker.chunkLengths(data, 0, data.length, lengths);
            long t1 = System.nanoTime();
            chunks = n;
            System.out.printf("boundary search: %.0f MB/s (%d chunks, mean %d bytes)%n",
                    data.length / 1e6 / ((t1 - t0) / 1e9), n, data.length / n);
        }

        for (int round = 0; round < 4; round++) {
            java.security.MessageDigest md = dev.strata.core.ContentHash.sha256();
            long t0 = System.nanoTime();
            md.update(data);
            md.digest();
            long t1 = System.nanoTime();
            System.out.printf("sha256 alone: %.0f MB/s%n", data.length / 1e6 / ((t1 - t0) / 1e9));
        }

        Path file = Files.createTempFile("strata-bench", ".bin");
        try {
            try (var out = Files.newOutputStream(file)) {
                for (int i = 0; i < fileMiB; i += 256) {
                    out.write(data, 0, Math.min(256, fileMiB - i) << 20);
                }
            }
            long size = Files.size(file);
            int[] threadCounts = args.length > 1
                    ? java.util.Arrays.stream(args, 1, args.length).mapToInt(Integer::parseInt).toArray()
                    : new int[] {1, Runtime.getRuntime().availableProcessors()};
            for (int threads : threadCounts) {
                FileChunker chunker = new FileChunker(threads);
                for (int round = 0; round < 4; round++) {
                    AtomicLong seen = new AtomicLong();
                    long t0 = System.nanoTime();
                    ChunkedFile cf = chunker.chunk(file, seen::addAndGet);
                    long t1 = System.nanoTime();
                    System.out.printf("FileChunker threads=%d: %.0f MB/s (%d MiB, %d chunks, progress %d)%n",
                            threads, size / 1e6 / ((t1 - t0) / 1e9), size >> 20, cf.chunks().size(), seen.get());
                }
            }
            for (int round = 0; round < 2; round++) {
                long t0 = System.nanoTime();
                try (var in = Files.newInputStream(file)) {
                    new FileChunker().chunk(in);
                }
                long t1 = System.nanoTime();
                System.out.printf("stream: %.0f MB/s%n", size / 1e6 / ((t1 - t0) / 1e9));
            }
        } finally {
            Files.delete(file);
        }
    }
}
