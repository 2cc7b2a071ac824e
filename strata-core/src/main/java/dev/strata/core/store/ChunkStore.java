package dev.strata.core.store;

import dev.strata.core.ContentHash;
import java.io.Closeable;
import java.util.Collection;
import java.util.List;
import java.util.function.Predicate;

/**
 * The chunk store SPI: content-addressed chunk bytes grouped in packs. Every implementation
 * (local packs now; erasure-coded, S3 and tiered later) runs {@code ChunkStoreConformanceTest}.
 *
 * <p>Contract:
 * <ul>
 *   <li>{@link #put} is idempotent: storing an id that is present does nothing and returns false.
 *       The caller has verified that {@code encoded} decodes to bytes hashing to {@code id}.</li>
 *   <li>A put is durable only once {@link #flush} has returned; readers may see it earlier.
 *       ARCHITECTURE invariant 2 relies on callers flushing before they publish manifests.</li>
 *   <li>{@link #get} verifies the decoded bytes against the id and throws
 *       {@link dev.strata.core.CorruptDataException} on mismatch, never returns wrong bytes;
 *       absent ids throw {@link dev.strata.core.NotFoundException}.</li>
 *   <li>{@link #repack} copies the entries that {@code keep} accepts out of the named packs, makes
 *       the copies durable, and only then deletes the packs: a crash leaves duplicates, never loss.</li>
 *   <li>{@link #repack} and {@link #deletePack} throw {@link dev.strata.core.NotFoundException} for
 *       an unknown pack id, before changing anything.</li>
 *   <li>A full disk or unwritable medium fails the write with {@link dev.strata.core.StorageException}
 *       and leaves the store consistent: earlier chunks stay readable, later puts may succeed.</li>
 *   <li>{@link #close} makes puts durable as {@link #flush} does, then releases resources; the
 *       store is unusable afterwards. Opening the same location again sees every durable chunk.</li>
 *   <li>Implementations are thread-safe.</li>
 * </ul>
 *
 * <p>Test support (strata-core test-jar): {@code ChunkStoreConformanceTest} to extend, and
 * {@code FaultyChunkStore}, a decorator that fails chosen operations on demand.
 */
public interface ChunkStore extends Closeable {

    /**
     * Stores an encoded chunk unless present. Returns true when this call added it. Keeps no
     * reference to {@code chunk}'s array once it returns, so a caller may reuse the array.
     */
    boolean put(ContentHash id, EncodedChunk chunk);

    /** Makes every put that returned before this call durable (fsync of data and directory). */
    void flush();

    /** The decoded bytes of a chunk, verified against its id (a delta is decoded against its base, from this store). */
    default byte[] get(ContentHash id) {
        return dev.strata.core.codec.Codecs.verify(id, getEncoded(id), DeltaChains.bases(this));
    }

    /** The chunk as stored (codec and encoded bytes), checksum-verified but not decoded. */
    EncodedChunk getEncoded(ContentHash id);

    /**
     * Reads a chunk that is stored raw into {@code dst} at its position, without passing through a
     * Java array: a file read straight into a direct buffer that can go on to a socket as it is.
     * {@code check} says what is verified first: the id, like {@link #get}, or only the stored
     * checksum, for a receiver that verifies the id itself. On success the position advances by
     * the chunk's length. Returns false, leaving {@code dst} untouched, when this store does not
     * offer that for this chunk (not stored raw, small, larger than {@code dst}'s remaining space,
     * or no such path at all): the caller then uses {@link #get}. Absent ids and damage throw as
     * {@link #get} does.
     */
    default boolean readRawInto(ContentHash id, java.nio.ByteBuffer dst, ReadCheck check) {
        return false;
    }

    boolean exists(ContentHash id);

    /** Location and sizes of one chunk, or null when absent. */
    ChunkInfo info(ContentHash id);

    /** Every chunk in the store (a snapshot taken at call time). */
    List<ChunkInfo> list();

    /** Every pack with its totals (a snapshot). */
    List<PackInfo> packs();

    /** Copies the chunks {@code keep} accepts out of {@code packIds}, durably, then deletes those packs. */
    default RepackResult repack(Collection<String> packIds, Predicate<ContentHash> keep) {
        return repack(packIds, keep, (id, chunk) -> chunk);
    }

    /**
     * As {@link #repack(Collection, Predicate)}, storing each kept chunk as {@code reencode}
     * returns it: the same id and decoded bytes in another encoding (compaction compresses chunks
     * that arrived raw). The caller guarantees the new encoding decodes to the same bytes.
     */
    RepackResult repack(Collection<String> packIds, Predicate<ContentHash> keep,
                        java.util.function.BiFunction<ContentHash, EncodedChunk, EncodedChunk> reencode);

    /** Deletes a whole pack; its chunks disappear from the store. */
    void deletePack(String packId);

    /**
     * Verifies every stored byte of every chunk (a snapshot of {@link #list} taken at the start)
     * against the checksums that cover it, at the rate {@code options} allow (a store may also decode
     * chunks and check their ids), and rewrites what the store's redundancy can rebuild: damaged
     * or missing pieces of a chunk that still has enough intact ones are written again durably
     * (appended to a file and fsynced, or a temporary file, fsync and rename: never over bytes in
     * place), only after the rebuilt chunk was verified against its id, and only in place of pieces
     * found damaged, so a scrub never makes a chunk worse. Chunks deleted or moved
     * by a concurrent repack are skipped, not reported.
     *
     * <p>This default reads each chunk back with {@link #get} (checksums, decode, id) and repairs
     * nothing; stores with redundancy or their own layout override it.
     */
    default ScrubReport scrub(ScrubOptions options) {
        List<ChunkInfo> chunks = list();
        long total = 0;
        for (ChunkInfo c : chunks) {
            total += c.encodedLength();
        }
        ScrubRun run = new ScrubRun(options, chunks.size(), total);
        for (ChunkInfo c : chunks) {
            if (!run.keepGoing()) {
                break;
            }
            run.guarded(() -> {
                try {
                    get(c.id());
                } catch (dev.strata.core.NotFoundException gone) {
                    return null; // deleted since the snapshot
                } catch (dev.strata.core.CorruptDataException | dev.strata.core.StorageException e) {
                    if (exists(c.id())) {
                        run.chunkDamaged();
                        run.damaged(c.id(), c.packId(), -1, e.getMessage(), false, null);
                        run.unrecoverable(c.id(), c.packId(), e.getMessage());
                    }
                }
                return null;
            });
            run.checked(c.encodedLength());
        }
        return run.finish();
    }

    @Override
    void close();
}
