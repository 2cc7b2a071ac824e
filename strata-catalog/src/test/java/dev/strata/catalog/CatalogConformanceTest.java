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

    // ---- replication log

    private List<ReplicationEntry> log() {
        return catalog.replicationLog(0, 1_000_000);
    }

    private static ReplicationEntry entry(ReplicationEntry e, long repoId, ReplicationEntry.Kind kind, String ref,
                                          RefKind refKind, String oldCommit, String newCommit) {
        return new ReplicationEntry(e.seq(), e.at(), repoId, kind, ref, refKind, oldCommit, newCommit);
    }

    @Test
    void publishesAndRefMovesAreLoggedInOrder() {
        Instant before = Instant.now().minusSeconds(1);
        assertEquals(0, catalog.lastReplicationSeq());
        assertEquals(List.of(), log());
        long id = repo("lab/run");
        String a = publish(id, "main");
        String b = publish(id, "main");
        catalog.compareAndSetRef(id, "v1", RefKind.TAG, null, a);
        catalog.compareAndSetRef(id, "exp", RefKind.BRANCH, null, a);
        catalog.compareAndSetRef(id, "exp", RefKind.BRANCH, a, b);
        catalog.compareAndSetRef(id, "exp", RefKind.BRANCH, b, null);
        catalog.publishCommit(new NewCommit(catalog.findCommit(id, a).orElseThrow(), files("f", 2), List.of()), "copy", null);

        List<ReplicationEntry> log = log();
        assertEquals(7, log.size());
        assertEquals(List.of(
                entry(log.get(0), id, ReplicationEntry.Kind.COMMIT, "main", RefKind.BRANCH, null, a),
                entry(log.get(1), id, ReplicationEntry.Kind.COMMIT, "main", RefKind.BRANCH, a, b),
                entry(log.get(2), id, ReplicationEntry.Kind.REF, "v1", RefKind.TAG, null, a),
                entry(log.get(3), id, ReplicationEntry.Kind.REF, "exp", RefKind.BRANCH, null, a),
                entry(log.get(4), id, ReplicationEntry.Kind.REF, "exp", RefKind.BRANCH, a, b),
                entry(log.get(5), id, ReplicationEntry.Kind.REF, "exp", RefKind.BRANCH, b, null),
                entry(log.get(6), id, ReplicationEntry.Kind.COMMIT, "copy", RefKind.BRANCH, null, a)), log);
        for (int i = 1; i < log.size(); i++) {
            assertTrue(log.get(i).seq() > log.get(i - 1).seq(), "seqs increase: " + log);
        }
        for (ReplicationEntry e : log) {
            assertTrue(!e.at().isBefore(before) && !e.at().isAfter(Instant.now().plusSeconds(1)), "appended now: " + e);
        }
        assertEquals(log.getLast().seq(), catalog.lastReplicationSeq());
        assertEquals(7, catalog.countReplicationLog(0));
        assertEquals(3, catalog.countReplicationLog(log.get(3).seq()));
        assertEquals(0, catalog.countReplicationLog(log.getLast().seq()));
        assertEquals(log.subList(2, 4), catalog.replicationLog(log.get(1).seq(), 2), "pages by seq");
        assertEquals(List.of(), catalog.replicationLog(log.getLast().seq(), 10));
        assertThrows(InvalidInputException.class, () -> catalog.replicationLog(0, 0));
    }

    @Test
    void failedWritesAppendNothingToTheLog() {
        long id = repo("lab/run");
        String a = publish(id, "main");
        String b = publish(id, "main");
        long last = catalog.lastReplicationSeq();
        assertThrows(ConflictException.class, () -> catalog.publishCommit(commit(id, List.of(a), files("s", 3)), "main", a));
        assertThrows(ConflictException.class, () -> catalog.compareAndSetRef(id, "main", RefKind.BRANCH, a, b));
        assertThrows(ConflictException.class, () -> catalog.compareAndSetRef(id, "main", RefKind.TAG, null, a));
        assertThrows(InvalidInputException.class, () -> catalog.publishCommit(commit(id, List.of(newCommitId()), files("o", 1)), "other", null));
        assertEquals(last, catalog.lastReplicationSeq());
        assertEquals(2, catalog.countReplicationLog(0));
    }

    @Test
    void importedCommitsAreVerbatimIdempotentAndMoveNoRef() {
        long base = repo("lab/base");
        long id = repo("lab/replica");
        String baseHead = publish(base, "main");
        String parent = publish(id, "main");
        List<FileEntry> tree = files("model", 300);
        CommitRecord r = new CommitRecord(newCommitId(), id, List.of(parent), "bob", "step 7", T0.plusNanos(987_654_321),
                7L, Map.of("val/acc", 0.75), "{\"step\":7}", true);
        // On the primary the target repository had another id, which the commit id covers: it is kept.
        List<LineageLink> lineage = List.of(new LineageLink(id, r.id(), LineageRelation.ADAPTER_OF, base, baseHead, 4242));
        long last = catalog.lastReplicationSeq();

        assertTrue(catalog.importCommit(new NewCommit(r, tree, lineage)));
        assertEquals(Optional.of(r), catalog.findCommit(id, r.id()), "every field as given, the expired flag included");
        assertEquals(tree, catalog.listFiles(id, r.id()));
        assertEquals(lineage, catalog.lineageOf(id, r.id()));
        assertEquals(4242, catalog.derivedFrom(base, baseHead).getFirst().idRepoId());
        assertEquals(parent, catalog.findRef(id, "main").orElseThrow().commitId(), "no ref moved");
        assertEquals(1, catalog.listRefs(id).size());
        List<ReplicationEntry> added = catalog.replicationLog(last, 10);
        assertEquals(List.of(entry(added.getFirst(), id, ReplicationEntry.Kind.COMMIT, null, null, null, r.id())), added);

        assertFalse(catalog.importCommit(new NewCommit(r, tree, lineage)), "importing again writes nothing");
        assertEquals(added.getFirst().seq(), catalog.lastReplicationSeq());
        assertEquals(300, catalog.listFiles(id, r.id()).size());

        // A live commit imported without a ref can then be pointed at.
        CommitRecord live = new CommitRecord(newCommitId(), id, List.of(parent), "bob", "live", T0.plusSeconds(5), null,
                Map.of(), null, false);
        assertTrue(catalog.importCommit(new NewCommit(live, files("x", 1), List.of())));
        catalog.compareAndSetRef(id, "main", RefKind.BRANCH, parent, live.id());
        assertEquals(live.id(), catalog.findRef(id, "main").orElseThrow().commitId());

        NewCommit orphan = commit(id, List.of(newCommitId()), files("o", 2));
        long before = catalog.lastReplicationSeq();
        assertThrows(InvalidInputException.class, () -> catalog.importCommit(orphan));
        assertNothingOf(id, orphan);
        assertThrows(NotFoundException.class, () -> catalog.importCommit(commit(id + 1000, List.of(), List.of())));
        assertEquals(before, catalog.lastReplicationSeq());
    }

    @Test
    void replicaWatermarksNeverMoveBack() {
        assertEquals(Optional.empty(), catalog.replicaProgress("r1"));
        assertEquals(List.of(), catalog.replicas());
        Instant t1 = T0.plusSeconds(1);
        catalog.recordReplicated("r1", "http://replica:8470", 5, t1);
        assertEquals(Optional.of(new ReplicaProgress("r1", "http://replica:8470", 5, t1)), catalog.replicaProgress("r1"));
        Instant t2 = T0.plusSeconds(2);
        catalog.recordReplicated("r1", "http://replica-2:8470", 3, t2);
        assertEquals(Optional.of(new ReplicaProgress("r1", "http://replica-2:8470", 5, t2)), catalog.replicaProgress("r1"),
                "a lower seq updates url and time only");
        catalog.recordReplicated("r1", "http://replica-2:8470", 9, t2);
        assertEquals(9, catalog.replicaProgress("r1").orElseThrow().replicatedSeq());
        catalog.recordReplicated("r2", "http://other", 0, t1);
        assertEquals(0, catalog.replicaProgress("r2").orElseThrow().replicatedSeq());
        assertEquals(9, catalog.replicaProgress("r1").orElseThrow().replicatedSeq(), "watermarks are per replica");
        assertEquals(List.of(new ReplicaProgress("r1", "http://replica-2:8470", 9, t2), new ReplicaProgress("r2", "http://other", 0, t1)),
                catalog.replicas());
        assertThrows(InvalidInputException.class, () -> catalog.recordReplicated("r1", "http://x", -1, t1));
    }

    @Test
    void theServerIdIsStable() {
        String id = catalog.serverId();
        assertTrue(id.matches("[0-9a-f]{32}"), id);
        assertEquals(id, catalog.serverId());
    }

    @Test
    void concurrentWritersLogEveryChangeOnceInSeqOrder() throws Exception {
        long id = repo("lab/run");
        int writers = 8, each = 10;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            List<Future<List<String>>> futures = new ArrayList<>();
            for (int w = 0; w < writers; w++) {
                String branch = "run-" + w;
                futures.add(pool.submit(() -> {
                    List<String> mine = new ArrayList<>();
                    for (int i = 0; i < each; i++) {
                        mine.add(publish(id, branch));
                    }
                    return mine;
                }));
            }
            Set<String> published = new java.util.HashSet<>();
            for (Future<List<String>> f : futures) {
                published.addAll(f.get(60, TimeUnit.SECONDS));
            }
            List<ReplicationEntry> log = log();
            assertEquals(writers * each, log.size());
            assertEquals(published, Set.copyOf(log.stream().map(ReplicationEntry::newCommit).toList()));
            for (int w = 0; w < writers; w++) {
                String branch = "run-" + w;
                String prev = null;
                for (ReplicationEntry e : log.stream().filter(e -> branch.equals(e.ref())).toList()) {
                    assertEquals(prev, e.oldCommit(), "each branch's moves chain in log order");
                    prev = e.newCommit();
                }
            }
        } finally {
            pool.shutdownNow();
        }
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

    // ---- users and groups

    @Test
    void usersAreCreatedFoundListedAndDisabled() {
        UserRecord bob = catalog.createUser("bob", false);
        UserRecord alice = catalog.createUser("alice", true);
        assertTrue(alice.admin());
        assertFalse(bob.admin() || bob.disabled());
        assertTrue(alice.id() != bob.id());
        assertEquals(Optional.of(bob), catalog.findUser("bob"), "every field round-trips, nanoseconds included");
        assertEquals(Optional.empty(), catalog.findUser("carol"));
        assertEquals(List.of(alice, bob), catalog.listUsers(), "listed by name");

        catalog.setUserDisabled("bob", true);
        assertTrue(catalog.findUser("bob").orElseThrow().disabled());
        assertFalse(catalog.findUser("alice").orElseThrow().disabled());
        catalog.setUserDisabled("bob", true);
        catalog.setUserDisabled("bob", false);
        assertEquals(Optional.of(bob), catalog.findUser("bob"));
        assertThrows(NotFoundException.class, () -> catalog.setUserDisabled("carol", true));

        ConflictException taken = assertThrows(ConflictException.class, () -> catalog.createUser("bob", true));
        assertTrue(taken.getMessage().contains("already exists"), taken.getMessage());
        assertFalse(catalog.findUser("bob").orElseThrow().admin());
        assertThrows(InvalidInputException.class, () -> catalog.createUser("", false));
    }

    @Test
    void usersAndGroupsShareOneNamespace() {
        catalog.createUser("ml", false);
        GroupRecord vision = catalog.createGroup("vision");
        ConflictException userFirst = assertThrows(ConflictException.class, () -> catalog.createGroup("ml"));
        assertTrue(userFirst.getMessage().contains("already exists"), userFirst.getMessage());
        assertThrows(ConflictException.class, () -> catalog.createUser("vision", true));
        assertThrows(ConflictException.class, () -> catalog.createGroup("vision"));
        GroupRecord audio = catalog.createGroup("audio");
        assertEquals(List.of(audio, vision), catalog.listGroups(), "listed by name");
        assertEquals(List.of("ml"), catalog.listUsers().stream().map(UserRecord::name).toList());
    }

    /** On PostgreSQL the user and group tables are checked by concurrent transactions: still one winner per name. */
    @Test
    void racingUserAndGroupCreatesOfOneNameHaveOneWinner() throws Exception {
        ExecutorService pool = Executors.newFixedThreadPool(4);
        try {
            for (int round = 0; round < 5; round++) {
                String name = "name" + round;
                CountDownLatch start = new CountDownLatch(1);
                List<Future<Boolean>> results = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    boolean user = i % 2 == 0;
                    results.add(pool.submit(() -> {
                        start.await();
                        try {
                            if (user) {
                                catalog.createUser(name, false);
                            } else {
                                catalog.createGroup(name);
                            }
                            return true;
                        } catch (ConflictException e) {
                            return false;
                        }
                    }));
                }
                start.countDown();
                int wins = 0;
                for (Future<Boolean> f : results) {
                    wins += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
                }
                assertEquals(1, wins, "round " + round);
                long users = catalog.listUsers().stream().filter(u -> u.name().equals(name)).count();
                long groups = catalog.listGroups().stream().filter(g -> g.name().equals(name)).count();
                assertEquals(1, users + groups, "round " + round);
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void groupMembershipIsIdempotentAndEveryGroupIsListed() {
        catalog.createUser("alice", false);
        catalog.createUser("bob", false);
        catalog.createGroup("vision");
        catalog.createGroup("empty");
        assertEquals(Map.of("vision", Set.of(), "empty", Set.of()), catalog.groupMembers());
        catalog.addGroupMember("vision", "alice");
        catalog.addGroupMember("vision", "alice");
        catalog.addGroupMember("vision", "bob");
        assertEquals(Map.of("vision", Set.of("alice", "bob"), "empty", Set.of()), catalog.groupMembers());
        catalog.removeGroupMember("vision", "alice");
        catalog.removeGroupMember("vision", "alice");
        catalog.removeGroupMember("vision", "nobody");
        catalog.removeGroupMember("empty", "bob");
        assertEquals(Map.of("vision", Set.of("bob"), "empty", Set.of()), catalog.groupMembers());
        assertThrows(NotFoundException.class, () -> catalog.addGroupMember("ghosts", "bob"));
        assertThrows(NotFoundException.class, () -> catalog.addGroupMember("vision", "nobody"));
        assertThrows(NotFoundException.class, () -> catalog.addGroupMember("vision", "empty"), "a group is not a user");
        assertThrows(NotFoundException.class, () -> catalog.removeGroupMember("ghosts", "bob"));
    }

    // ---- API tokens

    @Test
    void tokensAreCreatedListedAndRevokedOnce() {
        catalog.createUser("alice", false);
        catalog.createUser("bob", false);
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        secret[0] = 0;
        secret[1] = (byte) 0x80;
        secret[31] = (byte) 0xff;
        TokenRecord laptop = new TokenRecord("tok_laptop", "alice", "laptop", TokenScope.WRITE, List.of("lab/a", "lab/b"),
                secret, T0, T0.plusSeconds(86_400), null);
        TokenRecord ci = new TokenRecord("tok_ci", "bob", "", TokenScope.ADMIN, List.of(),
                hash("ci").toBytes(), T0.plusSeconds(1), null, null);
        catalog.createToken(laptop);
        catalog.createToken(ci);
        List<TokenRecord> listed = catalog.listTokens();
        assertEquals(2, listed.size());
        assertToken(laptop, tokenById(listed, "tok_laptop"));
        assertToken(ci, tokenById(listed, "tok_ci"));

        TokenRecord again = new TokenRecord("tok_ci", "alice", "other", TokenScope.READ, List.of(), hash("x").toBytes(), T0, null, null);
        assertThrows(ConflictException.class, () -> catalog.createToken(again));
        assertThrows(NotFoundException.class, () -> catalog.createToken(
                new TokenRecord("tok_ghost", "nobody", "x", TokenScope.READ, List.of(), hash("g").toBytes(), T0, null, null)));
        assertThrows(InvalidInputException.class, () -> catalog.createToken(
                new TokenRecord("tok_short", "alice", "x", TokenScope.READ, List.of(), new byte[31], T0, null, null)));

        Instant first = T0.plusSeconds(5).plusNanos(7);
        catalog.revokeToken("tok_laptop", first);
        catalog.revokeToken("tok_laptop", T0.plusSeconds(9));
        assertEquals(first, tokenById(catalog.listTokens(), "tok_laptop").revokedAt(), "the first revocation time stands");
        assertEquals(null, tokenById(catalog.listTokens(), "tok_ci").revokedAt());
        assertThrows(NotFoundException.class, () -> catalog.revokeToken("tok_ghost", T0));
        assertEquals(2, catalog.listTokens().size());
    }

    private static TokenRecord tokenById(List<TokenRecord> tokens, String id) {
        return tokens.stream().filter(t -> t.id().equals(id)).findFirst().orElseThrow();
    }

    private static void assertToken(TokenRecord expected, TokenRecord actual) {
        assertEquals(expected.id(), actual.id());
        assertEquals(expected.user(), actual.user());
        assertEquals(expected.label(), actual.label());
        assertEquals(expected.scope(), actual.scope());
        assertEquals(expected.repos(), actual.repos());
        assertArrayEquals(expected.secretHash(), actual.secretHash(), "secret hash bit-exact");
        assertEquals(expected.createdAt(), actual.createdAt());
        assertEquals(expected.expiresAt(), actual.expiresAt());
        assertEquals(expected.revokedAt(), actual.revokedAt());
    }

    // ---- repository access

    @Test
    void visibilityIsPrivateUntilChanged() {
        RepoRecord created = catalog.createRepo("lab/run", "");
        long other = repo("lab/other");
        assertEquals(Visibility.PRIVATE, created.visibility());
        assertEquals(Visibility.PRIVATE, catalog.findRepo("lab/run").orElseThrow().visibility());
        catalog.setVisibility(created.id(), Visibility.PUBLIC);
        assertEquals(Visibility.PUBLIC, catalog.findRepo("lab/run").orElseThrow().visibility());
        catalog.setVisibility(created.id(), Visibility.INTERNAL);
        assertEquals(List.of(Visibility.PRIVATE, Visibility.INTERNAL),
                catalog.listRepos().stream().map(RepoRecord::visibility).toList(), "lab/other, lab/run");
        assertThrows(NotFoundException.class, () -> catalog.setVisibility(other + 1000, Visibility.PUBLIC));
    }

    @Test
    void rolesAreSetReplacedAndRemoved() {
        long id = repo("lab/run");
        long other = repo("lab/other");
        catalog.createUser("alice", false);
        catalog.createGroup("vision");
        catalog.setRole(id, SubjectKind.USER, "alice", RepoRole.READER);
        catalog.setRole(id, SubjectKind.GROUP, "vision", RepoRole.WRITER);
        catalog.setRole(id, SubjectKind.USER, "alice", RepoRole.ADMIN);
        catalog.setRole(other, SubjectKind.USER, "alice", RepoRole.READER);
        List<RoleBinding> roles = catalog.listRoles();
        assertEquals(3, roles.size());
        assertEquals(Set.of(new RoleBinding(id, SubjectKind.USER, "alice", RepoRole.ADMIN),
                new RoleBinding(id, SubjectKind.GROUP, "vision", RepoRole.WRITER),
                new RoleBinding(other, SubjectKind.USER, "alice", RepoRole.READER)), Set.copyOf(roles));

        catalog.setRole(id, SubjectKind.USER, "alice", null);
        catalog.setRole(id, SubjectKind.USER, "alice", null);
        assertEquals(Set.of(new RoleBinding(id, SubjectKind.GROUP, "vision", RepoRole.WRITER),
                new RoleBinding(other, SubjectKind.USER, "alice", RepoRole.READER)), Set.copyOf(catalog.listRoles()));

        assertThrows(NotFoundException.class, () -> catalog.setRole(id, SubjectKind.USER, "bob", RepoRole.READER));
        assertThrows(NotFoundException.class, () -> catalog.setRole(id, SubjectKind.GROUP, "alice", RepoRole.READER),
                "alice is a user, not a group");
        assertThrows(NotFoundException.class, () -> catalog.setRole(id, SubjectKind.USER, "vision", RepoRole.READER));
        assertThrows(NotFoundException.class, () -> catalog.setRole(other + 1000, SubjectKind.USER, "alice", RepoRole.READER));
        assertEquals(2, catalog.listRoles().size());
    }

    @Test
    void protectionsArePutReplacedAndDeleted() {
        long id = repo("lab/run");
        long other = repo("lab/other");
        catalog.putProtection(new Protection(id, "main", List.of("user:alice")));
        catalog.putProtection(new Protection(id, "release/*", List.of()));
        catalog.putProtection(new Protection(other, "main", List.of("group:vision")));
        catalog.putProtection(new Protection(id, "main", List.of("group:vision", "user:bob")));
        assertEquals(Set.of(new Protection(id, "main", List.of("group:vision", "user:bob")),
                new Protection(id, "release/*", List.of()),
                new Protection(other, "main", List.of("group:vision"))), Set.copyOf(catalog.listProtections()));

        catalog.deleteProtection(id, "release/*");
        assertThrows(NotFoundException.class, () -> catalog.deleteProtection(id, "release/*"));
        assertThrows(NotFoundException.class, () -> catalog.deleteProtection(id, "exp/**"));
        assertThrows(NotFoundException.class, () -> catalog.putProtection(new Protection(other + 1000, "main", List.of())));
        assertEquals(Set.of(new Protection(id, "main", List.of("group:vision", "user:bob")),
                new Protection(other, "main", List.of("group:vision"))), Set.copyOf(catalog.listProtections()));
    }

    @Test
    void grantsAreCreatedListedAndRevokedOnce() {
        long id = repo("lab/run");
        long other = repo("lab/other");
        String head = publish(id, "main");
        catalog.createUser("alice", true);
        catalog.createUser("bob", false);
        catalog.createGroup("partners");
        GrantRecord toBob = new GrantRecord("g_bob", id, "v1", head, SubjectKind.USER, "bob", "alice",
                T0, T0.plusSeconds(3600), null);
        GrantRecord toPartners = new GrantRecord("g_partners", id, null, head, SubjectKind.GROUP, "partners", "alice",
                T0.plusSeconds(1), null, null);
        catalog.createGrant(toBob);
        catalog.createGrant(toPartners);
        assertEquals(Set.of(toBob, toPartners), Set.copyOf(catalog.listGrants()));

        assertThrows(ConflictException.class, () -> catalog.createGrant(toPartners));
        assertThrows(NotFoundException.class, () -> catalog.createGrant(
                new GrantRecord("g_x", id, null, newCommitId(), SubjectKind.USER, "bob", "alice", T0, null, null)), "unknown commit");
        assertThrows(NotFoundException.class, () -> catalog.createGrant(
                new GrantRecord("g_x", other, null, head, SubjectKind.USER, "bob", "alice", T0, null, null)), "commit of another repository");
        assertThrows(NotFoundException.class, () -> catalog.createGrant(
                new GrantRecord("g_x", id, null, head, SubjectKind.USER, "carol", "alice", T0, null, null)), "unknown subject");
        assertThrows(NotFoundException.class, () -> catalog.createGrant(
                new GrantRecord("g_x", id, null, head, SubjectKind.GROUP, "bob", "alice", T0, null, null)), "bob is no group");

        Instant first = T0.plusSeconds(10);
        catalog.revokeGrant(id, "g_bob", first);
        catalog.revokeGrant(id, "g_bob", T0.plusSeconds(20));
        GrantRecord revoked = new GrantRecord("g_bob", id, "v1", head, SubjectKind.USER, "bob", "alice",
                T0, T0.plusSeconds(3600), first);
        assertEquals(Set.of(revoked, toPartners), Set.copyOf(catalog.listGrants()), "the first revocation time stands");
        assertThrows(NotFoundException.class, () -> catalog.revokeGrant(other, "g_partners", first), "grant of another repository");
        assertThrows(NotFoundException.class, () -> catalog.revokeGrant(id, "g_ghost", first));
        assertEquals(null, catalog.listGrants().stream().filter(g -> g.id().equals("g_partners")).findFirst().orElseThrow().revokedAt());
    }

    // ---- dedup scope

    @Test
    void repoChunksAreAddedIdempotentlyAndFoundAmongManyIds() {
        long id = repo("lab/run");
        long other = repo("lab/other");
        int n = 20_000;
        List<ContentHash> held = new ArrayList<>(n);
        List<ContentHash> absent = new ArrayList<>(n / 2);
        for (int i = 0; i < n; i++) {
            held.add(hash("chunk " + i));
        }
        for (int i = 0; i < n / 2; i++) {
            absent.add(hash("absent " + i));
        }
        catalog.addRepoChunks(id, held);
        catalog.addRepoChunks(id, held.subList(0, 1000));
        catalog.addRepoChunks(id, List.of(held.get(5), held.get(5)));
        catalog.addRepoChunks(id, List.of());
        catalog.addRepoChunks(other, held.subList(0, 10));

        List<ContentHash> probe = new ArrayList<>(held.subList(n / 2, n));
        probe.addAll(absent);
        java.util.Collections.shuffle(probe, random);
        assertEquals(Set.copyOf(held.subList(n / 2, n)), catalog.repoChunksAmong(id, probe));
        assertEquals(Set.copyOf(held), catalog.repoChunksAmong(id, held), "every one of 20,000 recorded");
        assertEquals(Set.copyOf(held.subList(0, 10)), catalog.repoChunksAmong(other, held.subList(0, 1000)), "scoped to the repository");
        assertEquals(Set.of(), catalog.repoChunksAmong(id, absent));
        assertEquals(Set.of(), catalog.repoChunksAmong(id, List.of()));
        assertThrows(NotFoundException.class, () -> catalog.addRepoChunks(other + 1000, held.subList(0, 1)));
    }

    @Test
    void repoReferencesManifestLooksAtEveryCommitOfTheRepository() {
        long id = repo("lab/run");
        long other = repo("lab/other");
        String head = publish(id, "main");
        FileEntry file = catalog.listFiles(id, head).getFirst();
        assertTrue(catalog.repoReferencesManifest(id, file.manifestId()));
        assertFalse(catalog.repoReferencesManifest(id, file.sha256()), "a content hash is not a manifest id");
        assertFalse(catalog.repoReferencesManifest(other, file.manifestId()), "scoped to the repository");
        assertFalse(catalog.repoReferencesManifest(id, hash("no such manifest")));
        publish(id, "main");
        catalog.markExpired(id, List.of(head));
        NewCommit fresh = commit(id, List.of(), files("other", 1));
        catalog.publishCommit(fresh, "side", null);
        catalog.markExpired(id, List.of(fresh.commit().id()));
        assertTrue(catalog.repoReferencesManifest(id, fresh.files().getFirst().manifestId()), "expired commits count");
    }

    // ---- audit log

    private static AuditRecord audit(long seq, Instant at, String principal, String action, String resource) {
        byte[] prev = seq == 1 ? new byte[32] : ContentHash.sha256Of(("record " + (seq - 1)).getBytes(StandardCharsets.UTF_8)).toBytes();
        byte[] hash = ContentHash.sha256Of(("record " + seq).getBytes(StandardCharsets.UTF_8)).toBytes();
        return new AuditRecord(seq, at, principal, seq % 2 == 0 ? "tok_" + seq : null, seq % 3 == 0 ? null : "10.0.0." + (seq % 250),
                action, resource, seq % 5 == 0 ? "deny" : "allow", seq % 5 == 0 ? 403 : 200, seq % 2 == 0 ? null : "detail " + seq,
                prev, hash);
    }

    private static AuditRecord audit(long seq) {
        return audit(seq, T0.plusMillis(seq), "alice", "repo.read", "lab/run");
    }

    private static void assertAudit(AuditRecord expected, AuditRecord actual) {
        assertEquals(List.of(expected.seq(), expected.at(), String.valueOf(expected.principal()), String.valueOf(expected.tokenId()),
                        String.valueOf(expected.client()), expected.action(), String.valueOf(expected.resource()),
                        expected.decision(), expected.status(), String.valueOf(expected.detail())),
                List.of(actual.seq(), actual.at(), String.valueOf(actual.principal()), String.valueOf(actual.tokenId()),
                        String.valueOf(actual.client()), actual.action(), String.valueOf(actual.resource()),
                        actual.decision(), actual.status(), String.valueOf(actual.detail())));
        assertArrayEquals(expected.prevHash(), actual.prevHash());
        assertArrayEquals(expected.hash(), actual.hash());
    }

    private List<Long> scannedSeqs(long from) {
        List<Long> seqs = new ArrayList<>();
        catalog.scanAudit(from, r -> seqs.add(r.seq()));
        return seqs;
    }

    @Test
    void auditRecordsAppendOnlyContiguously() {
        assertEquals(Optional.empty(), catalog.lastAudit());
        assertThrows(ConflictException.class, () -> catalog.appendAudit(List.of(audit(2))), "an empty log starts at 1");
        assertThrows(ConflictException.class, () -> catalog.appendAudit(List.of(audit(0))));
        catalog.appendAudit(List.of());
        catalog.appendAudit(List.of(audit(1), audit(2), audit(3)));
        AuditRecord nullable = new AuditRecord(4, T0.plusSeconds(4), "anonymous", null, null, "auth.fail", null, "deny", 401, null,
                audit(4).prevHash(), audit(4).hash());
        catalog.appendAudit(List.of(nullable));
        assertAudit(nullable, catalog.lastAudit().orElseThrow());

        assertThrows(ConflictException.class, () -> catalog.appendAudit(List.of(audit(6))), "gap after the log");
        assertThrows(ConflictException.class, () -> catalog.appendAudit(List.of(audit(4), audit(5))), "overlap");
        assertThrows(ConflictException.class, () -> catalog.appendAudit(List.of(audit(5), audit(7))), "gap inside the batch");
        assertThrows(ConflictException.class, () -> catalog.appendAudit(List.of(audit(5), audit(6), audit(6))));
        assertThrows(InvalidInputException.class, () -> catalog.appendAudit(List.of(audit(5),
                new AuditRecord(6, T0, "alice", null, null, "x", null, "allow", 200, null, new byte[32], new byte[31]))));
        assertEquals(List.of(1L, 2L, 3L, 4L), scannedSeqs(1), "nothing of a rejected batch was written");
        assertEquals(4, catalog.lastAudit().orElseThrow().seq());

        catalog.appendAudit(List.of(audit(5), audit(6)));
        List<AuditRecord> all = new ArrayList<>();
        catalog.scanAudit(1, all::add);
        assertEquals(6, all.size());
        for (int i = 0; i < 3; i++) {
            assertAudit(audit(i + 1), all.get(i));
        }
        assertAudit(nullable, all.get(3));
        assertAudit(audit(6), catalog.lastAudit().orElseThrow());
    }

    @Test
    void auditQueriesFilterByRepositoryPrincipalActionAndTime() {
        List<AuditRecord> log = List.of(
                audit(1, T0, "alice", "repo.create", "lab/chim"),
                audit(2, T0.plusSeconds(1), "alice", "grant.create", "lab/chim@v1"),
                audit(3, T0.plusSeconds(2), "bob", "grant.revoke", "lab/chimera@v1"),
                audit(4, T0.plusSeconds(3), "bob", "file.read", "lab/chim:weights.bin"),
                audit(5, T0.plusSeconds(4), "alice", "grantx", "lab/chimera"),
                audit(6, T0.plusSeconds(5), "carol", "auth.login", null),
                audit(7, T0.plusSeconds(6), "alice", "grant.create", "lab/chim@v2:weights.bin"),
                audit(8, T0.plusSeconds(7), "bob", "repo.read", "lab/a_b@v1"),
                audit(9, T0.plusSeconds(8), "bob", "repo.read", "lab/aXb@v1"),
                audit(10, T0.plusSeconds(9), "bob", "repo.read", "lab/chim/x"),
                audit(11, T0.plusSeconds(10), "Alice", "grant", "lab/chim"));
        catalog.appendAudit(log);

        assertEquals(List.of(1L, 2L, 4L, 7L, 11L), seqs(new AuditQuery("lab/chim", null, null, null, null, 0, 100)),
                "the repository and what lies in it, not lab/chimera or lab/chim/x");
        assertEquals(List.of(3L, 5L), seqs(new AuditQuery("lab/chimera", null, null, null, null, 0, 100)));
        assertEquals(List.of(8L), seqs(new AuditQuery("lab/a_b", null, null, null, null, 0, 100)), "'_' is no wildcard");
        assertEquals(List.of(), seqs(new AuditQuery("lab/ch", null, null, null, null, 0, 100)));
        assertEquals(List.of(1L, 2L, 5L, 7L), seqs(new AuditQuery(null, "alice", null, null, null, 0, 100)), "principal is exact");
        assertEquals(List.of(2L, 7L), seqs(new AuditQuery(null, null, "grant.create", null, null, 0, 100)));
        assertEquals(List.of(2L, 3L, 7L), seqs(new AuditQuery(null, null, "grant.", null, null, 0, 100)),
                "a trailing '.' is a prefix, and grantx is not under it");
        assertEquals(List.of(11L), seqs(new AuditQuery(null, null, "grant", null, null, 0, 100)), "no '.', no prefix");
        assertEquals(List.of(3L, 4L), seqs(new AuditQuery(null, null, null, T0.plusSeconds(2), T0.plusSeconds(4), 0, 100)),
                "since inclusive, until exclusive");
        assertEquals(List.of(10L, 11L), seqs(new AuditQuery(null, null, null, T0.plusSeconds(9), null, 0, 100)));
        assertEquals(List.of(1L), seqs(new AuditQuery(null, null, null, null, T0.plusNanos(1), 0, 100)));
        assertEquals(List.of(2L, 7L), seqs(new AuditQuery("lab/chim", "alice", "grant.", T0.plusSeconds(1), T0.plusSeconds(7), 0, 100)));
        assertEquals(List.of(7L, 11L), seqs(new AuditQuery("lab/chim", null, null, null, null, 4, 100)), "after seq");
        assertEquals(List.of(1L, 2L), seqs(new AuditQuery(null, null, null, null, null, 0, 2)), "limit, ascending");
        assertAudit(log.get(5), catalog.queryAudit(new AuditQuery(null, "carol", null, null, null, 0, 10)).getFirst());

        List<Long> paged = new ArrayList<>();
        long after = 0;
        for (List<AuditRecord> page; !(page = catalog.queryAudit(new AuditQuery(null, "bob", null, null, null, after, 2))).isEmpty(); ) {
            assertTrue(page.size() <= 2);
            page.forEach(r -> paged.add(r.seq()));
            after = page.getLast().seq();
        }
        assertEquals(List.of(3L, 4L, 8L, 9L, 10L), paged);
        assertThrows(InvalidInputException.class, () -> catalog.queryAudit(new AuditQuery(null, null, null, null, null, 0, 0)));
    }

    private List<Long> seqs(AuditQuery query) {
        return catalog.queryAudit(query).stream().map(AuditRecord::seq).toList();
    }

    @Test
    void auditScansStreamInSeqOrderAcrossPages() {
        int n = 2_000;
        List<AuditRecord> log = new ArrayList<>(n);
        for (int i = 1; i <= n; i++) {
            log.add(audit(i));
        }
        catalog.appendAudit(log.subList(0, 1500));
        catalog.appendAudit(log.subList(1500, n));
        List<Long> expected = log.stream().map(AuditRecord::seq).toList();
        assertEquals(expected, scannedSeqs(1));
        assertEquals(expected, scannedSeqs(-5));
        assertEquals(expected.subList(1000, n), scannedSeqs(1001));
        assertEquals(List.of((long) n), scannedSeqs(n));
        assertEquals(List.of(), scannedSeqs(n + 1));
        assertEquals(n, catalog.lastAudit().orElseThrow().seq());
    }

    // ---- replicated access state

    /** The primary's access state, keyed by names: applied whole, local things kept, grants of absent commits deferred. */
    @Test
    void replaceAccessStateAppliesTheNamedStateInOneTransaction() {
        repo("lab/local-only"); // repository ids differ from the primary's: everything is matched by name
        long a = repo("lab/a");
        long b = repo("lab/b");
        String headA = publish(a, "main");
        String missing = newCommitId();
        // This server's own things: its bootstrap admin with the token the primary replicates with, a local group.
        catalog.createUser("admin", true);
        catalog.createToken(new TokenRecord("replica0000000001", "admin", "replication", TokenScope.ADMIN, List.of(),
                hash("replica").toBytes(), T0, null, null));
        catalog.createGroup("local");
        catalog.createUser("zed", false);
        catalog.addGroupMember("local", "zed");
        // Rules the primary no longer has: replaced.
        catalog.createUser("alice", false);
        catalog.setRole(a, SubjectKind.USER, "alice", RepoRole.ADMIN);
        catalog.setRole(a, SubjectKind.USER, "zed", RepoRole.WRITER);
        catalog.putProtection(new Protection(a, "old/*", List.of()));
        catalog.setRetention(a, "old", 3);
        long localOnly = catalog.findRepo("lab/local-only").orElseThrow().id();
        catalog.setRole(localOnly, SubjectKind.USER, "zed", RepoRole.READER);
        catalog.createToken(new TokenRecord("revokedhere00001", "alice", "", TokenScope.READ, List.of(), hash("r").toBytes(),
                T0, null, null));
        catalog.revokeToken("revokedhere00001", T0.plusSeconds(1));

        byte[] aliceHash = hash("alice token").toBytes();
        AccessState state = new AccessState(
                List.of(new AccessState.User("admin", true, false, T0), new AccessState.User("alice", false, false, T0.plusSeconds(2)),
                        new AccessState.User("bob", false, true, T0.plusSeconds(3))),
                List.of(new AccessState.Group("ml", T0.plusSeconds(4), List.of("alice", "bob"))),
                List.of(new TokenRecord("alice00000000001", "alice", "laptop", TokenScope.WRITE, List.of("lab/a"), aliceHash,
                                T0.plusSeconds(5), T0.plusSeconds(86_400), null),
                        new TokenRecord("revokedhere00001", "alice", "", TokenScope.READ, List.of(), hash("r").toBytes(), T0, null, null)),
                List.of(new AccessState.RepoAccess("lab/a", Visibility.INTERNAL, Map.of("main", 5),
                                List.of(new AccessState.Role(SubjectKind.GROUP, "ml", RepoRole.READER),
                                        new AccessState.Role(SubjectKind.USER, "alice", RepoRole.WRITER)),
                                List.of(new AccessState.ProtectionRule("main", List.of("user:alice"))),
                                List.of(new AccessState.Grant("g0000000000000001", null, headA, SubjectKind.USER, "bob", "alice",
                                                T0.plusSeconds(6), null, null),
                                        new AccessState.Grant("g0000000000000002", "v9", missing, SubjectKind.GROUP, "ml", "alice",
                                                T0.plusSeconds(7), null, null))),
                        new AccessState.RepoAccess("lab/b", Visibility.PUBLIC, Map.of(), List.of(), List.of(), List.of())));

        assertEquals(List.of("g0000000000000002"), catalog.replaceAccessState(state), "its commit is not here yet");

        assertEquals(List.of("admin", "alice", "bob", "zed"), catalog.listUsers().stream().map(UserRecord::name).toList());
        UserRecord bob = catalog.findUser("bob").orElseThrow();
        assertTrue(bob.disabled());
        assertEquals(T0.plusSeconds(3), bob.createdAt());
        assertEquals(Map.of("ml", Set.of("alice", "bob"), "local", Set.of("zed")), catalog.groupMembers());
        List<TokenRecord> tokens = catalog.listTokens();
        assertEquals(3, tokens.size(), "the replica's own token is kept");
        assertToken(state.tokens().getFirst(), tokenById(tokens, "alice00000000001"));
        assertEquals(T0.plusSeconds(1), tokenById(tokens, "revokedhere00001").revokedAt(), "a revocation here stands");
        assertEquals("admin", tokenById(tokens, "replica0000000001").user());
        assertEquals(Visibility.INTERNAL, catalog.findRepo("lab/a").orElseThrow().visibility());
        assertEquals(Visibility.PUBLIC, catalog.findRepo("lab/b").orElseThrow().visibility());
        assertEquals(Map.of("main", 5), catalog.retentionRules(a));
        assertEquals(List.of(new RoleBinding(localOnly, SubjectKind.USER, "zed", RepoRole.READER),
                new RoleBinding(a, SubjectKind.GROUP, "ml", RepoRole.READER), new RoleBinding(a, SubjectKind.USER, "alice", RepoRole.WRITER)),
                catalog.listRoles(), "lab/local-only is not named: its role is kept");
        assertEquals(List.of(new Protection(a, "main", List.of("user:alice"))), catalog.listProtections());
        assertEquals(List.of("g0000000000000001"), catalog.listGrants().stream().map(GrantRecord::id).toList());
        GrantRecord g = catalog.listGrants().getFirst();
        assertEquals(a, g.repoId());
        assertEquals(headA, g.commitId());
        assertEquals("bob", g.subject());

        // Applying it again changes nothing; once the commit is here the deferred grant is stored.
        assertEquals(List.of("g0000000000000002"), catalog.replaceAccessState(state));
        assertEquals(3, catalog.listTokens().size());
        NewCommit arrived = new NewCommit(new CommitRecord(missing, a, List.of(headA), "alice", "later", T0.plusSeconds(100),
                null, Map.of(), null, false), files("g", 1), List.of());
        catalog.importCommit(arrived);
        assertEquals(List.of(), catalog.replaceAccessState(state));
        assertEquals(List.of("g0000000000000001", "g0000000000000002"), catalog.listGrants().stream().map(GrantRecord::id).toList());
        assertEquals("v9", catalog.listGrants().get(1).ref());
    }

    @Test
    void replaceAccessStateChangesNothingWhenAnyPartIsRefused() {
        long a = repo("lab/a");
        catalog.createUser("admin", true);
        catalog.createGroup("ops");
        catalog.setRole(a, SubjectKind.USER, "admin", RepoRole.ADMIN);
        List<UserRecord> users = catalog.listUsers();
        List<RoleBinding> roles = catalog.listRoles();
        AccessState.RepoAccess plain = new AccessState.RepoAccess("lab/a", Visibility.PUBLIC, Map.of(), List.of(), List.of(), List.of());
        AccessState.User carol = new AccessState.User("carol", false, false, T0);

        // A repository this server lacks, named after valid changes: nothing is kept.
        assertThrows(NotFoundException.class, () -> catalog.replaceAccessState(new AccessState(List.of(carol), List.of(), List.of(),
                List.of(plain, new AccessState.RepoAccess("lab/ghost", Visibility.PUBLIC, Map.of(), List.of(), List.of(), List.of())))));
        // A user named like a group of this server (one namespace).
        assertThrows(ConflictException.class, () -> catalog.replaceAccessState(new AccessState(
                List.of(carol, new AccessState.User("ops", false, false, T0)), List.of(), List.of(), List.of(plain))));
        // A member, token owner or role subject that exists nowhere.
        assertThrows(NotFoundException.class, () -> catalog.replaceAccessState(new AccessState(List.of(carol),
                List.of(new AccessState.Group("ml", T0, List.of("nobody"))), List.of(), List.of(plain))));
        assertThrows(NotFoundException.class, () -> catalog.replaceAccessState(new AccessState(List.of(carol), List.of(),
                List.of(new TokenRecord("t000000000000001", "nobody", "", TokenScope.READ, List.of(), hash("t").toBytes(), T0, null, null)),
                List.of(plain))));
        assertThrows(NotFoundException.class, () -> catalog.replaceAccessState(new AccessState(List.of(carol), List.of(), List.of(),
                List.of(new AccessState.RepoAccess("lab/a", Visibility.PUBLIC, Map.of(),
                        List.of(new AccessState.Role(SubjectKind.GROUP, "nobody", RepoRole.READER)), List.of(), List.of())))));
        // A token hash that is not 32 bytes, a retention count below 1: refused before the catalog is touched.
        assertThrows(InvalidInputException.class, () -> catalog.replaceAccessState(new AccessState(List.of(carol), List.of(),
                List.of(new TokenRecord("t000000000000001", "carol", "", TokenScope.READ, List.of(), new byte[31], T0, null, null)),
                List.of(plain))));
        assertThrows(InvalidInputException.class, () -> catalog.replaceAccessState(new AccessState(List.of(carol), List.of(), List.of(),
                List.of(new AccessState.RepoAccess("lab/a", Visibility.PUBLIC, Map.of("main", 0), List.of(), List.of(), List.of())))));

        assertEquals(users, catalog.listUsers());
        assertEquals(Map.of("ops", Set.of()), catalog.groupMembers());
        assertEquals(List.of(), catalog.listTokens());
        assertEquals(roles, catalog.listRoles());
        assertEquals(Visibility.PRIVATE, catalog.findRepo("lab/a").orElseThrow().visibility());
    }
}
