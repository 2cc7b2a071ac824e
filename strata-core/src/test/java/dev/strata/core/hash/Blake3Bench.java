package dev.strata.core.hash;

import java.security.MessageDigest;
import java.util.SplittableRandom;
import java.util.function.Consumer;

/**
 * Single-thread throughput of chunk-hash candidates. Not a test; run with:
 *
 * <pre>
 * mvn -q -pl strata-core test-compile
 * java --enable-native-access=ALL-UNNAMED -cp strata-core/target/classes:strata-core/target/test-classes:\
 * $HOME/.m2/repository/org/bouncycastle/bcprov-jdk18on/1.86/bcprov-jdk18on-1.86.jar dev.strata.core.hash.Blake3Bench [sizeBytes...]
 * </pre>
 */
public final class Blake3Bench {
  private static volatile byte sink;

  public static void main(String[] args) throws Exception {
    int[] sizes = args.length == 0 ? new int[] {64 * 1024} : new int[args.length];
    for (int i = 0; i < args.length; i++) {
      sizes[i] = Integer.parseInt(args[i]);
    }
    System.out.printf("active implementation: %s, %s, %d cores%n", Blake3.implementation(),
        System.getProperty("java.vm.version"), Runtime.getRuntime().availableProcessors());
    for (int size : sizes) {
      byte[] data = new byte[size];
      new SplittableRandom(1).nextBytes(data);
      Blake3.Impl java = Blake3.javaImpl();
      MessageDigest sha = MessageDigest.getInstance("SHA-256");
      if (Blake3.implementation() == Blake3.Implementation.NATIVE) {
        run("BLAKE3 native (FFM)", size, d -> sink ^= Blake3.hash(d, 0, d.length)[0], data);
      }
      run("BLAKE3 BouncyCastle", size, d -> sink ^= java.hash(d, 0, d.length)[0], data);
      run("SHA-256 JDK", size, d -> sink ^= sha.digest(d)[0], data);
    }
  }

  private static void run(String name, int size, Consumer<byte[]> op, byte[] data) {
    measure(op, data, 1_000_000_000L); // warm-up
    double best = 0;
    for (int round = 0; round < 3; round++) {
      best = Math.max(best, measure(op, data, 700_000_000L));
    }
    System.out.printf("%-22s %8d B inputs: %6.2f GB/s (best of 3)%n", name, size, best);
  }

  /** Bytes per nanosecond (= GB/s) over about {@code nanos}. */
  private static double measure(Consumer<byte[]> op, byte[] data, long nanos) {
    long start = System.nanoTime();
    long end = start + nanos;
    long bytes = 0;
    long now;
    do {
      for (int i = 0; i < 16; i++) {
        op.accept(data);
      }
      bytes += 16L * data.length;
      now = System.nanoTime();
    } while (now < end);
    return (double) bytes / (now - start);
  }
}
