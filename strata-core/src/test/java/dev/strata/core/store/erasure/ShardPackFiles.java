package dev.strata.core.store.erasure;

import dev.strata.core.CorruptDataException;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.stream.Stream;

/**
 * Test support: finds shard entries in the shard pack files ({@code <dir>/shards/<pack>.shp}) of an
 * erasure-coded store, independently of the store, and damages them in place (flipped bits, zeroed
 * entries, another stripe's entry written over one) to simulate what disks do.
 */
public final class ShardPackFiles {
    private ShardPackFiles() {}

    /**
     * One entry: its file, offset, length (header + shard bytes as the header says), chunk id (hex)
     * and shard index, and whether its header and shard CRC32C check out.
     */
    public record ShardEntry(Path file, long offset, int length, String chunk, int index, boolean intact) {
        /** The data directory holding it ({@code <dir>/shards/<pack>.shp}). */
        public Path dir() {
            return file.getParent().getParent();
        }

        public String pack() {
            String n = file.getFileName().toString();
            return n.substring(0, n.length() - ErasureCodedChunkStore.SHARD_PACK_SUFFIX.length());
        }

        /** Where this entry's shard bytes start in the file. */
        public long dataOffset() {
            return offset + ShardHeader.LENGTH;
        }
    }

    /** Every shard pack file under {@code root}, sorted. */
    public static List<Path> files(Path root) {
        if (!Files.exists(root)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(p -> Files.isRegularFile(p) && p.getFileName().toString().endsWith(ErasureCodedChunkStore.SHARD_PACK_SUFFIX))
                    .sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The entries of one file in file order: parsed by length, skipping to the next valid header after damage. */
    public static List<ShardEntry> entries(Path file) {
        byte[] b;
        try {
            b = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<ShardEntry> out = new ArrayList<>();
        int pos = 0;
        while (pos + ShardHeader.LENGTH <= b.length) {
            ShardHeader h = header(b, pos);
            if (h == null) {
                pos++;
                continue;
            }
            long len = ShardHeader.LENGTH + (long) h.shardLength();
            boolean intact = pos + len <= b.length && ShardHeader.crc(b, pos + ShardHeader.LENGTH, h.shardLength()) == h.shardCrc();
            out.add(new ShardEntry(file, pos, (int) len, h.id().hex(), h.shardIndex(), intact));
            // an entry that checks out is skipped whole; a damaged one may carry a wrong length: look inside it too
            pos = intact ? (int) (pos + len) : pos + 1;
        }
        return out;
    }

    private static ShardHeader header(byte[] b, int pos) {
        if (b[pos] != 'S' || b[pos + 1] != 'T' || b[pos + 2] != 'R' || b[pos + 3] != 'S') {
            return null;
        }
        try {
            ShardHeader h = ShardHeader.decode(java.util.Arrays.copyOfRange(b, pos, pos + ShardHeader.LENGTH), "entry");
            return h;
        } catch (CorruptDataException e) {
            return null;
        }
    }

    /** Every entry of every shard pack file under {@code root}. */
    public static List<ShardEntry> entries(Path root, boolean intactOnly) {
        List<ShardEntry> out = new ArrayList<>();
        for (Path f : files(root)) {
            for (ShardEntry e : entries(f)) {
                if (!intactOnly || e.intact()) {
                    out.add(e);
                }
            }
        }
        return out;
    }

    /** The intact shards of each chunk (hex id), one per shard index (the last in its file), ordered by index. */
    public static Map<String, List<ShardEntry>> byChunk(Path root) {
        Map<String, Map<Integer, ShardEntry>> m = new TreeMap<>();
        for (ShardEntry e : entries(root, true)) {
            m.computeIfAbsent(e.chunk(), x -> new TreeMap<>()).put(e.index(), e);
        }
        Map<String, List<ShardEntry>> out = new TreeMap<>();
        m.forEach((id, byIndex) -> out.put(id, new ArrayList<>(byIndex.values())));
        return out;
    }

    /** The intact shards of one chunk, ordered by shard index. */
    public static List<ShardEntry> shardsOf(Path root, String chunkHex) {
        return byChunk(root).getOrDefault(chunkHex, List.of());
    }

    /** The intact shard {@code index} of a chunk. */
    public static ShardEntry shard(Path root, String chunkHex, int index) {
        return shardsOf(root, chunkHex).stream().filter(e -> e.index() == index).findFirst()
                .orElseThrow(() -> new AssertionError("no intact shard " + index + " of " + chunkHex));
    }

    /**
     * What a perfect repair restores: for every intact shard, "data dir name/pack/chunk.index" to the
     * bytes of its entry (the last intact one in its file: a repair is appended after the damage).
     */
    public static Map<String, byte[]> snapshot(Path root) {
        Map<String, byte[]> out = new TreeMap<>();
        for (ShardEntry e : entries(root, true)) {
            out.put(e.dir().getFileName() + "/" + e.pack() + "/" + e.chunk() + "." + e.index(), read(e));
        }
        return out;
    }

    public static byte[] read(ShardEntry e) {
        try (RandomAccessFile f = new RandomAccessFile(e.file().toFile(), "r")) {
            byte[] b = new byte[e.length()];
            f.seek(e.offset());
            f.readFully(b);
            return b;
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }

    /** Writes {@code bytes} over the file at {@code offset} (no append, no truncation). */
    public static void overwrite(Path file, long offset, byte[] bytes) {
        try (RandomAccessFile f = new RandomAccessFile(file.toFile(), "rw")) {
            f.seek(offset);
            f.write(bytes);
        } catch (IOException x) {
            throw new UncheckedIOException(x);
        }
    }

    /** Flips bit {@code bit} of the entry (counted from the start of its header). */
    public static void flipBit(ShardEntry e, long bit) {
        byte[] b = read(e);
        b[(int) (bit / 8)] ^= (byte) (1 << (bit % 8));
        overwrite(e.file(), e.offset(), b);
    }

    /** Zeroes the entry's bytes from {@code from} (counted from the start of its header) to its end. */
    public static void zero(ShardEntry e, int from) {
        overwrite(e.file(), e.offset() + from, new byte[e.length() - from]);
    }

    /** The shard is gone: its whole entry zeroed, header included. */
    public static void erase(ShardEntry e) {
        zero(e, 0);
    }

    public static void deleteTree(Path p) throws IOException {
        try (Stream<Path> s = Files.walk(p)) {
            for (Path x : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(x);
            }
        }
    }
}
