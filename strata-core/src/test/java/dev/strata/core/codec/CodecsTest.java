package dev.strata.core.codec;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import com.github.luben.zstd.Zstd;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.InvalidInputException;
import dev.strata.core.store.EncodedChunk;
import java.util.Random;
import org.junit.jupiter.api.Test;

class CodecsTest {
    private final Random random = new Random(42);

    private byte[] randomBytes(int n) {
        byte[] b = new byte[n];
        random.nextBytes(b);
        return b;
    }

    @Test
    void bothCodecsRoundTrip() {
        byte[] raw = new byte[70_000];
        for (int i = 0; i < raw.length; i++) {
            raw[i] = (byte) (i % 13);
        }
        for (Codec c : new Codec[] {Codec.RAW, Codec.ZSTD, Codec.BYTE_PLANES_2, Codec.BYTE_PLANES_4}) {
            EncodedChunk e = Codecs.encode(c, raw);
            assertEquals(c, e.codec());
            assertArrayEquals(raw, Codecs.decode(e));
        }
    }

    @Test
    void compressOrRawKeepsZstdOnlyWhenItSaves() {
        assertEquals(Codec.RAW, Codecs.compressOrRaw(randomBytes(65536)).codec());
        EncodedChunk zeros = Codecs.compressOrRaw(new byte[65536]);
        assertEquals(Codec.ZSTD, zeros.codec());
        assertArrayEquals(new byte[65536], Codecs.decode(zeros));
        // ~2% compressible: 98% random bytes followed by zeros. zstd saves < 3%, so RAW.
        byte[] barely = new byte[65536];
        System.arraycopy(randomBytes(64_500), 0, barely, 0, 64_500);
        assertEquals(Codec.RAW, Codecs.compressOrRaw(barely).codec());
        // ~10% zeros: kept as ZSTD.
        byte[] some = new byte[65536];
        System.arraycopy(randomBytes(58_000), 0, some, 0, 58_000);
        assertEquals(Codec.ZSTD, Codecs.compressOrRaw(some).codec());
        assertEquals(Codec.RAW, Codecs.compressOrRaw(new byte[0]).codec());
    }

    @Test
    void frameDecodingToMoreThanTheDeclaredLengthIsCorrupt() {
        byte[] frame = Zstd.compress(new byte[1000], 1);
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.ZSTD, 999, frame)));
        assertEquals("a valid frame", e.expected());
    }

    @Test
    void frameDecodingToLessThanTheDeclaredLengthIsCorrupt() {
        byte[] frame = Zstd.compress(new byte[1000], 1);
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.ZSTD, 1001, frame)));
        assertEquals("1001", e.expected());
        assertEquals("1000", e.actual());
    }

    @Test
    void hugeDeclaredLengthIsRejectedBeforeAllocating() {
        byte[] frame = Zstd.compress(new byte[10], 1);
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.ZSTD, Integer.MAX_VALUE, frame)));
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.ZSTD, Codecs.MAX_RAW_LENGTH + 1, frame)));
    }

    @Test
    void garbageFrameIsCorrupt() {
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.ZSTD, 100, randomBytes(50))));
        assertThrows(CorruptDataException.class, () -> Codecs.decode(new EncodedChunk(Codec.ZSTD, 100, new byte[0])));
    }

    @Test
    void verifyReturnsBytesOrReportsBothIds() {
        byte[] raw = randomBytes(1000);
        ContentHash id = ContentHash.of(raw);
        assertArrayEquals(raw, Codecs.verify(id, Codecs.encode(Codec.ZSTD, raw)));
        byte[] other = randomBytes(1000);
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> Codecs.verify(id, Codecs.encode(Codec.RAW, other)));
        assertEquals(id.hex(), e.expected());
        assertEquals(ContentHash.of(other).hex(), e.actual());
    }

    @Test
    void oversizedInputIsRejected() {
        assertThrows(InvalidInputException.class, () -> Codecs.encode(Codec.RAW, new byte[Codecs.MAX_RAW_LENGTH + 1]));
    }

    @Test
    void encodedChunkRejectsInconsistentRawChunks() {
        assertThrows(InvalidInputException.class, () -> new EncodedChunk(Codec.RAW, 5, new byte[4]));
        assertThrows(InvalidInputException.class, () -> new EncodedChunk(Codec.ZSTD, -1, new byte[4]));
        assertThrows(InvalidInputException.class, () -> new EncodedChunk(null, 0, new byte[0]));
    }
}
