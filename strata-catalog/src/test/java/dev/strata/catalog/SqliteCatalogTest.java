package dev.strata.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The conformance suite on the embedded default, plus what only a file can show: persistence. */
class SqliteCatalogTest extends CatalogConformanceTest {
    @TempDir
    Path dir;

    @Override
    protected Catalog newCatalog() {
        return Catalogs.open("sqlite:" + dir.resolve("nested/dirs/catalog.db"));
    }

    @Test
    void everythingSurvivesAReopen() throws Exception {
        long id = repo("lab/run");
        String head = publish(id, "main");
        catalog.setRetention(id, "main", 4);
        catalog.close();
        catalog = newCatalog();
        assertEquals("lab/run", catalog.findRepo("lab/run").orElseThrow().name());
        assertEquals(head, catalog.findRef(id, "main").orElseThrow().commitId());
        assertEquals(2, catalog.listFiles(id, head).size());
        assertEquals(4, catalog.retentionRules(id).get("main"));
        publish(id, "main");
        assertEquals(2, catalog.listCommits(id).size());
    }

    @Test
    void onlineBackupIsAConsistentCopyThatOpensAsACatalog() throws Exception {
        long id = repo("lab/run");
        String head = publish(id, "main");
        CatalogBackup backup = (CatalogBackup) catalog;
        assertTrue(backup.supportsOnlineBackup());
        Path target = dir.resolve("backups/catalog-1.db");
        backup.backupTo(target);
        publish(id, "main"); // after the backup: not in it
        org.junit.jupiter.api.Assertions.assertThrows(dev.strata.core.ConflictException.class, () -> backup.backupTo(target));
        try (Catalog copy = Catalogs.open("sqlite:" + target)) {
            assertEquals(head, copy.findRef(id, "main").orElseThrow().commitId());
            assertEquals(1, copy.listCommits(id).size());
            assertEquals(2, copy.listFiles(id, head).size());
        }
    }

    /** Backups taken while a writer publishes commits: each is a consistent snapshot (every head has its commit and files). */
    @Test
    void backupsDuringWritesAreConsistentSnapshots() throws Exception {
        long id = repo("lab/run");
        publish(id, "main");
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        ExecutorService pool = Executors.newSingleThreadExecutor();
        Future<Integer> writer = pool.submit(() -> {
            int n = 0;
            while (!stop.get()) {
                publish(id, "main");
                n++;
            }
            return n;
        });
        try {
            for (int i = 0; i < 5; i++) {
                Path target = dir.resolve("backups/during-" + i + ".db");
                ((CatalogBackup) catalog).backupTo(target);
                try (Catalog copy = Catalogs.open("sqlite:" + target)) {
                    String head = copy.findRef(id, "main").orElseThrow().commitId();
                    assertTrue(copy.findCommit(id, head).isPresent(), "head commit in the snapshot");
                    assertEquals(2, copy.listFiles(id, head).size());
                    assertEquals(copy.listCommits(id).size(), copy.listCommits(id).stream().map(CommitRecord::id).distinct().count());
                }
            }
        } finally {
            stop.set(true);
            assertTrue(writer.get(30, TimeUnit.SECONDS) > 0, "the writer made progress during the backups");
            pool.shutdown();
        }
    }

