package dev.strata.core.tensor;

import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * PyTorch {@code torch.save} archives: a zip whose entries are all STORED, with
 * {@code <prefix>/data.pkl} (the pickled object, read by {@link TorchPickle}) and one entry
 * {@code <prefix>/data/<key>} per storage holding its raw bytes. The zip is read from its central
 * directory (ZIP64 aware), every offset and size bounds-checked; each storage's bytes become a
 * TENSOR segment at its local data offset, the rest (local headers, pickle, small records, the
 * central directory) OTHER. A compressed entry makes the file unknown.
 */
final class TorchZip {
    static final String FORMAT = "torch-zip";
    static final int LOCAL_HEADER_SIG = 0x04034b50;
    static final int CENTRAL_SIG = 0x02014b50;
    static final int EOCD_SIG = 0x06054b50;
    static final int ZIP64_LOCATOR_SIG = 0x07064b50;
    static final int ZIP64_EOCD_SIG = 0x06064b50;
    static final int MAX_ENTRIES = 1 << 20;
    static final long MAX_CENTRAL_DIRECTORY = 128L << 20;
    static final int MAX_PICKLE = 128 << 20;
    private static final int EOCD_MIN = 22;
    private static final int MAX_COMMENT = 0xffff;

    private record Entry(String name, long localHeader, long compressedSize, long size, int method) {}

    private TorchZip() {}

    static TensorLayout parse(FileChannel ch, long size) throws IOException {
        ChannelReader r = new ChannelReader(ch, size, 0);
        if (size < EOCD_MIN) {
            throw new InvalidInputException("zip: too short");
        }
        long eocd = findEocd(r);
        r.seek(eocd + 8);
        long count = r.u16();
        r.skip(2);
        long cdSize = r.u32();
        long cdOffset = r.u32();
        if (count == 0xffff || cdSize == 0xffffffffL || cdOffset == 0xffffffffL) {
            if (eocd < 20) {
                throw new InvalidInputException("zip: ZIP64 locator missing");
            }
            r.seek(eocd - 20);
            if (r.i32() != ZIP64_LOCATOR_SIG) {
                throw new InvalidInputException("zip: ZIP64 locator missing");
            }
            r.skip(4);
            long z64 = r.u64();
            if (z64 > eocd - 20 - 56) {
                throw new InvalidInputException("zip: ZIP64 end record out of place");
            }
            r.seek(z64);
            if (r.i32() != ZIP64_EOCD_SIG) {
                throw new InvalidInputException("zip: bad ZIP64 end record");
            }
            r.skip(8 + 2 + 2 + 4 + 4 + 8);
            count = r.u64();
            cdSize = r.u64();
            cdOffset = r.u64();
        }
        if (count > MAX_ENTRIES || cdSize > MAX_CENTRAL_DIRECTORY || cdOffset > size || cdSize > size - cdOffset
                || count > cdSize / 46) {
            throw new InvalidInputException("zip: central directory of " + count + " entries, " + cdSize + " bytes at " + cdOffset + " is invalid");
        }
        r.seek(cdOffset);
        List<Entry> entries = new ArrayList<>((int) count);
        for (long i = 0; i < count; i++) {
            if (r.i32() != CENTRAL_SIG) {
                throw new InvalidInputException("zip: bad central directory entry");
            }
            r.skip(6);
            int method = r.u16();
            r.skip(8);
            long csize = r.u32();
            long usize = r.u32();
            int nameLen = r.u16();
            int extraLen = r.u16();
            int commentLen = r.u16();
            r.skip(8);
            long lho = r.u32();
            String name = ChannelReader.utf8(r.bytes(nameLen));
            long extraEnd = r.position() + extraLen;
            if (extraEnd > cdOffset + cdSize) {
                throw new InvalidInputException("zip: central entry runs past the directory");
            }
            while (r.position() + 4 <= extraEnd) {
                int id = r.u16();
                int len = r.u16();
                long fieldEnd = r.position() + len;
                if (fieldEnd > extraEnd) {
                    throw new InvalidInputException("zip: extra field runs past its entry");
                }
                if (id == 0x0001) {
                    if (usize == 0xffffffffL) {
                        usize = zip64Field(r, fieldEnd);
                    }
                    if (csize == 0xffffffffL) {
                        csize = zip64Field(r, fieldEnd);
                    }
                    if (lho == 0xffffffffL) {
                        lho = zip64Field(r, fieldEnd);
                    }
                }
                r.seek(fieldEnd);
            }
            r.seek(extraEnd);
            r.skip(commentLen);
            if (r.position() > cdOffset + cdSize) {
                throw new InvalidInputException("zip: central entry runs past the directory");
            }
            entries.add(new Entry(name, lho, csize, usize, method));
        }

        String prefix = null;
        Entry pickle = null;
        for (Entry e : entries) {
            if (e.method() != 0) {
                throw new InvalidInputException("zip: entry " + Names.quote(e.name()) + " is compressed (method " + e.method() + ")");
            }
            if (e.compressedSize() != e.size()) {
                throw new InvalidInputException("zip: stored entry " + Names.quote(e.name()) + " with differing sizes");
            }
            if (e.name().equals("data.pkl") || e.name().endsWith("/data.pkl")) {
                if (pickle != null) {
                    throw new InvalidInputException("zip: two data.pkl entries");
                }
                pickle = e;
                prefix = e.name().substring(0, e.name().length() - "data.pkl".length());
            }
        }
        if (pickle == null) {
            throw new InvalidInputException("zip: no data.pkl, not a torch.save archive");
        }
        if (pickle.size() > MAX_PICKLE) {
            throw new InvalidInputException("zip: data.pkl of " + pickle.size() + " bytes over the cap");
        }
        Map<String, Entry> byName = new HashMap<>();
        for (Entry e : entries) {
            if (byName.put(e.name(), e) != null) {
                throw new InvalidInputException("zip: duplicate entry " + e.name());
            }
        }
        r.seek(dataOffset(r, pickle, cdOffset));
        byte[] pkl = r.bytes((int) pickle.size());

        List<TensorInfo> tensors = new ArrayList<>();
        for (TorchPickle.StorageUse u : TorchPickle.storages(pkl)) {
            Entry e = byName.get(prefix + "data/" + u.storage().key());
            if (e == null) {
                throw new InvalidInputException("zip: storage " + Names.quote(u.storage().key()) + " has no data entry");
            }
            long bytes = u.storage().dtype().byteLength(u.storage().numel());
            if (bytes != e.size()) {
                throw new InvalidInputException("zip: storage " + Names.quote(u.storage().key()) + " holds " + e.size() + " bytes, expected " + bytes);
            }
            long off = dataOffset(r, e, cdOffset);
            tensors.add(new TensorInfo(u.name(), u.storage().dtype(), u.shape(), off, bytes));
        }
        // Every entry's data must lie before the central directory and not overlap another's.
        List<long[]> spans = new ArrayList<>();
        for (Entry e : entries) {
            long off = dataOffset(r, e, cdOffset);
            spans.add(new long[] {e.localHeader(), off + e.size()});
        }
        spans.sort((a, b) -> Long.compare(a[0], b[0]));
        for (int i = 1; i < spans.size(); i++) {
            if (spans.get(i)[0] < spans.get(i - 1)[1]) {
                throw new InvalidInputException("zip: entries overlap");
            }
        }
        return TensorLayout.of(FORMAT, size, 0, tensors);
    }

