package dev.strata.core.wire;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.core.codec.Codecs;
import dev.strata.core.store.EncodedChunk;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The chunk frame stream: what is written reads back, by either reader, and malformed streams are refused. */
class ChunkFramesTest {

    static byte[] chunk(java.util.Random r, int n) {
        byte[] b = new byte[n];
        if (r.nextBoolean()) {
            r.nextBytes(b);
        } else {
            for (int i = 0; i < n; i++) {
                b[i] = (byte) (i % 7 == 0 ? r.nextInt(4) : 0); // compressible
            }
        }
        return b;
    }

    @Property(tries = 60)
    void framesRoundTripThroughBothReaders(@ForAll long seed, @ForAll @IntRange(min = 0, max = 6) int count) throws IOException {
        java.util.Random r = new java.util.Random(seed);
        List<byte[]> raws = new ArrayList<>();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < count; i++) {
            byte[] raw = chunk(r, 1 + r.nextInt(r.nextBoolean() ? 300 : ChunkFrames.MAX_RAW));
            raws.add(raw);
            Codec codec = r.nextBoolean() ? Codec.RAW : Codec.ZSTD;
            ChunkFrames.write(out, ContentHash.of(raw), Codecs.encode(codec, raw));
        }
        byte[] stream = out.toByteArray();
        ByteArrayInputStream in = new ByteArrayInputStream(stream);
        for (byte[] raw : raws) {
            ChunkFrames.Frame f = ChunkFrames.read(in);
            assertEquals(ContentHash.of(raw), f.id());
            assertArrayEquals(raw, Codecs.verify(f.id(), f.chunk()));
        }
        assertNull(ChunkFrames.read(in), "a clean end");
        // Header, then the body into one reused buffer (the pull's way).
        in = new ByteArrayInputStream(stream);
        byte[] buf = new byte[ChunkFrames.MAX_ENCODED];
        for (byte[] raw : raws) {
            ChunkFrames.Header h = ChunkFrames.readHeader(in);
            assertEquals(raw.length, h.rawLength());
            ChunkFrames.readBody(in, buf, 0, h.encodedLength());
            byte[] decoded = Codecs.verify(h.id(), new EncodedChunk(h.codec(), h.rawLength(), Arrays.copyOf(buf, h.encodedLength())));
            assertArrayEquals(raw, decoded);
        }
        assertNull(ChunkFrames.readHeader(in));
        // The same from a channel, bodies into one direct buffer (the pull's way since DirectHttp).
        java.nio.channels.ReadableByteChannel ch = java.nio.channels.Channels.newChannel(new ByteArrayInputStream(stream));
        java.nio.ByteBuffer direct = java.nio.ByteBuffer.allocateDirect(ChunkFrames.MAX_ENCODED);
        for (byte[] raw : raws) {
            ChunkFrames.Header h = ChunkFrames.readHeader(ch);
            direct.clear().limit(h.encodedLength());
            ChunkFrames.readBody(ch, direct);
            byte[] enc = new byte[h.encodedLength()];
            direct.flip().get(enc);
            assertArrayEquals(raw, Codecs.verify(h.id(), new EncodedChunk(h.codec(), h.rawLength(), enc)));
        }
        assertNull(ChunkFrames.readHeader(ch), "a clean end");
    }

    @Property(tries = 40)
    void anyTruncationIsMalformedNotAShortChunk(@ForAll long seed) throws IOException {
        java.util.Random r = new java.util.Random(seed);
        byte[] raw = chunk(r, 1 + r.nextInt(5000));
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ChunkFrames.write(out, ContentHash.of(raw), Codecs.encode(Codec.RAW, raw));
        byte[] full = out.toByteArray();
        int cut = 1 + r.nextInt(full.length - 1);
        assertThrows(InvalidInputException.class, () -> ChunkFrames.read(new ByteArrayInputStream(Arrays.copyOf(full, cut))));
        assertThrows(InvalidInputException.class, () -> {
            java.nio.channels.ReadableByteChannel ch = java.nio.channels.Channels.newChannel(new ByteArrayInputStream(Arrays.copyOf(full, cut)));
            ChunkFrames.Header h = ChunkFrames.readHeader(ch);
            ChunkFrames.readBody(ch, java.nio.ByteBuffer.allocate(h.encodedLength()));
        });
    }

    static byte[] header(int codec, int raw, int enc) {
        byte[] h = new byte[ChunkFrames.HEADER];
        ChunkFrames.writeHeader(h, 0, ContentHash.of(new byte[] {1}), Codec.RAW, raw, enc);
        h[32] = (byte) codec;
        return h;
    }

    @Test
    void hostileHeadersAreRefusedBeforeAnythingIsAllocated() {
        int max = ChunkFrames.MAX_RAW;
        for (byte[] h : List.of(
                header(Codec.DELTA.id(), 10, 10),            // a delta needs a base
                header(250, 10, 10),                         // no such codec
                header(Codec.RAW.id(), 10, 11),              // raw with a different encoded length
                header(Codec.RAW.id(), 0, 0),                // empty
                header(Codec.ZSTD.id(), max + 1, 100),       // over the chunk limit
                header(Codec.ZSTD.id(), 100, ChunkFrames.MAX_ENCODED + 1),
                header(Codec.ZSTD.id(), -1, 100),            // a negative length (u32 over 2^31)
                Arrays.copyOf(header(Codec.RAW.id(), 10, 10), 20))) {  // cut inside the header
            assertThrows(InvalidInputException.class, () -> ChunkFrames.readHeader(new ByteArrayInputStream(h)), Arrays.toString(h));
            assertThrows(InvalidInputException.class,
                    () -> ChunkFrames.readHeader(java.nio.channels.Channels.newChannel(new ByteArrayInputStream(h))), Arrays.toString(h));
        }
    }
}
