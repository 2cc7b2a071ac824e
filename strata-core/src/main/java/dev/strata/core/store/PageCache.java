package dev.strata.core.store;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Lets written ranges of a file leave the operating system's page cache once they are on disk
 * ({@code posix_fadvise(POSIX_FADV_DONTNEED)} through the FFM API). Linux on x86-64 and aarch64 only;
 * elsewhere, or where the call cannot be linked, {@link #release} does nothing and says so.
 *
 * <p>Why (decision 0008, item 11): a pull writes whole checkpoints that nothing reads back soon.
 * Left in the cache, each written page is a fresh page the kernel must find, and a file bigger than
 * the free memory evicts what the machine's other work had cached. Released behind the writer, the
 * same few hundred MiB of pages are reused for the whole file. Only clean pages go: the caller
 * fsyncs the range first (dirty pages are skipped by the kernel anyway).
 */
public final class PageCache {
    private static final int O_RDONLY_CLOEXEC = 0x80000; // O_RDONLY | O_CLOEXEC on x86-64 and aarch64
    private static final int POSIX_FADV_DONTNEED = 4;
    private static final MethodHandle OPEN;
    private static final MethodHandle FADVISE;
    private static final MethodHandle CLOSE;

    static {
        MethodHandle open = null, fadvise = null, close = null;
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "");
        if (os.startsWith("linux") && (arch.equals("amd64") || arch.equals("aarch64"))) {
            try {
                Linker linker = Linker.nativeLinker();
                SymbolLookup libc = linker.defaultLookup();
                open = linker.downcallHandle(libc.findOrThrow("open"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), Linker.Option.firstVariadicArg(2));
                fadvise = linker.downcallHandle(libc.findOrThrow("posix_fadvise"), FunctionDescriptor.of(ValueLayout.JAVA_INT,
                        ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.JAVA_LONG, ValueLayout.JAVA_INT));
                close = linker.downcallHandle(libc.findOrThrow("close"),
                        FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT));
            } catch (Throwable t) {
                open = fadvise = close = null; // no native access: caching stays the kernel's choice
            }
        }
        OPEN = open;
        FADVISE = fadvise;
        CLOSE = close;
    }

    private PageCache() {}

    /** Whether {@link #release} can do anything on this platform. */
    public static boolean available() {
        return OPEN != null;
    }

    /**
     * Drops the clean cached pages of {@code [offset, offset + length)} of the file. Best effort:
     * returns false where unavailable or when the file cannot be opened; the data is never affected.
     */
    public static boolean release(Path file, long offset, long length) {
        if (OPEN == null || length <= 0) {
            return false;
        }
        try (Arena arena = Arena.ofConfined()) {
            int fd = (int) OPEN.invokeExact(arena.allocateFrom(file.toString()), O_RDONLY_CLOEXEC, 0);
            if (fd < 0) {
                return false;
            }
            try {
                return (int) FADVISE.invokeExact(fd, offset, length, POSIX_FADV_DONTNEED) == 0;
            } finally {
                int ignored = (int) CLOSE.invokeExact(fd);
            }
        } catch (Throwable t) {
            return false;
        }
    }
}
