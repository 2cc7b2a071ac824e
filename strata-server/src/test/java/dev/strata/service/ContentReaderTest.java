package dev.strata.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.ChunkRef;
import dev.strata.core.CorruptDataException;
import dev.strata.core.FileManifest;
import dev.strata.core.store.ReadCheck;
import dev.strata.core.store.TestBytes;
import dev.strata.core.store.TestChunks;
import dev.strata.core.store.local.LocalPackStore;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Files served from a real pack store: every range bit-exact with either read check, and a chunk
 * damaged on disk never served, whether the server checks ids or only checksums.
 */
class ContentReaderTest {
    @TempDir Path tmp;
    final Random random = new Random(23);

    /** Large raw chunks (the direct-buffer path) and small ones (the heap path), as a file. */
    List<TestChunks> chunks() {
        List<TestChunks> out = new ArrayList<>();
        for (int i = 0; i < 12; i++) {
            out.add(TestChunks.random(random, i % 3 == 0 ? 4_000 + i : (1 << 20) - i * 1000));
        }
        return out;
    }

    static byte[] concat(List<TestChunks> cs) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        cs.forEach(c -> out.writeBytes(c.raw()));
        return out.toByteArray();
    }

    static byte[] read(ContentReader reader, FileManifest m, long start, long end, ReadCheck check) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        reader.write(m, start, end, check, ContentReader.Sink.of(out));
        return out.toByteArray();
    }

    @Test
    void everyRangeIsBitExactWithEitherCheck() throws Exception {
        List<TestChunks> cs = chunks();
        byte[] file = concat(cs);
        FileManifest m = new FileManifest(cs.stream().map(c -> new ChunkRef(c.id(), c.raw().length)).toList());
        try (LocalPackStore store = LocalPackStore.open(tmp.resolve("store"))) {
            cs.forEach(c -> store.put(c.id(), c.encoded()));
            store.flush();
            ContentReader reader = new ContentReader(store);
            for (ReadCheck check : ReadCheck.values()) {
                assertArrayEquals(file, read(reader, m, 0, file.length, check), check.name());
                for (int k = 0; k < 20; k++) {
                    int a = random.nextInt(file.length), b = a + random.nextInt(file.length - a + 1);
                    assertArrayEquals(Arrays.copyOfRange(file, a, b), read(reader, m, a, b, check), check + " " + a + "-" + b);
                }
            }
        }
    }

    @Test
    void aChunkDamagedOnDiskIsNeverServedWithEitherCheck() throws Exception {
        List<TestChunks> cs = chunks();
        FileManifest m = new FileManifest(cs.stream().map(c -> new ChunkRef(c.id(), c.raw().length)).toList());
        Path dir = tmp.resolve("damaged");
        try (LocalPackStore store = LocalPackStore.open(dir)) {
            cs.forEach(c -> store.put(c.id(), c.encoded()));
            store.flush();
            // Flip one bit inside a large chunk's data (found by its bytes in the pack) under the open store.
            TestChunks victim = cs.get(4);
            byte[] needle = Arrays.copyOfRange(victim.raw(), 5000, 5064);
            boolean flipped = false;
            try (Stream<Path> files = Files.walk(dir)) {
                for (Path p : files.filter(Files::isRegularFile).toList()) {
                    byte[] all = Files.readAllBytes(p);
                    int at = TestBytes.find(all, needle);
                    if (at >= 0) {
                        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
                            ch.write(ByteBuffer.wrap(new byte[] {(byte) (all[at + 10] ^ 0x20)}), at + 10);
                        }
                        flipped = true;
                    }
                }
            }
            assertTrue(flipped, "the chunk's bytes were found in a pack");
            ContentReader reader = new ContentReader(store);
            for (ReadCheck check : ReadCheck.values()) {
                assertThrows(CorruptDataException.class, () -> read(reader, m, 0, concat(cs).length, check), check.name());
                byte[] before = concat(cs.subList(0, 4));
                assertArrayEquals(before, read(reader, m, 0, before.length, check), "chunks before the damage still read");
            }
        }
    }

}
