package dev.strata.service;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.Catalogs;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ChunkRef;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.local.LocalPackStore;
import dev.strata.core.wire.ChunkFrames;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Garbage collection never removes a chunk an upload in progress relies on: neither one the
 * server told the client it already has (dedup hit on a chunk of a deleted branch), nor one the
 * client sent but has not committed yet.
 */
class GcUploadRaceTest {
    @TempDir Path tmp;
    ChunkStore store;
    Catalog catalog;
    Repositories repos;
    Uploads uploads;
    GarbageCollector gc;

    @BeforeEach
    void open() {
        store = LocalPackStore.open(tmp.resolve("chunks"));
        catalog = Catalogs.open("sqlite:" + tmp.resolve("catalog.db"));
        repos = new Repositories(catalog);
        uploads = new Uploads(repos, store, Clock.systemUTC());
        gc = new GarbageCollector(repos, store, uploads);
    }

    @AfterEach
    void close() {
        catalog.close();
        store.close();
    }

    static byte[] chunk(long seed) {
        byte[] b = new byte[40_000];
        new SplittableRandom(seed).nextBytes(b);
        return b;
    }

    void send(UploadSession s, byte[]... chunks) throws Exception {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (byte[] c : chunks) {
            ChunkFrames.write(out, ContentHash.of(c), new EncodedChunk(Codec.RAW, c.length, c));
        }
        uploads.receive(s, new ByteArrayInputStream(out.toByteArray()));
    }

    CommitRecord commit(RepoRecord repo, UploadSession s, String branch, String parent, byte[]... chunks) {
        List<ChunkRef> refs = java.util.Arrays.stream(chunks).map(c -> new ChunkRef(ContentHash.of(c), c.length)).toList();
        FileManifest m = new FileManifest(refs);
        ContentHash manifest = uploads.putManifest(s, m.encode());
        CommitRequest req = new CommitRequest(s.id(), branch, parent, "test", "commit", null, Map.of(), null,
                List.of(new CommitRequest.FileChange("f.bin", m.size(), ContentHash.sha256Of(new byte[0]), manifest)),
                List.of(), true, List.of());
        return uploads.commit(repo, req, s);
    }

    @Test
    void chunksHeldByAnOpenUploadSurviveGcAndCanBeCommitted() throws Exception {
        RepoRecord repo = repos.create("lab/race", "");
        byte[] shared = chunk(1), scratchOnly = chunk(2), pending = chunk(3);

        UploadSession first = uploads.start(repo, "alice");
        send(first, shared, scratchOnly);
        CommitRecord scratch = commit(repo, first, "scratch", null, shared, scratchOnly);
        uploads.finish(first);

        // A second push learns the server has `shared`, and sends `pending`, but has not committed yet.
        UploadSession second = uploads.start(repo, "alice");
        assertEquals(List.of(), uploads.missing(second, List.of(ContentHash.of(shared))));
        send(second, pending);

        // Meanwhile the only branch referencing `shared` is deleted and GC runs.
        repos.deleteRef(repo, "scratch", scratch.id());
        GarbageCollector.Report r = gc.run(1.0);
        assertEquals(1, r.commitsExpired());
        assertTrue(store.exists(ContentHash.of(shared)), "a chunk the open upload was told about is kept");
        assertTrue(store.exists(ContentHash.of(pending)), "a chunk sent by the open upload is kept");
        assertFalse(store.exists(ContentHash.of(scratchOnly)), "an unreferenced chunk nobody holds is reclaimed");

        CommitRecord c = commit(repo, second, "main", null, shared, pending);
        uploads.finish(second);
        FileManifest m = repos.manifest(repos.file(repo, c, "f.bin"));
        assertArrayEquals(shared, store.get(m.chunks().get(0).id()));
        assertArrayEquals(pending, store.get(m.chunks().get(1).id()));

        // Once the session has ended, only refs keep chunks.
        GarbageCollector.Report after = gc.run(1.0);
        assertEquals(0, after.commitsExpired());
        assertTrue(store.exists(ContentHash.of(shared)) && store.exists(ContentHash.of(pending)));
    }
}
