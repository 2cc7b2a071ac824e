package dev.strata.core.hash;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HexFormat;
import java.util.Locale;
import java.util.Objects;
import org.bouncycastle.crypto.digests.Blake3Digest;

/**
 * BLAKE3-256 (default, unkeyed mode), backed by the official C implementation through the FFM API
 * when {@code native/linux-<os.arch>/libstrata_blake3.so} is on the classpath and loads, else by
 * BouncyCastle's pure-Java {@link Blake3Digest}. Both produce identical output.
 *
 * <p>System property {@code strata.blake3}: {@code auto} (default: native if it loads, else Java),
 * {@code java} (always the fallback), {@code native} (fail at class initialisation if the native
 * library cannot load). The JVM needs {@code --enable-native-access=ALL-UNNAMED} to use the native
 * library without a warning.
 *
 * <p>{@link #hash} is thread-safe and, on the native path, allocation-free apart from the result:
 * each thread reuses its own native hasher state, and heap arrays are passed to C without copying
 * (critical downcalls).
 */
public final class Blake3 {

  /** Output length in bytes. */
  public static final int OUT_LEN = 32;

  /** Which implementation is active. */
  public enum Implementation { NATIVE, JAVA }

  /** Classpath resource of the native library for this platform. */
  static final String RESOURCE = "native/linux-" + System.getProperty("os.arch") + "/libstrata_blake3.so";

  private static final Impl IMPL;
  private static final String NATIVE_FAILURE;

  static {
    String mode = System.getProperty("strata.blake3", "auto").trim().toLowerCase(Locale.ROOT);
    Impl impl = null;
    String failure = null;
    if (mode.equals("java")) {
      failure = "disabled by -Dstrata.blake3=java";
    } else {
      try {
        impl = NativeImpl.load();
      } catch (Throwable t) {
        failure = t instanceof NoLibraryException ? t.getMessage() : t.toString();
        if (mode.equals("native")) {
          throw new ExceptionInInitializerError(
              new IllegalStateException("-Dstrata.blake3=native but the native BLAKE3 library did not load: " + t, t));
        }
        System.getLogger(Blake3.class.getName()).log(System.Logger.Level.WARNING,
            "native BLAKE3 unavailable, using the much slower pure-Java fallback: " + t.getMessage());
      }
    }
    IMPL = impl != null ? impl : JavaImpl.INSTANCE;
    NATIVE_FAILURE = failure;
  }

  private Blake3() {}

  /** The active implementation. */
  public static Implementation implementation() {
    return IMPL.kind();
  }

  /** Why the native implementation is not active, or null when it is. */
  public static String nativeFailure() {
    return NATIVE_FAILURE;
  }

  /** BLAKE3-256 of {@code data}. */
  public static byte[] hash(byte[] data) {
    return IMPL.hash(data, 0, data.length);
  }

  /** BLAKE3-256 of {@code data[off, off+len)}; returns a new 32-byte array. */
  public static byte[] hash(byte[] data, int off, int len) {
    Objects.checkFromIndexSize(off, len, data.length);
    return IMPL.hash(data, off, len);
  }

  /** BLAKE3-256 of the buffer's remaining bytes (heap or direct); the position moves to the limit. */
  public static byte[] hash(ByteBuffer buffer) {
    return IMPL.hash(buffer);
  }

  /** A new incremental hasher (not thread-safe; one per stream). */
  public static Hasher newHasher() {
    return IMPL.newHasher();
  }

  /** Incremental BLAKE3-256. Instances are not thread-safe. */
  public interface Hasher {
    Hasher update(byte[] data, int off, int len);

    default Hasher update(byte[] data) {
      return update(data, 0, data.length);
    }

    /** Consumes the buffer's remaining bytes (position advances to the limit). */
    Hasher update(ByteBuffer buffer);

    /**
     * The hash of everything passed so far. Does not reset: more updates may follow, and a later
     * call returns the hash of the longer input (like {@code blake3_hasher_finalize}).
     */
    byte[] finalizeHash();

    /** Forgets all input, as if newly created. */
    Hasher reset();
  }

  // ---- implementations, package-private so tests can compare them in one JVM ----

