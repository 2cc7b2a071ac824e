package dev.strata.core.store;

import dev.strata.core.ContentHash;
import dev.strata.core.StorageException;
import java.io.IOException;
import java.util.Collection;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;

/**
 * A {@link ChunkStore} decorator that fails chosen operations with {@link StorageException}, for
 * fault-injection tests of code above the store (upload sessions, GC, scrub). Thread-safe; faults
 * can be switched on and off while other threads use the store. Exported in the test-jar.
 */
public final class FaultyChunkStore implements ChunkStore {
    /** The operations a fault can be injected into. GET covers get and getEncoded. */
    public enum Op { PUT, GET, FLUSH, REPACK, DELETE_PACK, SCRUB }

    private final ChunkStore delegate;
    private final Set<Op> failing = ConcurrentHashMap.newKeySet();

    public FaultyChunkStore(ChunkStore delegate) {
        this.delegate = delegate;
    }

    /** From now on, {@code ops} throw {@link StorageException} without reaching the delegate. */
    public FaultyChunkStore fail(Op... ops) {
        failing.addAll(List.of(ops));
        return this;
    }

    public FaultyChunkStore heal(Op... ops) {
        List.of(ops).forEach(failing::remove);
        return this;
    }

    public FaultyChunkStore healAll() {
        failing.clear();
        return this;
    }

    public Set<Op> failing() {
        return failing.isEmpty() ? EnumSet.noneOf(Op.class) : EnumSet.copyOf(failing);
    }

    private void check(Op op) {
        if (failing.contains(op)) {
            throw new StorageException("injected fault: " + op, new IOException("injected by FaultyChunkStore"));
        }
    }

    @Override
    public boolean put(ContentHash id, EncodedChunk chunk) {
        check(Op.PUT);
        return delegate.put(id, chunk);
    }

    @Override
    public void flush() {
        check(Op.FLUSH);
        delegate.flush();
    }

    @Override
    public byte[] get(ContentHash id) {
        check(Op.GET);
        return delegate.get(id);
    }

    @Override
    public EncodedChunk getEncoded(ContentHash id) {
        check(Op.GET);
        return delegate.getEncoded(id);
    }

    @Override
    public boolean exists(ContentHash id) {
        return delegate.exists(id);
    }

    @Override
    public ChunkInfo info(ContentHash id) {
        return delegate.info(id);
    }

    @Override
    public List<ChunkInfo> list() {
        return delegate.list();
    }

    @Override
    public List<PackInfo> packs() {
        return delegate.packs();
    }

    @Override
    public RepackResult repack(Collection<String> packIds, Predicate<ContentHash> keep,
                               java.util.function.BiFunction<ContentHash, EncodedChunk, EncodedChunk> reencode) {
        check(Op.REPACK);
        return delegate.repack(packIds, keep, reencode);
    }

    @Override
    public void deletePack(String packId) {
        check(Op.DELETE_PACK);
        delegate.deletePack(packId);
    }

    /** The delegate's own scrub (with its repairs); {@link Op#SCRUB} fails it before it starts. */
    @Override
    public ScrubReport scrub(ScrubOptions options) {
        check(Op.SCRUB);
        return delegate.scrub(options);
    }

    @Override
    public void close() {
        delegate.close();
    }
}
