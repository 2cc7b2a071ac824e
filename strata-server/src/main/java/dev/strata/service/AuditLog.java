package dev.strata.service;

import dev.strata.catalog.AccessCatalog;
import dev.strata.catalog.AuditQuery;
import dev.strata.catalog.AuditRecord;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The tamper-evident audit trail (docs/security.md, "Audit"). Records are appended by one
 * writer thread in batches (group commit): a request only enqueues its record, so reads are not
 * slowed by a catalog write each; writes wait for their record to be durable before they answer.
 * Each record's hash covers the previous record's hash and its own canonical encoding
 * ({@link #canonical}), so editing, inserting or deleting any record breaks the chain, which
 * {@link #verify} detects. Deleting records from the end is caught by the head anchor: the last
 * seq and hash, kept in a file beside the catalog ({@code DATA/audit.head}) and rewritten after
 * every batch.
 */
public final class AuditLog implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditLog.class);
    private static final int MAX_BATCH = 4096;
    private static final int MAX_QUEUE = 1 << 20;
    /**
     * How long records nobody waits for (reads) may gather before they are written together. A
     * transaction's fixed cost (commit, fsync, anchor) dominated the writer at 50 ms (20 a second);
     * at 200 ms a stream of reads costs 5 a second (docs/benchmarks.md, "Access control").
     */
    static final long GATHER_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(200);
    static final byte[] GENESIS = new byte[32];

    /** What happened, before it has a place in the chain. */
    public record Event(String principal, String tokenId, String client, String action, String resource,
                        String decision, int status, String detail) {}

    /** {@code urgent}: a request waits for it (a write), so its batch is written without gathering more. */
    private record Pending(Event event, Instant at, boolean urgent, CompletableFuture<AuditRecord> done) {}

    private final AccessCatalog catalog;
    private final Path headFile;
    private final Clock clock;
    private final LinkedBlockingQueue<Pending> queue = new LinkedBlockingQueue<>(MAX_QUEUE);
    private final Thread writer;
    private volatile boolean closing;
    private long lastSeq;
    private byte[] lastHash;
    private java.nio.channels.FileChannel anchorChannel;

    /** @param headFile where the head anchor lives; null keeps none (tests of the catalog alone) */
    public AuditLog(AccessCatalog catalog, Path headFile, Clock clock) {
        this.catalog = catalog;
        this.headFile = headFile;
        this.clock = clock;
        AuditRecord last = catalog.lastAudit().orElse(null);
        lastSeq = last == null ? 0 : last.seq();
        lastHash = last == null ? GENESIS : last.hash();
        writer = Thread.ofPlatform().daemon().name("strata-audit").start(this::writeLoop);
        checkAnchorAtStart(last);
    }

    /** Enqueues a record that a request will wait for; the future completes once it is durable in the catalog. */
    public CompletableFuture<AuditRecord> record(Event e) {
        return record(e, true);
    }

    /**
     * Enqueues a record; the future completes once it is durable. Records that are not
     * {@code urgent} gather for up to {@link #GATHER_NANOS} so that a stream of reads costs one
     * catalog transaction (one fsync) per batch rather than per read.
     */
    public CompletableFuture<AuditRecord> record(Event e, boolean urgent) {
        Pending p = new Pending(e, clock.instant(), urgent, new CompletableFuture<>());
        if (closing) {
            p.done().completeExceptionally(new IllegalStateException("audit log closed"));
            return p.done();
        }
        try {
            // A full queue means the catalog is stalled: wait rather than drop a record.
            queue.put(p);
            if (urgent) {
                java.util.concurrent.locks.LockSupport.unpark(writer);
            }
        } catch (InterruptedException ex) {
            Thread.currentThread().interrupt();
            p.done().completeExceptionally(ex);
        }
        return p.done();
    }

    private void writeLoop() {
        List<Pending> batch = new ArrayList<>();
        while (true) {
            try {
                Pending first = queue.poll(200, TimeUnit.MILLISECONDS);
                if (first == null) {
                    if (closing) {
                        return;
                    }
                    continue;
                }
                batch.add(first);
                gather(batch);
                writeBatch(batch);
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.error("audit write failed; {} records not recorded, requests waiting on them fail", batch.size(), e);
                batch.forEach(p -> p.done().completeExceptionally(e));
                // Re-read the chain head: the failed transaction wrote nothing.
                AuditRecord last = catalog.lastAudit().orElse(null);
                lastSeq = last == null ? 0 : last.seq();
                lastHash = last == null ? GENESIS : last.hash();
            }
            batch.clear();
        }
    }

    /** Adds queued records to {@code batch} until one is urgent, the batch is full, or the gathering time is up. */
    private void gather(List<Pending> batch) throws InterruptedException {
        if (batch.getFirst().urgent()) {
            queue.drainTo(batch, MAX_BATCH - batch.size()); // whatever is queued anyway rides along
            return;
        }
        long deadline = System.nanoTime() + GATHER_NANOS;
        // Sleep rather than wake per record: only an urgent record unparks this thread early.
        while (batch.size() < MAX_BATCH) {
            int before = batch.size();
            queue.drainTo(batch, MAX_BATCH - before);
            for (int i = before; i < batch.size(); i++) {
                if (batch.get(i).urgent()) {
                    return;
                }
            }
            long left = deadline - System.nanoTime();
            if (left <= 0 || closing) {
                return;
            }
            java.util.concurrent.locks.LockSupport.parkNanos(this, left);
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
        }
    }

    private void writeBatch(List<Pending> batch) {
        List<AuditRecord> records = new ArrayList<>(batch.size());
        long seq = lastSeq;
        byte[] prev = lastHash;
        for (Pending p : batch) {
            Event e = p.event();
            if (e == null) {
                continue; // a barrier (sync): completes with the batch, takes no seq
            }
            seq++;
            byte[] hash = hash(prev, seq, p.at(), e);
            records.add(new AuditRecord(seq, p.at(), e.principal(), e.tokenId(), e.client(), e.action(), e.resource(),
                    e.decision(), e.status(), e.detail(), prev, hash));
            prev = hash;
        }
        if (!records.isEmpty()) {
            catalog.appendAudit(records);
            lastSeq = seq;
            lastHash = prev;
            writeHead(seq, prev);
        }
        int r = 0;
        for (Pending p : batch) {
            p.done().complete(p.event() == null ? null : records.get(r++));
        }
    }

    /**
     * Waits until every record enqueued before this call is durable: queries and verification
     * call it first, so they see the reads answered just before (reads gather up to 200 ms).
     */
    public void sync() {
        Pending barrier = new Pending(null, clock.instant(), true, new CompletableFuture<>());
        if (closing) {
            return;
        }
        try {
            queue.put(barrier);
            java.util.concurrent.locks.LockSupport.unpark(writer);
            barrier.done().get(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
            LOG.warn("audit sync did not complete: {}", e.toString());
        }
    }

    /**
     * Overwrites the anchor in place with a fixed-width line (86 bytes: one write, no rename, no
     * fsync): it runs after every batch. After a power loss the anchor may trail the log, which
     * verification allows; it never leads it, because it is written after the catalog commit.
     */
    private void writeHead(long seq, byte[] hash) {
        if (headFile == null) {
            return;
        }
        try {
            if (anchorChannel == null) {
                anchorChannel = java.nio.channels.FileChannel.open(headFile, java.nio.file.StandardOpenOption.CREATE,
                        java.nio.file.StandardOpenOption.WRITE);
            }
            String digits = Long.toString(seq);
            byte[] line = ("0".repeat(20 - digits.length()) + digits + " " + HexFormat.of().formatHex(hash) + System.lineSeparator())
                    .getBytes(StandardCharsets.US_ASCII);
            anchorChannel.write(java.nio.ByteBuffer.wrap(line), 0);
            anchorChannel.truncate(line.length);
        } catch (IOException e) {
            LOG.warn("cannot update the audit head anchor {}: {}", headFile, e.toString());
        }
    }

    static byte[] hash(byte[] prev, long seq, Instant at, Event e) {
        try {
            MessageDigest md = (MessageDigest) SHA256.clone();
            md.update(prev);
            md.update(canonical(seq, at, e));
            return md.digest();
        } catch (CloneNotSupportedException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static final MessageDigest SHA256;

    static {
        try {
            SHA256 = MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * The bytes a record's hash covers (docs/security.md): seq (8 bytes, big-endian), time as
     * epoch seconds (8) and nanoseconds (4), then principal, token id, client, action, resource,
     * decision as length-prefixed UTF-8 (4-byte length, -1 for null), status (4), detail.
     */
    static byte[] canonical(long seq, Instant at, Event e) {
        try {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream(256);
            DataOutputStream out = new DataOutputStream(bytes);
            out.writeLong(seq);
            out.writeLong(at.getEpochSecond());
            out.writeInt(at.getNano());
            for (String s : new String[] {e.principal(), e.tokenId(), e.client(), e.action(), e.resource(), e.decision()}) {
                writeString(out, s);
            }
            out.writeInt(e.status());
            writeString(out, e.detail());
            return bytes.toByteArray();
        } catch (IOException ex) {
            throw new IllegalStateException(ex);
        }
    }

    private static void writeString(DataOutputStream out, String s) throws IOException {
        if (s == null) {
            out.writeInt(-1);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        out.writeInt(b.length);
        out.write(b);
    }

    // ---- reading and verification

    /** Records matching {@code q}, including every record enqueued before the call. */
    public List<AuditRecord> query(AuditQuery q) {
        sync();
        return catalog.queryAudit(q);
    }

    /** Outcome of {@link #verify}: {@code firstBadSeq} is 0 when the log is intact. */
    public record Verification(boolean ok, long records, long lastSeq, long firstBadSeq, String problem) {}

    /** The last seq and hash as of some batch; {@code seq == 0} when there is no anchor file. */
    private record Anchor(long seq, byte[] hash) {}

    private Anchor readAnchor() throws IOException {
        if (headFile == null || !Files.isRegularFile(headFile)) {
            return new Anchor(0, GENESIS);
        }
        String[] parts = Files.readString(headFile).trim().split(" ");
        if (parts.length != 2) {
            throw new IOException("expected 'SEQ HASH'");
        }
        return new Anchor(Long.parseLong(parts[0]), HexFormat.of().parseHex(parts[1]));
    }

    /**
     * Walks the whole chain: seqs contiguous from 1, each prev hash and hash as recomputed, and
     * the record the head anchor names present with the anchored hash. The anchor is read
     * first, so records appended during the walk are no false alarm.
     */
    public Verification verify() {
        sync();
        Anchor anchor;
        try {
            anchor = readAnchor();
        } catch (IOException | RuntimeException e) {
            return new Verification(false, 0, 0, 0, "the head anchor " + headFile + " is unreadable: " + e.getMessage());
        }
        long[] count = {0};
        long[] expectSeq = {1};
        byte[][] prev = {GENESIS};
        byte[][] atAnchor = {anchor.seq() == 0 ? GENESIS : null};
        String[] problem = {null};
        long[] bad = {0};
        catalog.scanAudit(1, r -> {
            if (problem[0] != null) {
                return;
            }
            count[0]++;
            Event e = new Event(r.principal(), r.tokenId(), r.client(), r.action(), r.resource(), r.decision(), r.status(), r.detail());
            if (r.seq() != expectSeq[0]) {
                problem[0] = "record " + expectSeq[0] + " is missing (next present is " + r.seq() + ")";
                bad[0] = expectSeq[0];
            } else if (!MessageDigest.isEqual(r.prevHash(), prev[0])) {
                problem[0] = "record " + r.seq() + " does not link to the record before it";
                bad[0] = r.seq();
            } else if (!MessageDigest.isEqual(r.hash(), hash(prev[0], r.seq(), r.at(), e))) {
                problem[0] = "record " + r.seq() + " was altered: its hash does not match its contents";
                bad[0] = r.seq();
            }
            if (r.seq() == anchor.seq()) {
                atAnchor[0] = r.hash();
            }
            prev[0] = r.hash();
            expectSeq[0] = r.seq() + 1;
        });
        long last = expectSeq[0] - 1;
        if (problem[0] == null && headFile != null && anchor.seq() == 0 && last > 0 && !Files.isRegularFile(headFile)) {
            problem[0] = "the head anchor " + headFile + " is missing: removal of records from the end cannot be ruled out";
        } else if (problem[0] == null && anchor.seq() > last) {
            problem[0] = "records " + (last + 1) + ".." + anchor.seq() + " were removed from the end of the log (the head anchor names " + anchor.seq() + ")";
            bad[0] = last + 1;
        } else if (problem[0] == null && !MessageDigest.isEqual(atAnchor[0] == null ? new byte[0] : atAnchor[0], anchor.hash())) {
            problem[0] = "record " + anchor.seq() + " does not match the head anchor";
            bad[0] = anchor.seq();
        }
        return new Verification(problem[0] == null, count[0], last, bad[0], problem[0]);
    }

    /**
     * At start: the log's tail must be what the anchor says (or newer, after a crash between a
     * commit and the anchor's rewrite). A mismatch is logged and recorded in the trail itself
     * before the anchor moves on, so the evidence outlives the next write.
     */
    private void checkAnchorAtStart(AuditRecord last) {
        if (headFile == null) {
            return;
        }
        String problem;
        try {
            Anchor a = readAnchor();
            long lastSeq = last == null ? 0 : last.seq();
            if (a.seq() == 0 && lastSeq > 0 && !Files.isRegularFile(headFile)) {
                problem = "head anchor missing while the log has " + lastSeq + " records";
            } else if (a.seq() > lastSeq) {
                problem = "the log ends at record " + lastSeq + " but the head anchor names record " + a.seq() + ": records were removed";
            } else if (a.seq() > 0) {
                List<AuditRecord> r = catalog.queryAudit(new AuditQuery(null, null, null, null, null, a.seq() - 1, 1));
                problem = !r.isEmpty() && r.get(0).seq() == a.seq() && MessageDigest.isEqual(r.get(0).hash(), a.hash())
                        ? null : "record " + a.seq() + " does not match the head anchor";
            } else {
                problem = null;
            }
        } catch (IOException | RuntimeException e) {
            problem = "head anchor unreadable: " + e.getMessage();
        }
        if (problem != null) {
            LOG.error("audit trail tampering suspected: {}", problem);
            record(new Event("system", null, null, "audit.anchor_mismatch", null, "deny", 0, problem));
        }
    }

    /** Writes what is queued, then stops the writer. */
    @Override
    public void close() {
        closing = true;
        try {
            writer.join(30_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (anchorChannel != null && !writer.isAlive()) {
            try {
                anchorChannel.close();
            } catch (IOException ignored) {
                // nothing left to write
            }
        }
    }
}
