package dev.strata.core.hash;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.junit.jupiter.api.Test;

class Blake3Test {

  private static final HexFormat HEX = HexFormat.of();

  /**
   * First 32 bytes of the "hash" outputs of the official vectors
   * (github.com/BLAKE3-team/BLAKE3 test_vectors/test_vectors.json): input i-th byte = i % 251.
   */
  private static final Object[][] VECTORS = {
      {0, "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262"},
      {1, "2d3adedff11b61f14c886e35afa036736dcd87a74d27b5c1510225d0f592e213"},
      {1023, "10108970eeda3eb932baac1428c7a2163b0e924c9a9e25b35bba72b28f70bd11"},
      {1024, "42214739f095a406f3fc83deb889744ac00df831c10daa55189b5d121c855af7"},
      {1025, "d00278ae47eb27b34faecf67b4fe263f82d5412916c1ffd97c8cb7fb814b8444"},
      {2048, "e776b6028c7cd22a4d0ba182a8bf62205d2ef576467e838ed6f2529b85fba24a"},
      {2049, "5f4d72f40d7a5f82b15ca2b2e44b1de3c2ef86c426c95c1af0b6879522563030"},
      {3072, "b98cb0ff3623be03326b373de6b9095218513e64f1ee2edd2525c7ad1e5cffd2"},
      {3073, "7124b49501012f81cc7f11ca069ec9226cecb8a2c850cfe644e327d22d3e1cd3"},
      {4096, "015094013f57a5277b59d8475c0501042c0b642e531b0a1c8f58d2163229e969"},
      {4097, "9b4052b38f1c5fc8b1f9ff7ac7b27cd242487b3d890d15c96a1c25b8aa0fb995"},
      {5120, "9cadc15fed8b5d854562b26a9536d9707cadeda9b143978f319ab34230535833"},
      {8193, "bab6c09cb8ce8cf459261398d2e7aef35700bf488116ceb94a36d0f5f1b7bc3b"},
      {16384, "f875d6646de28985646f34ee13be9a576fd515f76b5b0a26bb324735041ddde4"},
      {31744, "62b6960e1a44bcc1eb1a611a8d6235b6b4b78f32e7abc4fb4c6cdcce94895c47"},
      {102400, "bc3e3d41a1146b069abffad3c0d44860cf664390afce4d9661f7902e7943e085"},
  };

  private static final int[] LENGTHS = {0, 1, 63, 64, 65, 1023, 1024, 1025, 2048, 4096, 65536, 262144};

  private static byte[] vectorInput(int len) {
    byte[] b = new byte[len];
    for (int i = 0; i < len; i++) {
      b[i] = (byte) (i % 251);
    }
    return b;
  }

  private static byte[] random(SplittableRandom rnd, int len) {
    byte[] b = new byte[len];
    rnd.nextBytes(b);
    return b;
  }

  @Test
  void nativeIsActiveWhenTheLibraryIsOnTheClasspath() {
    boolean onClasspath = Blake3.class.getClassLoader().getResource(Blake3.RESOURCE) != null;
    if (onClasspath && !"java".equals(System.getProperty("strata.blake3"))) {
      assertEquals(Blake3.Implementation.NATIVE, Blake3.implementation(),
          Blake3.RESOURCE + " is on the classpath but did not load: " + Blake3.nativeFailure());
      assertNull(Blake3.nativeFailure());
    } else {
      System.err.println("Blake3Test: native BLAKE3 not built here; testing the pure-Java fallback only ("
          + Blake3.nativeFailure() + ")");
      assertEquals(Blake3.Implementation.JAVA, Blake3.implementation());
      assertNotNull(Blake3.nativeFailure());
    }
  }

