package dev.strata.catalog;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.core.ConflictException;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.core.NotFoundException;
import dev.strata.core.StrataException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract of {@link Catalog}, run against every implementation (as Lucene's
 * BaseDirectoryTestCase is). Subclasses supply a fresh, empty catalog per test. Randomness is
 * seeded so a failure reproduces.
 */
public abstract class CatalogConformanceTest {
    private static final Instant T0 = Instant.parse("2025-01-02T03:04:05.123456789Z");

    protected Catalog catalog;
    private final Random random = new Random(42);
    private final AtomicLong clock = new AtomicLong();

    /** A new, empty catalog; the test closes it. */
    protected abstract Catalog newCatalog() throws Exception;

    @BeforeEach
    void openCatalog() throws Exception {
        catalog = newCatalog();
    }

    @AfterEach
    void closeCatalog() {
        if (catalog != null) {
            catalog.close();
        }
    }

    // ---- helpers

    protected String newCommitId() {
        byte[] b = new byte[20];
        random.nextBytes(b);
        return HexFormat.of().formatHex(b);
    }

    protected static ContentHash hash(String s) {
        return ContentHash.of(s.getBytes(StandardCharsets.UTF_8));
    }

    protected static List<FileEntry> files(String prefix, int n) {
        List<FileEntry> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String path = String.format("%s/shard-%05d.safetensors", prefix, i);
            out.add(new FileEntry(path, 1000L + i, hash("content " + path), hash("manifest " + path)));
        }
        return out;
    }

    protected CommitRecord record(long repoId, List<String> parents) {
        return new CommitRecord(newCommitId(), repoId, parents, "alice", "checkpoint",
                T0.plusSeconds(clock.incrementAndGet()), null, Map.of(), null, false);
    }

    protected NewCommit commit(long repoId, List<String> parents, List<FileEntry> files) {
        return new NewCommit(record(repoId, parents), files, List.of());
    }

    /** Publishes a small commit on {@code branch} from its current head and returns its id. */
    protected String publish(long repoId, String branch) {
        String head = catalog.findRef(repoId, branch).map(Ref::commitId).orElse(null);
        NewCommit c = commit(repoId, head == null ? List.of() : List.of(head), files("f", 2));
        catalog.publishCommit(c, branch, head);
        return c.commit().id();
    }

    protected long repo(String name) {
        return catalog.createRepo(name, "test repository").id();
    }

    // ---- repositories

    @Test
    void createFindAndListRepositories() {
        RepoRecord b = catalog.createRepo("lab/vision", "ViT runs");
        RepoRecord a = catalog.createRepo("lab/audio", "");
        assertEquals(Optional.of(b), catalog.findRepo("lab/vision"));
        assertEquals(Optional.empty(), catalog.findRepo("lab/none"));
        assertEquals(List.of(a, b), catalog.listRepos(), "listed by name");
        assertTrue(a.id() != b.id());
    }

    @Test
    void duplicateRepositoryIsAConflict() {
        catalog.createRepo("lab/vision", "one");
        ConflictException e = assertThrows(ConflictException.class, () -> catalog.createRepo("lab/vision", "two"));
        assertTrue(e.getMessage().contains("already exists"), e.getMessage());
        assertEquals("one", catalog.findRepo("lab/vision").orElseThrow().description());
        assertThrows(InvalidInputException.class, () -> catalog.createRepo("no-slash", ""));
    }

    // ---- commits

    @Test
    void publishedCommitReadsBackWhole() {
        long base = repo("lab/base");
        long ft = repo("lab/finetune");
        String baseHead = publish(base, "main");
        String parent = publish(ft, "main");
        List<FileEntry> tree = new ArrayList<>(files("model", 2000));
        java.util.Collections.shuffle(tree, random);
        CommitRecord r = new CommitRecord(newCommitId(), ft, List.of(parent), "bob <bob@lab>", "step 10000",
                T0.plusSeconds(3600), 10_000L, Map.of("val/accuracy", 0.8125, "train/loss", 1.5e-3),
                "{\"config\":{\"lr\":0.0003},\"datasets\":[\"imagenet\"]}", false);
        List<LineageLink> lineage = List.of(
                new LineageLink(ft, r.id(), LineageRelation.FINETUNE_OF, base, baseHead),
                new LineageLink(ft, r.id(), LineageRelation.BASE_MODEL, base, baseHead));
        catalog.publishCommit(new NewCommit(r, tree, lineage), "main", parent);

        assertEquals(Optional.of(r), catalog.findCommit(ft, r.id()), "every field round-trips, nanoseconds included");
        assertEquals(Optional.empty(), catalog.findCommit(base, r.id()), "commits belong to one repository");
        List<FileEntry> listed = catalog.listFiles(ft, r.id());
        assertEquals(tree.stream().sorted(java.util.Comparator.comparing(FileEntry::path)).toList(), listed, "ordered by path");
        FileEntry one = tree.get(7);
        assertEquals(Optional.of(one), catalog.findFile(ft, r.id(), one.path()));
        assertEquals(Optional.empty(), catalog.findFile(ft, r.id(), "model/absent"));
        assertEquals(new Ref("main", RefKind.BRANCH, r.id()), catalog.findRef(ft, "main").orElseThrow());

        assertEquals(Set.copyOf(lineage), Set.copyOf(catalog.lineageOf(ft, r.id())));
        assertEquals(Set.copyOf(lineage), Set.copyOf(catalog.derivedFrom(base, baseHead)));
        assertEquals(Set.copyOf(lineage), Set.copyOf(catalog.derivedFrom(base, null)));
        assertEquals(List.of(), catalog.derivedFrom(base, parent));
        assertEquals(List.of(), catalog.lineageOf(ft, parent));
    }

    @Test
    void commitsAreListedNewestFirstWithOrderedParents() {
        long id = repo("lab/run");
        String a = publish(id, "main");
        String b = publish(id, "side");
        CommitRecord merge = new CommitRecord(newCommitId(), id, List.of(b, a), "alice", "merge",
                T0.plusSeconds(1_000_000), null, Map.of(), null, false);
        catalog.publishCommit(new NewCommit(merge, List.of(), List.of()), "main", a);
        List<CommitRecord> all = catalog.listCommits(id);
        assertEquals(List.of(merge.id(), b, a), all.stream().map(CommitRecord::id).toList());
        assertEquals(List.of(b, a), all.getFirst().parents(), "parent order is kept");
        assertEquals(List.of(), catalog.listFiles(id, merge.id()));
    }

    @Test
    void commitsAreFoundByPrefix() {
        long id = repo("lab/run");
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            ids.add(publish(id, "main"));
        }
        String target = ids.get(17);
        assertEquals(List.of(target), catalog.findCommitsByPrefix(id, target, 10).stream().map(CommitRecord::id).toList());
        assertEquals(List.of(target), catalog.findCommitsByPrefix(id, target.substring(0, 12).toUpperCase(), 10)
                .stream().map(CommitRecord::id).toList(), "prefixes are case-insensitive");
        String one = target.substring(0, 1);
        long expected = ids.stream().filter(s -> s.startsWith(one)).count();
        assertEquals(expected, catalog.findCommitsByPrefix(id, one, 100).size());
        assertTrue(catalog.findCommitsByPrefix(id, one, 1).size() <= 1);
        assertEquals(List.of(), catalog.findCommitsByPrefix(repo("lab/other"), one, 100));
        assertThrows(InvalidInputException.class, () -> catalog.findCommitsByPrefix(id, "xyz", 10));
        assertThrows(InvalidInputException.class, () -> catalog.findCommitsByPrefix(id, "a%", 10));
    }

    @Test
    void publishOnAStaleHeadIsAConflictAndWritesNothing() {
        long id = repo("lab/run");
        String first = publish(id, "main");
        String second = publish(id, "main");
        NewCommit stale = commit(id, List.of(first), files("stale", 50));
        ConflictException e = assertThrows(ConflictException.class, () -> catalog.publishCommit(stale, "main", first));
        assertTrue(e.getMessage().contains("moved") && e.getMessage().contains(second)
                && e.getMessage().contains("retry"), e.getMessage());
        assertNothingOf(id, stale);
        assertEquals(second, catalog.findRef(id, "main").orElseThrow().commitId());

        NewCommit fresh = commit(id, List.of(), files("x", 1));
        ConflictException exists = assertThrows(ConflictException.class, () -> catalog.publishCommit(fresh, "main", null));
        assertTrue(exists.getMessage().contains("already exists"), exists.getMessage());
        assertNothingOf(id, fresh);
    }

    @Test
    void republishingAnExistingCommitOnlyMovesTheRef() {
        long id = repo("lab/run");
        String head = publish(id, "main");
        CommitRecord existing = catalog.findCommit(id, head).orElseThrow();
        catalog.publishCommit(new NewCommit(existing, files("f", 2), List.of()), "copy", null);
        assertEquals(head, catalog.findRef(id, "copy").orElseThrow().commitId());
        assertEquals(1, catalog.listCommits(id).size());
        assertEquals(2, catalog.listFiles(id, head).size());
    }

    @Test
    void publishRejectsUnknownParentsAndRepositories() {
        long id = repo("lab/run");
        NewCommit orphan = commit(id, List.of(newCommitId()), files("f", 3));
        assertThrows(InvalidInputException.class, () -> catalog.publishCommit(orphan, "main", null));
        assertNothingOf(id, orphan);
        assertEquals(Optional.empty(), catalog.findRef(id, "main"));
        assertThrows(NotFoundException.class, () -> catalog.publishCommit(commit(id + 1000, List.of(), List.of()), "main", null));
        CommitRecord bad = new CommitRecord(newCommitId(), id, List.of(), "a", "m", T0, null,
                Map.of("loss", Double.NaN), null, false);
        assertThrows(InvalidInputException.class, () -> catalog.publishCommit(new NewCommit(bad, List.of(), List.of()), "main", null));
        CommitRecord notJson = new CommitRecord(newCommitId(), id, List.of(), "a", "m", T0, null, Map.of(), "[1,2]", false);
        assertThrows(InvalidInputException.class, () -> catalog.publishCommit(new NewCommit(notJson, List.of(), List.of()), "main", null));
    }

    @Test
    void aFailureMidPublishLeavesNothing() {
        long base = repo("lab/base");
        long id = repo("lab/run");
        String head = publish(id, "main");
        String baseHead = publish(base, "main");
        // 1,999 good rows go in before the duplicate path violates the tree's primary key.
        List<FileEntry> tree = new ArrayList<>(files("model", 1999));
        tree.add(new FileEntry(tree.get(3).path(), 1, hash("other"), hash("other manifest")));
        CommitRecord r = new CommitRecord(newCommitId(), id, List.of(head), "a", "m", T0.plusSeconds(99), 5L,
                Map.of("loss", 0.5), "{}", false);
        NewCommit broken = new NewCommit(r, tree,
                List.of(new LineageLink(id, r.id(), LineageRelation.RESUMED_FROM, base, baseHead)));
        assertThrows(StrataException.class, () -> catalog.publishCommit(broken, "main", head));
        assertNothingOf(id, broken);
        assertEquals(List.of(), catalog.derivedFrom(base, baseHead));
        assertEquals(head, catalog.findRef(id, "main").orElseThrow().commitId());
        // The catalog is still usable, and the same commit without the duplicate goes in.
        NewCommit fixed = new NewCommit(r, tree.subList(0, 1999), broken.lineage());
        catalog.publishCommit(fixed, "main", head);
        assertEquals(1999, catalog.listFiles(id, r.id()).size());
    }

    @Test
    void racingPublishersOnOneHeadHaveExactlyOneWinner() throws Exception {
        long id = repo("lab/run");
        String head = publish(id, "main");
        int n = 8;
        List<NewCommit> contenders = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            contenders.add(commit(id, List.of(head), files("racer" + i, 200)));
        }
        CountDownLatch start = new CountDownLatch(1);
        List<Callable<Boolean>> tasks = contenders.stream().<Callable<Boolean>>map(c -> () -> {
            start.await();
            try {
                catalog.publishCommit(c, "main", head);
                return true;
            } catch (ConflictException e) {
                assertTrue(e.getMessage().contains("moved"), e.getMessage());
                return false;
            }
        }).toList();
        ExecutorService pool = Executors.newFixedThreadPool(n);
        try {
            List<Future<Boolean>> results = tasks.stream().map(pool::submit).toList();
            start.countDown();
            List<NewCommit> winners = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                if (results.get(i).get(60, TimeUnit.SECONDS)) {
                    winners.add(contenders.get(i));
                }
            }
            assertEquals(1, winners.size(), "exactly one publish wins");
            NewCommit winner = winners.getFirst();
            assertEquals(winner.commit().id(), catalog.findRef(id, "main").orElseThrow().commitId());
            assertEquals(200, catalog.listFiles(id, winner.commit().id()).size());
            for (NewCommit c : contenders) {
                if (c != winner) {
                    assertNothingOf(id, c);
                }
            }
            assertEquals(List.of(winner.commit().id(), head), catalog.listCommits(id).stream().map(CommitRecord::id).toList());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void writersThatRetryOnConflictAllLandInOneLinearHistory() throws Exception {
        long id = repo("lab/run");
        int threads = 4;
        int each = 5;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                results.add(pool.submit(() -> {
                    int conflicts = 0;
                    for (int k = 0; k < each; k++) {
                        NewCommit mine;
                        String head;
                        do {
                            head = catalog.findRef(id, "main").map(Ref::commitId).orElse(null);
                            synchronized (this) {
                                mine = commit(id, head == null ? List.of() : List.of(head), files("w", 3));
                            }
                            try {
                                catalog.publishCommit(mine, "main", head);
                                break;
                            } catch (ConflictException e) {
                                conflicts++;
                            }
                        } while (true);
                    }
                    return conflicts;
                }));
            }
            for (Future<Integer> f : results) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        // Walk first parents from the head: every commit is on one chain, none lost.
        List<CommitRecord> all = catalog.listCommits(id);
        assertEquals(threads * each, all.size());
        Map<String, CommitRecord> byId = new java.util.HashMap<>();
        all.forEach(c -> byId.put(c.id(), c));
        int length = 0;
        for (String at = catalog.findRef(id, "main").orElseThrow().commitId(); at != null; length++) {
            List<String> parents = byId.get(at).parents();
            at = parents.isEmpty() ? null : parents.getFirst();
        }
        assertEquals(threads * each, length);
    }

    private void assertNothingOf(long repoId, NewCommit c) {
        String id = c.commit().id();
        assertEquals(Optional.empty(), catalog.findCommit(repoId, id));
        assertFalse(catalog.listCommits(repoId).stream().anyMatch(r -> r.id().equals(id)), "loser in listCommits");
        assertEquals(List.of(), catalog.listFiles(repoId, id), "loser's files");
        assertEquals(List.of(), catalog.lineageOf(repoId, id), "loser's lineage");
        assertEquals(List.of(), catalog.findCommitsByPrefix(repoId, id, 5));
    }

    // ---- refs

    @Test
    void branchesAreCreatedMovedAndDeletedByCompareAndSet() {
        long id = repo("lab/run");
        String a = publish(id, "main");
        String b = publish(id, "main");
        catalog.compareAndSetRef(id, "exp/lr-sweep", RefKind.BRANCH, null, a);
        ConflictException taken = assertThrows(ConflictException.class,
                () -> catalog.compareAndSetRef(id, "exp/lr-sweep", RefKind.BRANCH, null, b));
        assertTrue(taken.getMessage().contains(a), "names the current value: " + taken.getMessage());
        catalog.compareAndSetRef(id, "exp/lr-sweep", RefKind.BRANCH, a, b);
        ConflictException stale = assertThrows(ConflictException.class,
                () -> catalog.compareAndSetRef(id, "exp/lr-sweep", RefKind.BRANCH, a, a));
        assertTrue(stale.getMessage().contains(b), stale.getMessage());
        assertThrows(ConflictException.class, () -> catalog.compareAndSetRef(id, "exp/lr-sweep", RefKind.BRANCH, a, null));
        assertEquals(b, catalog.findRef(id, "exp/lr-sweep").orElseThrow().commitId());
        catalog.compareAndSetRef(id, "exp/lr-sweep", RefKind.BRANCH, b, null);
        assertEquals(Optional.empty(), catalog.findRef(id, "exp/lr-sweep"));
        assertThrows(ConflictException.class, () -> catalog.compareAndSetRef(id, "exp/lr-sweep", RefKind.BRANCH, b, a));
        assertThrows(NotFoundException.class, () -> catalog.compareAndSetRef(id, "ghost", RefKind.BRANCH, null, newCommitId()));
        assertEquals(List.of(new Ref("main", RefKind.BRANCH, b)), catalog.listRefs(id));
    }

    @Test
    void tagsAreCreatedOnceAndShareTheNamespaceWithBranches() {
        long id = repo("lab/run");
        String a = publish(id, "main");
        String b = publish(id, "main");
        catalog.compareAndSetRef(id, "v1", RefKind.TAG, null, a);
        assertThrows(InvalidInputException.class, () -> catalog.compareAndSetRef(id, "v1", RefKind.TAG, a, b));
        assertThrows(ConflictException.class, () -> catalog.compareAndSetRef(id, "v1", RefKind.TAG, null, b));
        assertThrows(ConflictException.class, () -> catalog.compareAndSetRef(id, "v1", RefKind.BRANCH, a, b), "kind must match");
        assertThrows(ConflictException.class, () -> catalog.compareAndSetRef(id, "main", RefKind.TAG, null, a), "one namespace");
        ConflictException onTag = assertThrows(ConflictException.class,
                () -> catalog.publishCommit(commit(id, List.of(a), List.of()), "v1", a));
        assertTrue(onTag.getMessage().contains("tag"), onTag.getMessage());
        assertEquals(List.of(new Ref("main", RefKind.BRANCH, b), new Ref("v1", RefKind.TAG, a)), catalog.listRefs(id));
        catalog.compareAndSetRef(id, "v1", RefKind.TAG, a, null);
        assertEquals(Optional.empty(), catalog.findRef(id, "v1"));
    }

    // ---- manifests, retention, expiry

    @Test
    void manifestsArePutIdempotentlyAndReadBack() {
        byte[] bytes = new byte[5000];
        random.nextBytes(bytes);
        ContentHash mid = ContentHash.of(bytes);
        assertEquals(Optional.empty(), catalog.getManifest(mid));
        catalog.putManifest(mid, bytes);
        catalog.putManifest(mid, bytes);
        assertArrayEquals(bytes, catalog.getManifest(mid).orElseThrow());
        byte[] empty = new byte[0];
        catalog.putManifest(ContentHash.of(empty), empty);
        assertArrayEquals(empty, catalog.getManifest(ContentHash.of(empty)).orElseThrow());
    }

    @Test
    void retentionRulesAreSetReplacedAndRemoved() {
        long id = repo("lab/run");
        long other = repo("lab/other");
        catalog.setRetention(id, "main", 10);
        catalog.setRetention(id, "exp/a", 2);
        catalog.setRetention(id, "main", 3);
        catalog.setRetention(other, "main", 7);
        assertEquals(Map.of("main", 3, "exp/a", 2), catalog.retentionRules(id));
        catalog.setRetention(id, "main", null);
        assertEquals(Map.of("exp/a", 2), catalog.retentionRules(id));
        assertEquals(Map.of("main", 7), catalog.retentionRules(other));
        assertThrows(InvalidInputException.class, () -> catalog.setRetention(id, "main", 0));
    }

    @Test
    void markExpiredFlagsOnlyTheNamedCommits() {
        long id = repo("lab/run");
        String a = publish(id, "main");
        String b = publish(id, "main");
        String c = publish(id, "main");
        catalog.markExpired(id, List.of(a, c, newCommitId()));
        assertTrue(catalog.findCommit(id, a).orElseThrow().expired());
        assertFalse(catalog.findCommit(id, b).orElseThrow().expired());
        assertTrue(catalog.findCommit(id, c).orElseThrow().expired());
        catalog.markExpired(repo("lab/other"), List.of(b));
        assertFalse(catalog.findCommit(id, b).orElseThrow().expired(), "scoped to the repository");
        assertEquals(2, catalog.listFiles(id, a).size(), "the tree stays readable; GC decides about bytes");
    }
}