  sealed interface Impl permits NativeImpl, JavaImpl {
    Implementation kind();

    byte[] hash(byte[] data, int off, int len);

    default byte[] hash(ByteBuffer buffer) {
      return newHasher().update(buffer).finalizeHash();
    }

    Hasher newHasher();
  }

  /** The active implementation (for tests). */
  static Impl active() {
    return IMPL;
  }

  /** The pure-Java implementation (for tests). */
  static Impl javaImpl() {
    return JavaImpl.INSTANCE;
  }

  static final class NoLibraryException extends Exception {
    NoLibraryException(String message) {
      super(message);
    }
  }

  static final class JavaImpl implements Impl {
    static final JavaImpl INSTANCE = new JavaImpl();
    private static final ThreadLocal<Blake3Digest> DIGEST = ThreadLocal.withInitial(Blake3Digest::new);

    @Override
    public Implementation kind() {
      return Implementation.JAVA;
    }

    @Override
    public byte[] hash(byte[] data, int off, int len) {
      Blake3Digest d = DIGEST.get();
      d.update(data, off, len);
      byte[] out = new byte[OUT_LEN];
      d.doFinal(out, 0); // also resets d
      return out;
    }

    @Override
    public Hasher newHasher() {
      return new JavaHasher();
    }
  }

  private static final class JavaHasher implements Hasher {
    private Blake3Digest digest = new Blake3Digest();

    @Override
    public Hasher update(byte[] data, int off, int len) {
      Objects.checkFromIndexSize(off, len, data.length);
      digest.update(data, off, len);
      return this;
    }

    @Override
    public Hasher update(ByteBuffer buffer) {
      if (buffer.hasArray()) {
        int n = buffer.remaining();
        digest.update(buffer.array(), buffer.arrayOffset() + buffer.position(), n);
        buffer.position(buffer.limit());
      } else {
        byte[] tmp = new byte[Math.min(buffer.remaining(), 64 * 1024)];
        while (buffer.hasRemaining()) {
          int n = Math.min(tmp.length, buffer.remaining());
          buffer.get(tmp, 0, n);
          digest.update(tmp, 0, n);
        }
      }
      return this;
    }

    @Override
    public byte[] finalizeHash() {
      byte[] out = new byte[OUT_LEN];
      new Blake3Digest(digest).doFinal(out, 0); // finalise a copy: this hasher keeps its state
      return out;
    }

    @Override
    public Hasher reset() {
      // Not digest.reset(): in bcprov 1.86 it leaves stale chaining values behind once more than
      // one 1 KiB chunk was absorbed, and the next hash comes out wrong (doFinal's reset is fine).
      digest = new Blake3Digest();
      return this;
    }
  }

  static final class NativeImpl implements Impl {
    /** sizeof(blake3_hasher) is 1912 bytes (alignment 8) in BLAKE3 1.3.1; reserve headroom. */
    static final long STATE_SIZE = 2048;
    /**
     * Largest slice passed to one critical call: a critical call cannot reach a safepoint, so this
     * bounds the time a huge update can delay GC (~0.1-1 ms). A multiple of the 1 KiB chunk size,
     * so splitting costs no SIMD parallelism.
     */
    static final int MAX_SLICE = 1 << 20;

    private static final String EMPTY_HASH = "af1349b9f5f9a1a6a0404dea36dcc9499bcb25c9adc112b7cc9a93cae41f3262";

    private final MethodHandle init;
    private final MethodHandle update;
    private final MethodHandle finalizeHandle;
    private final ThreadLocal<MemorySegment> state =
        ThreadLocal.withInitial(() -> Arena.ofAuto().allocate(STATE_SIZE, 8));

    private NativeImpl(SymbolLookup lib) {
      Linker linker = Linker.nativeLinker();
      Linker.Option critical = Linker.Option.critical(true); // heap segments passed without copying
      init = linker.downcallHandle(lib.findOrThrow("blake3_hasher_init"),
          FunctionDescriptor.ofVoid(ValueLayout.ADDRESS), Linker.Option.critical(false));
      update = linker.downcallHandle(lib.findOrThrow("blake3_hasher_update"),
          FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), critical);
      finalizeHandle = linker.downcallHandle(lib.findOrThrow("blake3_hasher_finalize"),
          FunctionDescriptor.ofVoid(ValueLayout.ADDRESS, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG), critical);
    }