  @Test
  void officialTestVectors() {
    for (Object[] v : VECTORS) {
      int len = (Integer) v[0];
      String expected = (String) v[1];
      byte[] input = vectorInput(len);
      assertEquals(expected, HEX.formatHex(Blake3.hash(input)), "active, len " + len);
      assertEquals(expected, HEX.formatHex(Blake3.javaImpl().hash(input, 0, len)), "java, len " + len);
      Blake3.Hasher h = Blake3.newHasher();
      for (int off = 0; off < len; ) { // uneven pieces cross block and chunk boundaries
        int n = Math.min(len - off, 1 + off % 700);
        h.update(input, off, n);
        off += n;
      }
      assertEquals(expected, HEX.formatHex(h.finalizeHash()), "incremental, len " + len);
    }
    assertEquals("6437b3ac38465133ffb63b75273a8db548c558465d79db03fd359c6cd5bd9d85",
        HEX.formatHex(Blake3.hash("abc".getBytes(StandardCharsets.US_ASCII))));
  }

  @Test
  void nativeAndJavaAgreeOnRandomInputs() {
    SplittableRandom rnd = new SplittableRandom(42);
    List<Integer> lengths = new ArrayList<>();
    for (int len : LENGTHS) {
      lengths.add(len);
    }
    for (int i = 0; i < 40; i++) {
      lengths.add(rnd.nextInt(i < 30 ? 5000 : 300_000));
    }
    lengths.add(3 * Blake3.NativeImpl.MAX_SLICE + 12345); // several critical-call slices
    for (int len : lengths) {
      int off = rnd.nextInt(17);
      byte[] buf = random(rnd, off + len + rnd.nextInt(17));
      byte[] expected = Blake3.javaImpl().hash(buf, off, len);
      assertEquals(Blake3.OUT_LEN, expected.length);
      assertArrayEquals(expected, Blake3.hash(buf, off, len), "len " + len + " off " + off);
      // incremental, random split points
      Blake3.Hasher h = Blake3.newHasher();
      int pos = off;
      while (pos < off + len) {
        int n = Math.min(off + len - pos, rnd.nextInt(1 + rnd.nextInt(70_000)));
        h.update(buf, pos, n);
        pos += n;
      }
      assertArrayEquals(expected, h.finalizeHash(), "incremental len " + len);
    }
  }

  @Test
  void hasherFinalizeDoesNotResetAndResetForgets() {
    for (Blake3.Hasher h : List.of(Blake3.newHasher(), Blake3.javaImpl().newHasher())) {
      byte[] a = "hello ".getBytes(StandardCharsets.UTF_8);
      byte[] b = "world".getBytes(StandardCharsets.UTF_8);
      h.update(a);
      assertArrayEquals(Blake3.hash(a), h.finalizeHash());
      assertArrayEquals(Blake3.hash(a), h.finalizeHash());
      h.update(b);
      assertArrayEquals(Blake3.hash("hello world".getBytes(StandardCharsets.UTF_8)), h.finalizeHash());
      h.reset();
      assertArrayEquals(Blake3.hash(new byte[0]), h.finalizeHash());
      // reset after more than one 1 KiB chunk (bcprov's own Blake3Digest.reset() gets this wrong)
      byte[] big = vectorInput(5000);
      h.update(big).reset().update(big, 0, 3000);
      assertArrayEquals(Blake3.hash(big, 0, 3000), h.finalizeHash());
    }
  }

