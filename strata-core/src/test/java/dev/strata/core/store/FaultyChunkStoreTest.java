package dev.strata.core.store;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.StorageException;
import dev.strata.core.store.local.LocalPackStore;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** With no fault switched on the decorator is invisible: the whole conformance suite runs through it. */
class FaultyChunkStoreTest extends ChunkStoreConformanceTest {

    @Override
    protected ChunkStore open(Path dir) {
        return new FaultyChunkStore(LocalPackStore.open(dir, LocalPackStore.Options.defaults().withTargetPackBytes(64 << 10)));
    }

    @Test
    void injectedFaultsFailOnlyTheChosenOperationsUntilHealed() {
        FaultyChunkStore faulty = (FaultyChunkStore) store;
        TestChunks a = TestChunks.random(random, 100);
        TestChunks b = TestChunks.random(random, 100);
        store.put(a.id(), a.encoded());

        faulty.fail(FaultyChunkStore.Op.PUT, FaultyChunkStore.Op.FLUSH);
        assertThrows(StorageException.class, () -> store.put(b.id(), b.encoded()));
        assertThrows(StorageException.class, store::flush);
        assertFalse(store.exists(b.id()), "a failed put never reached the store");
        assertArrayEquals(a.raw(), store.get(a.id()), "reads still work");

        faulty.heal(FaultyChunkStore.Op.PUT).fail(FaultyChunkStore.Op.GET);
        assertTrue(store.put(b.id(), b.encoded()));
        assertThrows(StorageException.class, () -> store.get(a.id()));
        assertThrows(StorageException.class, () -> store.getEncoded(a.id()));
        assertEquals(2, store.list().size());

        faulty.healAll();
        store.flush();
        assertArrayEquals(b.raw(), store.get(b.id()));
        assertThrows(StorageException.class, () -> faulty.fail(FaultyChunkStore.Op.REPACK).repack(List.of(), id -> true));
        assertTrue(faulty.failing().contains(FaultyChunkStore.Op.REPACK));
    }
}