    static NativeImpl load() throws Exception {
      if (!System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux")) {
        throw new NoLibraryException("native BLAKE3 is built for Linux only");
      }
      if (!ValueLayout.JAVA_LONG.equals(Linker.nativeLinker().canonicalLayouts().get("size_t"))) {
        throw new NoLibraryException("size_t is not 64-bit on this platform");
      }
      Path file;
      try (InputStream in = Blake3.class.getClassLoader().getResourceAsStream(RESOURCE)) {
        if (in == null) {
          throw new NoLibraryException("no " + RESOURCE + " on the classpath");
        }
        file = Files.createTempFile("libstrata_blake3-", ".so");
        try {
          Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
          Files.deleteIfExists(file);
          throw e;
        }
      }
      NativeImpl impl;
      try {
        // Once loaded the mapping keeps the code alive; the file itself is not needed any more.
        impl = new NativeImpl(SymbolLookup.libraryLookup(file, Arena.global()));
      } finally {
        Files.deleteIfExists(file);
      }
      String got = HexFormat.of().formatHex(impl.hash(new byte[0], 0, 0));
      if (!got.equals(EMPTY_HASH)) {
        throw new IllegalStateException("native BLAKE3 self-test failed: hash(\"\") = " + got);
      }
      return impl;
    }

    @Override
    public Implementation kind() {
      return Implementation.NATIVE;
    }

    @Override
    public byte[] hash(byte[] data, int off, int len) {
      MemorySegment s = state.get();
      init(s);
      update(s, MemorySegment.ofArray(data), off, len);
      return finish(s);
    }

    @Override
    public byte[] hash(ByteBuffer buffer) {
      MemorySegment s = state.get();
      init(s);
      int n = buffer.remaining();
      update(s, MemorySegment.ofBuffer(buffer), 0, n); // ofBuffer starts at the position
      buffer.position(buffer.limit());
      return finish(s);
    }

    @Override
    public Hasher newHasher() {
      MemorySegment s = Arena.ofAuto().allocate(STATE_SIZE, 8);
      init(s);
      return new NativeHasher(this, s);
    }

    void init(MemorySegment s) {
      try {
        init.invokeExact(s);
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }

    /** Hashes {@code seg[off, off+len)} (a heap or native segment) into state {@code s}. */
    void update(MemorySegment s, MemorySegment seg, long off, long len) {
      try {
        while (len > 0) {
          long n = Math.min(len, MAX_SLICE);
          update.invokeExact(s, seg.asSlice(off, n), n);
          off += n;
          len -= n;
        }
      } catch (Throwable t) {
        throw rethrow(t);
      }
    }

    byte[] finish(MemorySegment s) {
      byte[] out = new byte[OUT_LEN];
      try {
        finalizeHandle.invokeExact(s, MemorySegment.ofArray(out), (long) OUT_LEN);
      } catch (Throwable t) {
        throw rethrow(t);
      }
      return out;
    }

    private static RuntimeException rethrow(Throwable t) {
      if (t instanceof RuntimeException r) {
        throw r;
      }
      if (t instanceof Error e) {
        throw e;
      }
      throw new IllegalStateException(t);
    }
  }

  private static final class NativeHasher implements Hasher {
    private final NativeImpl impl;
    private final MemorySegment state;

    NativeHasher(NativeImpl impl, MemorySegment state) {
      this.impl = impl;
      this.state = state;
    }

    @Override
    public Hasher update(byte[] data, int off, int len) {
      Objects.checkFromIndexSize(off, len, data.length);
      impl.update(state, MemorySegment.ofArray(data), off, len);
      return this;
    }

    @Override
    public Hasher update(ByteBuffer buffer) {
      int n = buffer.remaining();
      impl.update(state, MemorySegment.ofBuffer(buffer), 0, n); // ofBuffer starts at the position
      buffer.position(buffer.limit());
      return this;
    }

    @Override
    public byte[] finalizeHash() {
      return impl.finish(state);
    }

    @Override
    public Hasher reset() {
      impl.init(state);
      return this;
    }
  }
}