    private static long zip64Field(ChannelReader r, long fieldEnd) throws IOException {
        if (r.position() + 8 > fieldEnd) {
            throw new InvalidInputException("zip: ZIP64 extra field too short");
        }
        return r.u64();
    }

    /** Where an entry's data starts, from its local header (checked against the central entry). */
    private static long dataOffset(ChannelReader r, Entry e, long cdOffset) throws IOException {
        if (e.localHeader() > cdOffset - 30) {
            throw new InvalidInputException("zip: local header of " + Names.quote(e.name()) + " out of place");
        }
        r.seek(e.localHeader());
        if (r.i32() != LOCAL_HEADER_SIG) {
            throw new InvalidInputException("zip: bad local header for " + e.name());
        }
        r.skip(4);
        if (r.u16() != e.method()) {
            throw new InvalidInputException("zip: local and central headers of " + Names.quote(e.name()) + " disagree");
        }
        r.skip(16);
        int nameLen = r.u16();
        int extraLen = r.u16();
        byte[] name = r.bytes(nameLen);
        if (!ChannelReader.utf8(name).equals(e.name())) {
            throw new InvalidInputException("zip: local and central names of " + Names.quote(e.name()) + " disagree");
        }
        long start = r.position() + extraLen;
        if (start > cdOffset || e.size() > cdOffset - start) {
            throw new InvalidInputException("zip: data of " + Names.quote(e.name()) + " runs into the central directory");
        }
        return start;
    }

    private static long findEocd(ChannelReader r) throws IOException {
        long size = r.size();
        long lowest = Math.max(0, size - EOCD_MIN - MAX_COMMENT);
        r.seek(lowest);
        byte[] tail = r.bytes((int) (size - lowest));
        for (int i = tail.length - EOCD_MIN; i >= 0; i--) {
            if (tail[i] == 0x50 && tail[i + 1] == 0x4b && tail[i + 2] == 5 && tail[i + 3] == 6) {
                int comment = (tail[i + 20] & 0xff) | (tail[i + 21] & 0xff) << 8;
                if (i + EOCD_MIN + comment == tail.length) {
                    return lowest + i;
                }
            }
        }
        throw new InvalidInputException("zip: end of central directory not found");
    }
}