  @Test
  void hasherAcceptsByteBuffers() {
    byte[] data = random(new SplittableRandom(7), 200_000);
    byte[] expected = Blake3.javaImpl().hash(data, 1000, 150_000);
    ByteBuffer direct = ByteBuffer.allocateDirect(data.length).put(data).flip();
    List<ByteBuffer> buffers = List.of(ByteBuffer.wrap(data), ByteBuffer.wrap(data).asReadOnlyBuffer(),
        direct, direct.asReadOnlyBuffer(), ByteBuffer.wrap(data).slice(500, 199_000));
    for (Blake3.Hasher h : List.of(Blake3.newHasher(), Blake3.javaImpl().newHasher())) {
      for (ByteBuffer buf : buffers) {
        ByteBuffer b = buf.duplicate();
        int base = buf.capacity() == data.length ? 0 : 500;
        b.limit(1000 - base + 150_000).position(1000 - base);
        h.reset().update(b);
        assertEquals(b.limit(), b.position());
        assertArrayEquals(expected, h.finalizeHash(), buf.toString());
      }
    }
    // the one-shot form, both implementations, over several critical-call slices too
    byte[] big = random(new SplittableRandom(8), 2 * Blake3.NativeImpl.MAX_SLICE + 777);
    ByteBuffer bigDirect = ByteBuffer.allocateDirect(big.length + 3).position(3).put(big).position(3);
    for (Blake3.Impl impl : List.of(Blake3.active(), Blake3.javaImpl())) {
      for (ByteBuffer buf : buffers) {
        ByteBuffer b = buf.duplicate();
        int base = buf.capacity() == data.length ? 0 : 500;
        b.limit(1000 - base + 150_000).position(1000 - base);
        assertArrayEquals(expected, impl.hash(b), buf.toString());
        assertEquals(b.limit(), b.position());
      }
      assertArrayEquals(Blake3.javaImpl().hash(big, 0, big.length), impl.hash(bigDirect.duplicate()));
    }
    assertArrayEquals(expected, Blake3.hash(direct.duplicate().position(1000).limit(151_000)));
  }

  @Test
  void rejectsBadRanges() {
    byte[] b = new byte[10];
    assertThrows(IndexOutOfBoundsException.class, () -> Blake3.hash(b, -1, 2));
    assertThrows(IndexOutOfBoundsException.class, () -> Blake3.hash(b, 5, 6));
    assertThrows(IndexOutOfBoundsException.class, () -> Blake3.newHasher().update(b, 9, 2));
    assertArrayEquals(Blake3.hash(new byte[0]), Blake3.hash(b, 10, 0));
  }

  @Test
  void concurrentUseGivesTheRightAnswers() throws Exception {
    SplittableRandom rnd = new SplittableRandom(3);
    int inputs = 32;
    byte[][] data = new byte[inputs][];
    byte[][] expected = new byte[inputs][];
    for (int i = 0; i < inputs; i++) {
      data[i] = random(rnd, rnd.nextInt(70_000));
      expected[i] = Blake3.javaImpl().hash(data[i], 0, data[i].length);
    }
    ExecutorService pool = Executors.newFixedThreadPool(8);
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 8; t++) {
        int seed = t;
        futures.add(pool.submit(() -> {
          Random r = new Random(seed);
          for (int k = 0; k < 400; k++) {
            int i = r.nextInt(inputs);
            assertArrayEquals(expected[i], Blake3.hash(data[i]), "input " + i);
            if (k % 20 == 0) {
              Blake3.Hasher h = Blake3.newHasher();
              int half = data[i].length / 2;
              h.update(data[i], 0, half).update(data[i], half, data[i].length - half);
              assertArrayEquals(expected[i], h.finalizeHash(), "hasher input " + i);
            }
          }
          return null;
        }));
      }
      for (Future<?> f : futures) {
        f.get(); // rethrows assertion failures
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void systemPropertySelectsTheImplementation() throws Exception {
    String expected = HEX.formatHex(Blake3.hash(vectorInput(5000)));
    assertEquals("JAVA " + expected, runWith("java"));
    if (Blake3.implementation() == Blake3.Implementation.NATIVE) {
      assertEquals("NATIVE " + expected, runWith("native"));
    }
  }

  private static String runWith(String mode) throws IOException, InterruptedException {
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process p = new ProcessBuilder(java.toString(), "-Xshare:auto", "-XX:TieredStopAtLevel=1",
        "--enable-native-access=ALL-UNNAMED", "-Dstrata.blake3=" + mode,
        "-cp", System.getProperty("java.class.path"), Blake3Test.class.getName())
        .redirectErrorStream(true).start();
    String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
    assertEquals(0, p.waitFor(), out);
    return out;
  }

  /** Child process for {@link #systemPropertySelectsTheImplementation}. */
  public static void main(String[] args) {
    System.out.println(Blake3.implementation() + " " + HEX.formatHex(Blake3.hash(vectorInput(5000))));
  }
}
