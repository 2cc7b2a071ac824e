package dev.strata.service;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.strata.catalog.AuditQuery;
import dev.strata.catalog.AuditRecord;
import dev.strata.catalog.Catalog;
import dev.strata.catalog.Catalogs;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The hash-chained audit log: concurrent appends form one chain; every kind of tampering is detected. */
class AuditLogTest {
    @TempDir Path dir;

    private Catalog open() {
        return Catalogs.open("sqlite:" + dir.resolve("c.db"));
    }

    private static AuditLog.Event event(int i) {
        return new AuditLog.Event("user" + (i % 3), "tok" + i, "127.0.0.1", i % 2 == 0 ? "file.read" : "commit.create",
                "lab/m@v" + i + ":w.bin", "allow", 200, i % 5 == 0 ? null : "detail " + i);
    }

    /** Appends {@code n} records from 8 threads at once and waits for all of them. */
    private void fill(AuditLog log, int n) throws Exception {
        List<CompletableFuture<AuditRecord>> all = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 8; t++) {
            int first = t;
            threads.add(Thread.ofVirtual().start(() -> {
                for (int i = first; i < n; i += 8) {
                    synchronized (all) {
                        all.add(log.record(event(i)));
                    }
                }
            }));
        }
        for (Thread t : threads) {
            t.join();
        }
        for (CompletableFuture<AuditRecord> f : all) {
            f.get();
        }
    }

    private void sql(String statement) throws Exception {
        try (Connection c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("c.db")); Statement st = c.createStatement()) {
            st.execute(statement);
        }
    }

    @Test
    void concurrentAppendsFormOneIntactChain() throws Exception {
        try (Catalog c = open(); AuditLog log = new AuditLog(c, dir.resolve("audit.head"), Clock.systemUTC())) {
            fill(log, 2000);
            AuditLog.Verification v = log.verify();
            assertTrue(v.ok(), v.problem());
            assertEquals(2000, v.records());
            assertEquals(2000, v.lastSeq());
            assertEquals(1000, log.query(new AuditQuery(null, null, "file.read", null, null, 0, 10_000)).size());
        }
    }

    @Test
    void anEditedRecordIsNamed() throws Exception {
        try (Catalog c = open(); AuditLog log = new AuditLog(c, dir.resolve("audit.head"), Clock.systemUTC())) {
            fill(log, 50);
            // Each edit hits an earlier record than the one before, so each is the first bad record.
            // Every edit must change the record whatever event landed there (some details are NULL).
            long seq = 45;
            for (String edit : List.of("principal = 'mallory'", "status = 403", "detail = 'forged detail'", "resource = 'lab/other'",
                    "at = at + 1", "decision = 'deny'", "token_id = 'tok-x'")) {
                sql("UPDATE audit_log SET " + edit + " WHERE seq = " + seq);
                AuditLog.Verification v = log.verify();
                assertFalse(v.ok(), edit);
                assertEquals(seq, v.firstBadSeq(), edit + ": " + v.problem());
                seq -= 5;
            }
        }
    }

    @Test
    void aRecordDeletedFromTheMiddleIsNamed() throws Exception {
        try (Catalog c = open(); AuditLog log = new AuditLog(c, dir.resolve("audit.head"), Clock.systemUTC())) {
            fill(log, 50);
            sql("DELETE FROM audit_log WHERE seq = 20");
            AuditLog.Verification v = log.verify();
            assertFalse(v.ok());
            assertEquals(20, v.firstBadSeq(), v.problem());
        }
    }

    @Test
    void recordsCutFromTheEndAreCaughtByTheAnchorAlsoAfterARestart() throws Exception {
        try (Catalog c = open(); AuditLog log = new AuditLog(c, dir.resolve("audit.head"), Clock.systemUTC())) {
            fill(log, 50);
            sql("DELETE FROM audit_log WHERE seq > 45");
            AuditLog.Verification v = log.verify();
            assertFalse(v.ok());
            assertEquals(46, v.firstBadSeq(), v.problem());
        }
        // A restart over the truncated log records the mismatch in the trail itself before moving on.
        try (Catalog c = open(); AuditLog log = new AuditLog(c, dir.resolve("audit.head"), Clock.systemUTC())) {
            log.record(event(99)).get();
            List<AuditRecord> flagged = log.query(new AuditQuery(null, null, "audit.anchor_mismatch", null, null, 0, 10));
            assertEquals(1, flagged.size());
            assertTrue(flagged.get(0).detail().contains("removed"), flagged.get(0).detail());
        }
    }

    @Test
    void editingEveryHashConsistentlyStillFailsAgainstTheAnchor() throws Exception {
        try (Catalog c = open(); AuditLog log = new AuditLog(c, dir.resolve("audit.head"), Clock.systemUTC())) {
            fill(log, 10);
            // Rewriting the last record and its hash to match its new content: the chain is consistent again...
            AuditRecord last = c.lastAudit().orElseThrow();
            AuditLog.Event forged = new AuditLog.Event("mallory", null, null, last.action(), last.resource(), last.decision(),
                    last.status(), last.detail());
            byte[] h = AuditLog.hash(last.prevHash(), last.seq(), last.at(), forged);
            sql("UPDATE audit_log SET principal = 'mallory', token_id = NULL, client = NULL, hash = X'"
                    + java.util.HexFormat.of().formatHex(h) + "' WHERE seq = " + last.seq());
            // ... but not with the anchor kept outside the database.
            AuditLog.Verification v = log.verify();
            assertFalse(v.ok());
            assertEquals(10, v.firstBadSeq(), v.problem());
        }
    }
}
