package dev.strata.core.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PageCacheTest {
    @TempDir
    Path dir;

    /** This build runs on Linux x86-64 (CI included): the native call must link there. */
    @Test
    void availableOnLinux() {
        boolean linux = System.getProperty("os.name").startsWith("Linux")
                && List.of("amd64", "aarch64").contains(System.getProperty("os.arch"));
        assertTrue(!linux || PageCache.available());
    }

    /** Residency is read with mincore (MappedByteBuffer.isLoaded maps nothing in). */
    @Test
    void releasedPagesLeaveTheCacheAndTheDataStays() throws Exception {
        Path f = dir.resolve("f");
        byte[] data = new byte[8 << 20];
        new Random(7).nextBytes(data);
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE,
                StandardOpenOption.READ)) {
            ch.write(ByteBuffer.wrap(data));
            ch.force(false);
            MappedByteBuffer map = ch.map(FileChannel.MapMode.READ_ONLY, 0, data.length);
            assertTrue(map.isLoaded(), "a file just written is in the page cache");
            assertTrue(PageCache.release(f, 0, data.length));
            assertFalse(map.isLoaded(), "released pages are no longer resident");
        }
        assertArrayEquals(data, Files.readAllBytes(f));
    }

    @Test
    void releaseIsBestEffort() {
        assertFalse(PageCache.release(dir.resolve("missing"), 0, 4096));
        assertFalse(PageCache.release(dir, 0, 0));
    }
}
