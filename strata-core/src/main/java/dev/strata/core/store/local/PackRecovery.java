package dev.strata.core.store.local;

import dev.strata.core.CorruptDataException;
import dev.strata.core.pack.IndexEntry;
import dev.strata.core.pack.PackFormat;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;
import java.util.Set;

/**
 * Opens one pack file found on disk and brings it to a state the store can use, following the
 * recovery rules of docs/format.md ("Recovery"). Repairs only ever remove bytes that no valid entry
 * covers, and copy them to {@code damaged/} first, so a recovery bug or a crash mid-repair loses
 * nothing that was readable before.
 */
final class PackRecovery {
    /** A pack ready for the store: its entries, and whether bytes past them had to be cut. */
    record Recovered(Pack pack, List<IndexEntry> entries, boolean repaired, boolean writable) {}

    private static final Set<OpenOption> READ_WRITE = Set.of(StandardOpenOption.READ, StandardOpenOption.WRITE);
    private static final Set<OpenOption> READ_ONLY = Set.of(StandardOpenOption.READ);

    private PackRecovery() {}

    /**
     * Returns the recovered pack, or null when the file holds no valid entry (it is then removed,
     * its bytes kept under {@code damagedDir} if there were any past a header).
     */
    static Recovered open(Path file, Path damagedDir, LocalPackStore.ChannelOpener opener) throws IOException {
        String name = file.getFileName().toString();
        String id = name.substring(0, name.length() - ".pack".length());
        if (!PackFormat.isPackId(id)) {
            return null; // not a file this store wrote; leave it alone
        }
        boolean writable = true;
        FileChannel ch;
        try {
            ch = opener.open(file, READ_WRITE);
        } catch (AccessDeniedException e) {
            ch = opener.open(file, READ_ONLY);
            writable = false;
        } catch (FileSystemException e) {
            if (!String.valueOf(e.getReason()).contains("Read-only")) {
                throw e;
            }
            ch = opener.open(file, READ_ONLY);
            writable = false;
        }
        try {
            long size = ch.size();
            if (!headerValid(ch, size, id)) {
                ch.close();
                if (writable) {
                    quarantine(file, damagedDir, id + ".header-damaged.pack");
                }
                return null;
            }
            List<IndexEntry> footer = PackScan.readFooter(ch, size);
            if (footer != null) {
                return new Recovered(new Pack(id, file, ch, writable, size, footer.size(), true), footer, false, writable);
            }
            PackScan.Result scan = PackScan.scan(ch, size);
            boolean repaired = false;
            if (scan.validEnd() < size && writable) {
                saveTail(ch, scan.validEnd(), size, damagedDir.resolve(id + "." + scan.validEnd() + ".tail"));
                ch.truncate(scan.validEnd());
                ch.force(true);
                repaired = true;
            }
            if (scan.entries().isEmpty() && writable) {
                ch.close();
                Files.delete(file);
                return null;
            }
            return new Recovered(new Pack(id, file, ch, writable, scan.validEnd(), scan.entries().size(), false), scan.entries(), repaired, writable);
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    private static boolean headerValid(FileChannel ch, long size, String id) throws IOException {
        if (size < PackFormat.FILE_HEADER_LENGTH) {
            return false;
        }
        byte[] h = new byte[PackFormat.FILE_HEADER_LENGTH];
        PackScan.readFully(ch, ByteBuffer.wrap(h), 0);
        try {
            return PackFormat.decodeFileHeader(h).equals(id);
        } catch (CorruptDataException e) {
            return false;
        }
    }

    private static void saveTail(FileChannel ch, long from, long to, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            long pos = from;
            while (pos < to) {
                pos += ch.transferTo(pos, to - pos, out);
            }
            out.force(true);
        }
        LocalPackStore.fsyncDirectory(target.getParent());
    }

    private static void quarantine(Path file, Path damagedDir, String name) throws IOException {
        if (Files.size(file) == 0) {
            Files.delete(file);
            return;
        }
        Files.createDirectories(damagedDir);
        Files.move(file, damagedDir.resolve(name), StandardCopyOption.REPLACE_EXISTING);
        LocalPackStore.fsyncDirectory(damagedDir);
    }
}
