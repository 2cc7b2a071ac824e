package dev.strata.core.store;

import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.codec.Codecs;
import java.util.Random;

/** Seeded test chunks: raw bytes, their id, and an encoding. Exported with the conformance suite. */
public record TestChunks(ContentHash id, byte[] raw, EncodedChunk encoded) {

    /** Incompressible bytes stored RAW. */
    public static TestChunks random(Random r, int size) {
        byte[] raw = new byte[size];
        r.nextBytes(raw);
        return new TestChunks(ContentHash.of(raw), raw, Codecs.encode(Codec.RAW, raw));
    }

    /** Text-like bytes (a small alphabet) stored as a zstd frame. */
    public static TestChunks compressible(Random r, int size) {
        byte[] raw = new byte[size];
        for (int i = 0; i < size; i++) {
            raw[i] = (byte) ('a' + r.nextInt(4));
        }
        return new TestChunks(ContentHash.of(raw), raw, Codecs.encode(Codec.ZSTD, raw));
    }

    /** Alternates RAW and ZSTD chunks of 1..{@code maxSize} bytes. */
    public static TestChunks mixed(Random r, int i, int maxSize) {
        int size = 1 + r.nextInt(maxSize);
        return i % 2 == 0 ? random(r, size) : compressible(r, size);
    }
}