    @Test
    void fileIsInWalModeWithForeignKeysDeclared() throws Exception {
        catalog.createRepo("lab/run", "");
        Path file = dir.resolve("nested/dirs/catalog.db");
        assertTrue(Files.exists(file));
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file);
             ResultSet rs = c.createStatement().executeQuery("PRAGMA journal_mode")) {
            rs.next();
            assertEquals("wal", rs.getString(1));
        }
    }

    /** Two catalogs on one file are two processes' worth of writers: BEGIN IMMEDIATE and busy retry keep the CAS exact. */
    @Test
    void twoCatalogsOnOneFileStillHaveOneWinnerPerHead() throws Exception {
        long id = repo("lab/run");
        String head = publish(id, "main");
        try (Catalog second = newCatalog()) {
            ExecutorService pool = Executors.newFixedThreadPool(2);
            try {
                List<Catalog> both = List.of(catalog, second);
                int rounds = 10;
                for (int round = 0; round < rounds; round++) {
                    String expected = head;
                    List<NewCommit> commits = List.of(commit(id, List.of(head), files("a", 20)), commit(id, List.of(head), files("b", 20)));
                    List<Future<Boolean>> results = new java.util.ArrayList<>();
                    for (int i = 0; i < 2; i++) {
                        Catalog cat = both.get(i);
                        NewCommit c = commits.get(i);
                        results.add(pool.submit((Callable<Boolean>) () -> {
                            try {
                                cat.publishCommit(c, "main", expected);
                                return true;
                            } catch (dev.strata.core.ConflictException e) {
                                return false;
                            }
                        }));
                    }
                    int wins = 0;
                    for (int i = 0; i < 2; i++) {
                        if (results.get(i).get(30, TimeUnit.SECONDS)) {
                            wins++;
                            head = commits.get(i).commit().id();
                        }
                    }
                    assertEquals(1, wins, "round " + round);
                }
                assertEquals(head, second.findRef(id, "main").orElseThrow().commitId());
                assertEquals(rounds + 1, second.listCommits(id).size());
            } finally {
                pool.shutdownNow();
            }
        }
    }

    /** Closes the test's catalog and writes a catalog file at schema version {@code version} (OldSchema). */
    private Path oldCatalogFile(String version) throws Exception {
        catalog.close();
        catalog = null;
        Path file = dir.resolve("v" + version + ".db");
        OldSchema.create("jdbc:sqlite:" + file, "sqlite", version);
        return file;
    }

    /** A catalog written before the replication log existed: V3 seeds the log with its history, parents first. */
    @Test
    void upgradingSeedsTheReplicationLogWithExistingHistory() throws Exception {
        Path file = oldCatalogFile("2");
        String a = "a".repeat(40), b = "b".repeat(40);
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file); java.sql.Statement st = c.createStatement()) {
            st.execute("INSERT INTO repos (id, name, description, created_at) VALUES (1, 'lab/old', '', 0)");
            st.execute("INSERT INTO commits (seq, repo_id, id, author, message, created_at) VALUES (1, 1, '" + a + "', 'x', 'm', 0)");
            st.execute("INSERT INTO commits (seq, repo_id, id, author, message, created_at) VALUES (2, 1, '" + b + "', 'x', 'm', 0)");
            st.execute("INSERT INTO commit_parents (commit_seq, position, parent_id) VALUES (2, 0, '" + a + "')");
            st.execute("INSERT INTO refs (repo_id, name, kind, commit_id) VALUES (1, 'main', 'BRANCH', '" + b + "')");
            st.execute("INSERT INTO refs (repo_id, name, kind, commit_id) VALUES (1, 'v1', 'TAG', '" + a + "')");
        }
        try (Catalog upgraded = Catalogs.open("sqlite:" + file)) {
            List<ReplicationEntry> log = upgraded.replicationLog(0, 100);
            assertEquals(List.of(ReplicationEntry.Kind.COMMIT, ReplicationEntry.Kind.COMMIT, ReplicationEntry.Kind.REF,
                    ReplicationEntry.Kind.REF), log.stream().map(ReplicationEntry::kind).toList());
            assertEquals(java.util.Arrays.asList(a, b, b, a), log.stream().map(ReplicationEntry::newCommit).toList());
            assertEquals(java.util.Arrays.asList(null, null, "main", "v1"), log.stream().map(ReplicationEntry::ref).toList());
            assertEquals(RefKind.TAG, log.get(3).refKind());
            assertTrue(log.stream().allMatch(e -> e.oldCommit() == null && e.repoId() == 1));
            assertTrue(java.time.Duration.between(log.getFirst().at(), java.time.Instant.now()).abs().toMinutes() < 5,
                    "seeded entries are stamped with the migration time: " + log.getFirst().at());
            assertTrue(upgraded.serverId().matches("[0-9a-f]{32}"));
        }
    }

    /** Audit records from before V4: the upgrade gives them their repository key. */
    @Test
    void upgradingKeysExistingAuditRecordsByRepository() throws Exception {
        Path file = oldCatalogFile("3");
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + file)) {
            AuditRepoKeyUpgrade.seedV3(c);
        }
        try (Catalog upgraded = Catalogs.open("sqlite:" + file)) {
            AuditRepoKeyUpgrade.check(upgraded);
        }
    }
}
