package dev.strata.core.pack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Example;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;

class PackFormatPropertyTest {

    @Provide
    Arbitrary<EntryHeader> headers() {
        Arbitrary<ContentHash> ids = Arbitraries.bytes().array(byte[].class).ofSize(32).map(ContentHash::fromBytes);
        Arbitrary<Integer> lengths = Arbitraries.integers().between(0, 64 << 20);
        return Combinators.combine(ids, Arbitraries.of(Codec.class), lengths, lengths, Arbitraries.integers())
                .as((id, codec, raw, enc, crc) -> new EntryHeader(id, codec, raw, codec == Codec.RAW ? raw : enc, crc));
    }

    @Provide
    Arbitrary<List<EntryHeader>> headerLists() {
        return headers().list().ofMaxSize(40);
    }

    @Provide
    Arbitrary<List<EntryHeader>> nonEmptyHeaderLists() {
        return headers().list().ofMinSize(1).ofMaxSize(10);
    }

    @Property(tries = 300)
    void entryHeaderRoundTrips(@ForAll("headers") EntryHeader h) {
        byte[] b = h.encode();
        assertEquals(EntryHeader.LENGTH, b.length);
        assertEquals(h, EntryHeader.decode(b, 0));
    }

    @Property(tries = 300)
    void anySingleBitFlipInAnEntryHeaderIsDetected(@ForAll("headers") EntryHeader h, @ForAll @IntRange(max = 56 * 8 - 1) int bit) {
        byte[] b = h.encode();
        b[bit / 8] ^= (byte) (1 << (bit % 8));
        assertThrows(CorruptDataException.class, () -> EntryHeader.decode(b, 0));
    }

    @Property(tries = 100)
    void footerRoundTrips(@ForAll("headerLists") List<EntryHeader> headers) {
        PackFooter footer = layOut(headers);
        long footerOffset = headers.isEmpty() ? PackFormat.FILE_HEADER_LENGTH : footer.entries().getLast().end();
        byte[] b = footer.encode();
        assertEquals(PackFooter.encodedLength(headers.size()), b.length);
        assertEquals(footer, PackFooter.decode(b, footerOffset));
    }

    @Property(tries = 200)
    void anySingleBitFlipInAFooterIsDetected(@ForAll("nonEmptyHeaderLists") List<EntryHeader> headers,
            @ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int where) {
        PackFooter footer = layOut(headers);
        byte[] b = footer.encode();
        int bit = where % (b.length * 8);
        b[bit / 8] ^= (byte) (1 << (bit % 8));
        assertThrows(CorruptDataException.class, () -> PackFooter.decode(b, footer.entries().getLast().end()));
    }

    @Property(tries = 100)
    void trailerRoundTripsAndRejectsFlips(@ForAll @IntRange(min = 28) int offset, @ForAll @IntRange(max = 127) int bit) {
        byte[] t = PackFormat.encodeTrailer(offset);
        assertEquals(offset, PackFormat.decodeTrailer(t, 0));
        t[bit / 8] ^= (byte) (1 << (bit % 8));
        assertEquals(-1, PackFormat.decodeTrailer(t, 0));
    }

    /** Pins the byte layout of docs/format.md: any drift in the entry header encoding fails here. */
    @Example
    void entryHeaderBytesArePinned() {
        ContentHash id = ContentHash.fromHex("00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff");
        byte[] b = new EntryHeader(id, Codec.ZSTD, 100, 50, 0x01020304).encode();
        String expectedPrefix = "53545245" + "01" + "01" + "0000" + id.hex() + "00000064" + "00000032" + "01020304";
        String hex = HexFormat.of().formatHex(b);
        assertEquals(expectedPrefix, hex.substring(0, 104));
        assertEquals(String.format("%08x", PackFormat.crc32c(b, 0, 52)), hex.substring(104));
    }

    @Example
    void unknownVersionsAndCodecsAreRejected() {
        ContentHash id = ContentHash.of(new byte[] {1});
        byte[] b = new EntryHeader(id, Codec.RAW, 1, 1, 0).encode();
        b[4] = 2; // version 2
        rewriteCrc(b);
        assertThrows(CorruptDataException.class, () -> EntryHeader.decode(b, 0));
        b[4] = 1;
        b[5] = 7; // codec 7
        rewriteCrc(b);
        assertThrows(CorruptDataException.class, () -> EntryHeader.decode(b, 0));
        byte[] h = PackFormat.encodeFileHeader("0123456789abcdef0123456789abcdef");
        assertEquals("0123456789abcdef0123456789abcdef", PackFormat.decodeFileHeader(h));
        h[5] = 2; // version 2
        System.arraycopy(java.nio.ByteBuffer.allocate(4).putInt(PackFormat.crc32c(h, 0, 24)).array(), 0, h, 24, 4);
        assertThrows(CorruptDataException.class, () -> PackFormat.decodeFileHeader(h));
    }

    private static void rewriteCrc(byte[] b) {
        int crc = PackFormat.crc32c(b, 0, 52);
        System.arraycopy(java.nio.ByteBuffer.allocate(4).putInt(crc).array(), 0, b, 52, 4);
    }

    private static PackFooter layOut(List<EntryHeader> headers) {
        List<IndexEntry> entries = new ArrayList<>();
        long offset = PackFormat.FILE_HEADER_LENGTH;
        for (EntryHeader h : headers) {
            IndexEntry e = IndexEntry.of(h, offset);
            entries.add(e);
            offset = e.end();
        }
        return new PackFooter(entries);
    }
}
