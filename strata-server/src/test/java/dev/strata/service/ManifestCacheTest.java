package dev.strata.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.Catalogs;
import dev.strata.catalog.FileEntry;
import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.StrataException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Repositories' cache of decoded manifests: answers what the catalog holds, and stays within its bound. */
class ManifestCacheTest {
    @TempDir Path tmp;

    private static FileManifest manifest(int seed, int chunks) {
        List<ChunkRef> refs = new ArrayList<>();
        for (int i = 0; i < chunks; i++) {
            refs.add(new ChunkRef(ContentHash.of((seed + ":" + i).getBytes()), 1000 + i));
        }
        return new FileManifest(refs);
    }

    private static FileEntry store(Catalog catalog, FileManifest m) {
        byte[] encoded = m.encode();
        ContentHash id = ContentHash.of(encoded);
        catalog.putManifest(id, encoded);
        return new FileEntry("f", 1, ContentHash.of(new byte[0]), id);
    }

    @Test
    void answersTheCatalogsManifestAndReusesTheDecodedOne() throws Exception {
        try (Catalog catalog = Catalogs.open("sqlite:" + tmp.resolve("c.db"))) {
            Repositories repos = new Repositories(catalog);
            FileManifest m = manifest(1, 300);
            FileEntry f = store(catalog, m);
            FileManifest first = repos.manifest(f);
            assertEquals(m, first);
            assertSame(first, repos.manifest(f), "the second request is served from the cache");
            // A manifest the catalog lacks is still an error, never a stale or empty answer.
            FileEntry missing = new FileEntry("g", 1, ContentHash.of(new byte[0]), ContentHash.of("nothing".getBytes()));
            assertThrows(StrataException.class, () -> repos.manifest(missing));
        }
    }

    @Test
    void holdsAtMostItsBoundInChunkReferences() throws Exception {
        try (Catalog catalog = Catalogs.open("sqlite:" + tmp.resolve("c.db"))) {
            Repositories repos = new Repositories(catalog);
            int per = Repositories.MANIFEST_CACHE_CHUNKS / 8;
            List<FileEntry> files = new ArrayList<>();
            for (int k = 0; k < 20; k++) {
                FileManifest m = manifest(k, per);
                FileEntry f = store(catalog, m);
                files.add(f);
                assertEquals(m, repos.manifest(f));
                assertTrue(repos.cachedManifestChunks() <= Repositories.MANIFEST_CACHE_CHUNKS, "bound kept after " + k);
            }
            assertEquals(8L * per, repos.cachedManifestChunks());
            // The oldest were evicted, and still decode correctly from the catalog.
            assertEquals(manifest(0, per), repos.manifest(files.getFirst()));
        }
    }
}
