package dev.strata.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.Catalogs;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.NewCommit;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ChunkRef;
import dev.strata.core.Codec;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.store.TestBytes;
import dev.strata.core.store.local.LocalPackStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** fsck: live chunks missing or corrupt with who references them, bad manifests, orphans; expired commits do not count. */
class FsckTest {
    @TempDir Path tmp;
    final SplittableRandom random = new SplittableRandom(11);
    int commits;

    byte[] bytes() {
        byte[] b = new byte[3000];
        random.nextBytes(b);
        return b;
    }

    ContentHash manifest(Catalog catalog, ContentHash... chunks) {
        byte[] m = new FileManifest(Stream.of(chunks).map(c -> new ChunkRef(c, 3000)).toList()).encode();
        ContentHash id = ContentHash.of(m);
        catalog.putManifest(id, m);
        return id;
    }

    String commit(Catalog catalog, RepoRecord repo, String branch, Map<String, ContentHash> files) {
        String id = HexFormat.of().formatHex(new byte[] {(byte) ++commits}).repeat(20);
        List<FileEntry> entries = files.entrySet().stream()
                .map(e -> new FileEntry(e.getKey(), 3000, ContentHash.of(e.getKey().getBytes()), e.getValue())).toList();
        catalog.publishCommit(new NewCommit(new CommitRecord(id, repo.id(), List.of(), "t", "m", Instant.now(), null, Map.of(), "{}", false),
                entries, List.of()), branch, null);
        return id;
    }

    @Test
    void findsMissingAndCorruptChunksWithTheirFilesAndOrphans() throws Exception {
        try (LocalPackStore store = LocalPackStore.open(tmp.resolve("chunks"));
             Catalog catalog = Catalogs.open("sqlite:" + tmp.resolve("c.db"))) {
            Uploads uploads = new Uploads(new Repositories(catalog), store, Clock.systemUTC());
            byte[] a = bytes(), b = bytes(), orphan = bytes(), gone = bytes(), collected = bytes();
            for (byte[] x : new byte[][] {a, b, orphan}) {
                store.put(ContentHash.of(x), new EncodedChunk(Codec.RAW, x.length, x));
            }
            store.flush();
            RepoRecord repo = catalog.createRepo("lab/fsck", "");
            String c1 = commit(catalog, repo, "main", Map.of("x.bin", manifest(catalog, ContentHash.of(a), ContentHash.of(b))));
            String c2 = commit(catalog, repo, "other", Map.of("y.bin", manifest(catalog, ContentHash.of(a), ContentHash.of(gone)),
                    "z.bin", ContentHash.of("no such manifest".getBytes())));
            String c3 = commit(catalog, repo, "old", Map.of("w.bin", manifest(catalog, ContentHash.of(collected))));
            catalog.markExpired(repo.id(), List.of(c3));

            Fsck.Report before = new Fsck(catalog, store, uploads).run();
            assertEquals(1, before.chunksMissing());
            assertEquals(0, before.chunksCorrupt());

            // flip a bit in b's bytes on disk
            Path pack;
            try (Stream<Path> s = Files.walk(tmp.resolve("chunks"))) {
                pack = s.filter(p -> p.toString().endsWith(".pack")).findFirst().orElseThrow();
            }
            byte[] file = Files.readAllBytes(pack);
            int at = TestBytes.indexOf(file, ContentHash.of(b).toBytes()) + 100;
            file[at] ^= 1;
            Files.write(pack, file);

            Fsck.Report r = new Fsck(catalog, store, uploads).run();
            assertFalse(r.clean());
            assertEquals(1, r.repos());
            assertEquals(2, r.commitsChecked());
            assertEquals(1, r.commitsExpired());
            assertEquals(3, r.filesChecked());
            assertEquals(3, r.chunksReferenced(), "a, b and gone; not the expired commit's chunk");
            assertEquals(1, r.chunksVerified());
            assertEquals(1, r.chunksMissing());
            assertEquals(1, r.chunksCorrupt());
            Map<String, Fsck.ChunkProblem> byProblem = r.problems().stream().collect(Collectors.toMap(Fsck.ChunkProblem::problem, p -> p));
            assertEquals(ContentHash.of(gone), byProblem.get("missing").chunk());
            assertEquals(List.of(new Fsck.Reference("lab/fsck", c2, "y.bin")), byProblem.get("missing").references());
            assertEquals(ContentHash.of(b), byProblem.get("corrupt").chunk());
            assertTrue(byProblem.get("corrupt").reason().contains("CRC32C"), byProblem.get("corrupt").reason());
            assertEquals(List.of(new Fsck.Reference("lab/fsck", c1, "x.bin")), byProblem.get("corrupt").references());
            assertEquals(1, r.manifestsBad());
            assertEquals("z.bin", r.manifestProblems().get(0).file().path());
            assertEquals(1, r.orphanChunks());
            assertEquals(List.of(ContentHash.of(orphan)), r.orphans());
        }
    }

}
