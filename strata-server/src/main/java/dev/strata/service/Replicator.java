package dev.strata.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.AccessState;
import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.ReplicaProgress;
import dev.strata.catalog.ReplicationEntry;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.InvalidInputException;
import dev.strata.core.StrataException;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.wire.ChunkFrames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams the replication log to a replica (docs/decisions/0013-replication.md): one background
 * thread reads the entries above the replica's watermark in seq order and applies each through
 * the replica's REST API, then advances the watermark. Per commit: missing chunks, then
 * manifests (the push protocol, in an upload session that keeps them from the replica's GC),
 * then the verbatim commit with its branch move ({@code POST .../replicated-commits}); per ref
 * move, {@code PUT .../replicated-refs/REF}. The watermark moves after each entry, so after a
 * crash at most that one entry is applied again, which the replica treats as a no-op
 * (at-least-once delivery, idempotent apply). Failures are retried with exponential backoff;
 * entries are never skipped, so a replica that was away catches up in order.
 *
 * <p>The watermark is keyed by the replica's server id (asked from the replica), not its URL: a
 * replica that moves keeps its place, a new server behind an old URL starts from the beginning.
 *
 * <p>The access state (users, groups, token hashes, per-repository rules) is sent whole by the same
 * thread, {@code PUT /admin/replication/access}, at start, after an outage and after every change
 * {@link #accessChanged} reports, ahead of the log entries still to send; its lag and errors are
 * reported separately ({@code access_*} in the status).
 */
public final class Replicator implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Replicator.class);
    static final int ENTRIES_PER_READ = 64;
    /** Chunk frame bytes per request: bounded memory on the primary, well under the replica's 256 MiB batch limit. */
    static final int CHUNK_BATCH_BYTES = 16 << 20;
    /** Chunk batches sent concurrently (the replica verifies each on its own thread): at most this many x 16 MiB in memory, plus the one being read. */
    static final int BATCHES_IN_FLIGHT = 3;
    /** Chunk ids per "missing" query (about 70 bytes of JSON each, under the replica's 8 MiB body limit). */
    static final int IDS_PER_QUERY = 50_000;
    static final Duration POLL = Duration.ofMillis(250);
    static final Duration MIN_BACKOFF = Duration.ofMillis(500);
    static final Duration MAX_BACKOFF = Duration.ofSeconds(10);
    /** Lineage links tried in every order when the stored order does not reproduce a commit's id. */
    static final int MAX_PERMUTED_LINKS = 6;

    private final Catalog catalog;
    private final ChunkStore store;
    private final Clock clock;
    private final String url;
    private final Path tokenFile;
    private final ReplicaClient client;
    private final Object wake = new Object();
    private final java.util.concurrent.ExecutorService senders = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor();
    private final Map<Long, RepoRecord> reposById = new HashMap<>();
    private final Set<String> reposOnReplica = new HashSet<>();
    private final AtomicLong bytesSent = new AtomicLong();
    private final AtomicLong chunksSent = new AtomicLong();
    private final AtomicLong entriesApplied = new AtomicLong();
    private volatile String replicaId;
    private volatile String lastError;
    private volatile Instant lastErrorAt;
    private volatile Instant lastSuccessAt;
    private volatile int failures;
    private volatile boolean closed;
    private volatile Thread thread;

    // ---- the access state (users, groups, tokens, per-repository rules): sent whole, whenever it changes
    /** Access changes seen; starts at 1 so the state at start counts as one not yet sent. */
    private final AtomicLong accessChanges = new AtomicLong(1);
    /** The change count the replica holds (0: nothing since start or the last outage). Replication thread only. */
    private volatile long accessSent;
    /** After a send that left grants out (their commits not yet there): send again once the watermark reaches this seq; -1: no need. */
    private volatile long accessResendAtSeq = -1;
    private long accessNextTryNanos;
    private int accessFailures;
    private volatile Instant accessSyncedAt;
    private volatile Instant accessPendingSince;
    private volatile String accessError;
    private volatile Instant accessErrorAt;

    /**
     * @param url       the replica's base URL ({@code http://host:port})
     * @param tokenFile a file whose first line is an admin token of the replica; read at every
     *                  (re)connection, so it can be rotated without a restart
     */
    public Replicator(Catalog catalog, ChunkStore store, String url, Path tokenFile, Clock clock) {
        this.catalog = catalog;
        this.store = store;
        this.clock = clock;
        this.tokenFile = tokenFile;
        this.client = new ReplicaClient(url, this::token);
        this.url = client.baseUrl();
        readToken(tokenFile); // fail at start, not in the background, if the file is unusable
        this.accessPendingSince = clock.instant();
    }

    /**
     * The access state changed (AccessControl's listener): the whole state is sent to the
     * replica at the next opportunity. Cheap; never blocks the caller.
     */
    public void accessChanged() {
        accessChanges.incrementAndGet();
        if (accessPendingSince == null) {
            accessPendingSince = clock.instant();
        }
        wake();
    }

    /** Starts the background thread. */
    public synchronized void start() {
        if (thread == null) {
            thread = Thread.ofPlatform().daemon().name("strata-replicator").start(this::loop);
        }
    }

    /** Asks the thread to look at the log now instead of at its next poll. */
    public void wake() {
        synchronized (wake) {
            wake.notifyAll();
        }
    }

    public String url() {
        return url;
    }

    /**
     * Where replication stands. {@code lagSeconds}: age of the oldest entry not yet on the
     * replica (0 when none). Before the replica has been reached since start, the watermark is
     * the one last recorded for this URL.
     */
    public record Status(String replicaUrl, String replicaId, long lastSeq, long replicatedSeq, long lagEntries,
                         double lagSeconds, String lastError, Instant lastErrorAt, Instant lastSuccessAt,
                         long entriesApplied, long chunksSent, long bytesSent,
                         Instant accessSyncedAt, boolean accessPending, Instant accessPendingSince, String accessError,
                         Instant accessErrorAt) {}

    public Status status() {
        String id = replicaId;
        Optional<ReplicaProgress> progress = id != null ? catalog.replicaProgress(id)
                : catalog.replicas().stream().filter(p -> p.url().equals(url)).max(Comparator.comparing(ReplicaProgress::updatedAt));
        long replicated = progress.map(ReplicaProgress::replicatedSeq).orElse(0L);
        String knownId = id != null ? id : progress.map(ReplicaProgress::replicaId).orElse(null);
        List<ReplicationEntry> oldest = catalog.replicationLog(replicated, 1);
        double lag = oldest.isEmpty() ? 0 : Math.max(0, Duration.between(oldest.getFirst().at(), clock.instant()).toMillis() / 1000.0);
        boolean accessPending = accessChanges.get() != accessSent || accessResendAtSeq >= 0;
        return new Status(url, knownId, catalog.lastReplicationSeq(), replicated, catalog.countReplicationLog(replicated), lag,
                lastError, lastErrorAt, lastSuccessAt, entriesApplied.get(), chunksSent.get(), bytesSent.get(),
                accessSyncedAt, accessPending, accessPending ? accessPendingSince : null, accessError, accessErrorAt);
    }

    private void loop() {
        while (!closed) {
            try {
                int applied = drain();
                if (applied == 0) {
                    pause(POLL);
                }
            } catch (RuntimeException e) {
                if (closed) {
                    return;
                }
                int n = ++failures;
                lastError = e.getMessage() == null ? e.toString() : e.getMessage();
                lastErrorAt = clock.instant();
                replicaId = null; // ask again: the replica may have been replaced
                reposOnReplica.clear();
                accessSent = 0; // after an outage the replica may be another server, or restored from a backup: send the access state again
                accessNextTryNanos = 0;
                if (accessPendingSince == null) {
                    accessPendingSince = clock.instant();
                }
                long backoff = Math.min(MAX_BACKOFF.toMillis(), MIN_BACKOFF.toMillis() << Math.min(n - 1, 20));
                backoff = backoff / 2 + ThreadLocalRandom.current().nextLong(backoff / 2 + 1);
                if (n == 1 || n % 10 == 0) {
                    LOG.warn("replication to {} failed (attempt {}), retrying in {} ms: {}", url, n, backoff, lastError);
                }
                pause(Duration.ofMillis(backoff));
            }
        }
    }

    private void pause(Duration d) {
        synchronized (wake) {
            try {
                wake.wait(Math.max(1, d.toMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                closed = true;
            }
        }
    }

    /**
     * Applies every entry above the watermark, in order, and returns how many. Throws on the
     * first failure, leaving the watermark on the last entry applied. One caller at a time (the
     * background thread, or a test before it starts).
     */
    synchronized int drain() {
        String id = replicaId();
        long watermark = catalog.replicaProgress(id).map(ReplicaProgress::replicatedSeq).orElse(0L);
        int applied = 0;
        while (!closed) {
            syncAccess(watermark); // first, and between batches: a revocation must not wait for a long backlog of commits
            List<ReplicationEntry> entries = catalog.replicationLog(watermark, ENTRIES_PER_READ);
            if (entries.isEmpty()) {
                return applied;
            }
            for (ReplicationEntry e : entries) {
                if (closed) {
                    return applied;
                }
                apply(e);
                Instant now = clock.instant();
                catalog.recordReplicated(id, url, e.seq(), now);
                watermark = e.seq();
                lastSuccessAt = now;
                lastError = null;
                failures = 0;
                entriesApplied.incrementAndGet();
                applied++;
            }
        }
        return applied;
    }

    /**
     * Sends the whole access state if it changed since the replica last got it, or if grants were
     * left out then and the log has since delivered their commits (docs/decisions/0013-replication.md,
     * "Access state"). Failures are recorded in {@code access_error} and retried with backoff;
     * they do not stop the log, which has its own errors.
     */
    private void syncAccess(long watermark) {
        long change = accessChanges.get();
        boolean due = change != accessSent || (accessResendAtSeq >= 0 && watermark >= accessResendAtSeq);
        if (!due || System.nanoTime() - accessNextTryNanos < 0) {
            return;
        }
        try {
            AccessState state = AccessStates.take(catalog);
            long seq = catalog.lastReplicationSeq(); // read after the state: every granted commit's entry is at or below it
            for (AccessState.RepoAccess r : state.repos()) {
                if (!reposOnReplica.contains(r.repo())) { // a repository without commits yet: its rules travel too
                    ensureRepo(catalog.findRepo(r.repo()).orElseThrow(() -> new StrataException("repository " + r.repo() + " vanished")));
                }
            }
            Instant now = clock.instant();
            JsonNode answer = client.put("/api/v1/admin/replication/access", AccessStates.toJson(state, catalog.serverId(), now));
            int deferred = answer.path("deferred_grants").size();
            accessSent = change;
            accessSyncedAt = now;
            accessFailures = 0;
            accessNextTryNanos = 0;
            if (deferred > 0 && watermark < seq) {
                accessResendAtSeq = seq; // their commits are still on their way
                accessError = null;
            } else {
                accessResendAtSeq = -1;
                accessError = deferred == 0 ? null : deferred + " grant(s) name commits the replica lacks although the log says they were sent";
                accessErrorAt = deferred == 0 ? accessErrorAt : now;
            }
            if (accessChanges.get() == change && accessResendAtSeq < 0) {
                accessPendingSince = null;
            }
        } catch (RuntimeException e) {
            int n = ++accessFailures;
            accessError = e.getMessage() == null ? e.toString() : e.getMessage();
            accessErrorAt = clock.instant();
            long backoff = Math.min(MAX_BACKOFF.toMillis(), MIN_BACKOFF.toMillis() << Math.min(n - 1, 20));
            accessNextTryNanos = System.nanoTime() + backoff * 1_000_000L;
            if (n == 1 || n % 10 == 0) {
                LOG.warn("sending the access state to {} failed (attempt {}), retrying in {} ms: {}", url, n, backoff, accessError);
            }
        }
    }

    private String replicaId() {
        String id = replicaId;
        if (id == null) {
            JsonNode n = client.get("/api/v1/admin/replication");
            id = n.path("server_id").asText("");
            if (!id.matches("[0-9a-f]{1,64}")) {
                throw new StrataException("the replica at " + url + " did not say its server id; is it a Strata server of this version?");
            }
            if (id.equals(catalog.serverId())) {
                throw new InvalidInputException("replica_url " + url + " is this server itself; point it at another server");
            }
            replicaId = id;
            LOG.info("replicating to {} (server id {})", url, id);
        }
        return id;
    }

    private void apply(ReplicationEntry e) {
        RepoRecord repo = repo(e.repoId());
        ensureRepo(repo);
        switch (e.kind()) {
            case COMMIT -> applyCommit(repo, e);
            case REF -> {
                ObjectNode body = ReplicaClient.JSON.createObjectNode()
                        .put("kind", e.refKind().name().toLowerCase(java.util.Locale.ROOT))
                        .put("expected", e.oldCommit()).put("next", e.newCommit());
                client.put(ReplicaClient.repoPath(repo.name()) + "/replicated-refs/" + ReplicaClient.encodePath(e.ref()), body);
            }
        }
    }

    private RepoRecord repo(long id) {
        RepoRecord r = reposById.get(id);
        if (r == null) {
            catalog.listRepos().forEach(x -> reposById.put(x.id(), x));
            r = reposById.get(id);
            if (r == null) {
                throw new StrataException("the replication log names repository id " + id + ", which the catalog lacks");
            }
        }
        return r;
    }

    /** Creates the repository on the replica (same name, description and visibility) unless it is there. */
    private void ensureRepo(RepoRecord repo) {
        if (reposOnReplica.contains(repo.name())) {
            return;
        }
        try {
            client.get(ReplicaClient.repoPath(repo.name()));
        } catch (ReplicaClient.ReplicaException e) {
            if (e.status() != 404) {
                throw e;
            }
            ObjectNode body = ReplicaClient.JSON.createObjectNode().put("name", repo.name())
                    .put("description", repo.description()).put("visibility", repo.visibility().wire());
            try {
                client.post("/api/v1/repos", body);
            } catch (ReplicaClient.ReplicaException c) {
                if (c.status() != 409) {
                    throw c;
                }
            }
        }
        reposOnReplica.add(repo.name());
    }

    private void applyCommit(RepoRecord repo, ReplicationEntry e) {
        CommitRecord c = catalog.findCommit(repo.id(), e.newCommit()).orElseThrow(() -> new StrataException(
                "the replication log names commit " + e.newCommit() + " of " + repo.name() + ", which the catalog lacks"));
        List<FileEntry> files = new ArrayList<>(catalog.listFiles(repo.id(), c.id()));
        files.sort(Comparator.comparing(FileEntry::path)); // the order the id was computed in
        List<LineageLink> lineage = idOrder(repo, c, files, catalog.lineageOf(repo.id(), c.id()));
        ObjectNode body = commitBody(c, files, lineage, e.ref(), e.oldCommit());
        String repoPath = ReplicaClient.repoPath(repo.name());
        if (c.expired()) {
            client.post(repoPath + "/replicated-commits", body); // metadata only: its data was reclaimed here
            return;
        }
        String session = null;
        try {
            List<ContentHash> changed = changedManifests(repo, c, files);
            if (!changed.isEmpty()) {
                session = startSession(repoPath);
                upload(repoPath, session, changed);
            }
            try {
                client.post(repoPath + "/replicated-commits", body);
            } catch (ReplicaClient.ReplicaException x) {
                if (!"missing_manifests".equals(x.code()) || x.body() == null) {
                    throw x;
                }
                // The replica lacks more than what changed since the first parent (its copy of
                // an older file was reclaimed, or this is the first commit it receives).
                List<ContentHash> missing = new ArrayList<>();
                x.body().path("missing_manifests").forEach(n -> missing.add(ContentHash.fromHex(n.asText())));
                if (session == null) {
                    session = startSession(repoPath);
                }
                upload(repoPath, session, missing);
                client.post(repoPath + "/replicated-commits", body);
            }
        } finally {
            if (session != null) {
                try {
                    client.delete(repoPath + "/uploads/" + session);
                } catch (RuntimeException ignored) {
                    // the replica expires idle sessions itself
                }
            }
        }
    }

    /** Manifests of files that differ from the first parent's tree (all of them without a parent). */
    private List<ContentHash> changedManifests(RepoRecord repo, CommitRecord c, List<FileEntry> files) {
        Set<ContentHash> before = new HashSet<>();
        if (!c.parents().isEmpty()) {
            catalog.listFiles(repo.id(), c.parents().getFirst()).forEach(f -> before.add(f.manifestId()));
        }
        Set<ContentHash> out = new LinkedHashSet<>();
        for (FileEntry f : files) {
            if (!before.contains(f.manifestId())) {
                out.add(f.manifestId());
            }
        }
        return List.copyOf(out);
    }

    private String startSession(String repoPath) {
        return client.post(repoPath + "/uploads", ReplicaClient.JSON.createObjectNode()).path("upload_id").asText();
    }

    /** Chunks the replica lacks, then the manifests, group by group (bounded memory whatever the commit's size). */
    private void upload(String repoPath, String session, Collection<ContentHash> manifestIds) {
        String base = repoPath + "/uploads/" + session;
        List<byte[]> group = new ArrayList<>();
        Set<ContentHash> groupChunks = new LinkedHashSet<>();
        for (ContentHash id : new LinkedHashSet<>(manifestIds)) {
            byte[] bytes = catalog.getManifest(id).orElseThrow(() -> new StrataException("manifest " + id + " is missing from this server's catalog"));
            for (ChunkRef ch : FileManifest.decode(bytes).chunks()) {
                groupChunks.add(ch.id());
            }
            group.add(bytes);
            if (groupChunks.size() >= IDS_PER_QUERY) {
                sendGroup(base, group, groupChunks);
                group.clear();
                groupChunks.clear();
            }
        }
        if (!group.isEmpty()) {
            sendGroup(base, group, groupChunks);
        }
    }

    /** Sends a batch while the next one is read from the store; at most {@link #BATCHES_IN_FLIGHT} at once. */
    private void sendChunks(String base, ByteArrayOutputStream batch, java.util.ArrayDeque<java.util.concurrent.Future<?>> inFlight) {
        byte[] bytes = batch.toByteArray();
        batch.reset();
        if (inFlight.size() >= BATCHES_IN_FLIGHT) {
            await(inFlight.poll());
        }
        inFlight.add(senders.submit(() -> {
            client.postBytes(base + "/chunks", bytes, bytes.length);
            bytesSent.addAndGet(bytes.length);
            return null;
        }));
    }

    private static void await(java.util.concurrent.Future<?> f) {
        try {
            f.get();
        } catch (java.util.concurrent.ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new StrataException("sending chunks failed: " + e.getCause(), e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StrataException("interrupted while sending chunks", e);
        }
    }

    private void sendGroup(String base, List<byte[]> manifests, Set<ContentHash> chunkIds) {
        List<ContentHash> all = List.copyOf(chunkIds);
        ByteArrayOutputStream batch = new ByteArrayOutputStream(CHUNK_BATCH_BYTES + ChunkFrames.HEADER + ChunkFrames.MAX_ENCODED);
        java.util.ArrayDeque<java.util.concurrent.Future<?>> inFlight = new java.util.ArrayDeque<>();
        try {
            sendMissing(base, all, batch, inFlight);
        } finally {
            while (!inFlight.isEmpty()) {
                await(inFlight.poll()); // every batch is in (or the first failure thrown) before a manifest names them
            }
        }
        for (byte[] m : manifests) {
            client.postBytes(base + "/manifests", m, m.length);
        }
    }

    private void sendMissing(String base, List<ContentHash> all, ByteArrayOutputStream batch,
                             java.util.ArrayDeque<java.util.concurrent.Future<?>> inFlight) {
        for (int from = 0; from < all.size(); from += IDS_PER_QUERY) {
            ObjectNode q = ReplicaClient.JSON.createObjectNode();
            ArrayNode ids = q.putArray("ids");
            all.subList(from, Math.min(all.size(), from + IDS_PER_QUERY)).forEach(id -> ids.add(id.hex()));
            for (JsonNode m : client.post(base + "/missing", q).path("missing")) {
                ContentHash id = ContentHash.fromHex(m.asText());
                try {
                    ChunkFrames.write(batch, id, dev.strata.core.store.DeltaChains.selfContained(store, id));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
                chunksSent.incrementAndGet();
                if (batch.size() >= CHUNK_BATCH_BYTES) {
                    sendChunks(base, batch, inFlight);
                }
            }
        }
        if (batch.size() > 0) {
            sendChunks(base, batch, inFlight);
        }
    }

    /**
     * The lineage links in an order that reproduces the commit's id. The catalog keeps the links
     * as a set; the id was computed in request order. Usually the stored order matches (one
     * link); otherwise every order of up to {@link #MAX_PERMUTED_LINKS} links is tried.
     */
    private static List<LineageLink> idOrder(RepoRecord repo, CommitRecord c, List<FileEntry> files, List<LineageLink> links) {
        if (CommitIds.compute(repo.name(), c, files, links).equals(c.id())) {
            return links;
        }
        if (links.size() > 1 && links.size() <= MAX_PERMUTED_LINKS) {
            List<LineageLink> found = permute(new ArrayList<>(links), 0, repo, c, files);
            if (found != null) {
                return found;
            }
        }
        throw new StrataException("commit " + c.id() + " of " + repo.name() + ": its id cannot be reproduced from its stored content,"
                + " so the replica would refuse it; replication stops here");
    }

    private static List<LineageLink> permute(List<LineageLink> a, int k, RepoRecord repo, CommitRecord c, List<FileEntry> files) {
        if (k == a.size()) {
            return CommitIds.compute(repo.name(), c, files, a).equals(c.id()) ? List.copyOf(a) : null;
        }
        for (int i = k; i < a.size(); i++) {
            java.util.Collections.swap(a, k, i);
            List<LineageLink> r = permute(a, k + 1, repo, c, files);
            java.util.Collections.swap(a, k, i);
            if (r != null) {
                return r;
            }
        }
        return null;
    }

    /** The wire shape of {@code POST .../replicated-commits} (docs/api.md, "Replication"). */
    private ObjectNode commitBody(CommitRecord c, List<FileEntry> files, List<LineageLink> lineage, String branch, String expected) {
        ObjectNode n = ReplicaClient.JSON.createObjectNode();
        n.put("id", c.id());
        ArrayNode parents = n.putArray("parents");
        c.parents().forEach(parents::add);
        n.put("author", c.author()).put("message", c.message()).put("created_at", c.createdAt().toString());
        if (c.step() == null) {
            n.putNull("step");
        } else {
            n.put("step", c.step());
        }
        ObjectNode metrics = n.putObject("metrics");
        c.metrics().forEach(metrics::put);
        n.put("metadata_json", c.metadataJson());
        n.put("expired", c.expired());
        ArrayNode fs = n.putArray("files");
        for (FileEntry f : files) {
            fs.addObject().put("path", f.path()).put("size", f.size()).put("sha256", f.sha256().hex()).put("manifest_id", f.manifestId().hex());
        }
        ArrayNode ls = n.putArray("lineage");
        for (LineageLink l : lineage) {
            ls.addObject().put("relation", l.relation().wireName()).put("repo", repo(l.targetRepoId()).name())
                    .put("commit", l.targetCommitId()).put("origin_repo_id", l.idRepoId());
        }
        n.put("branch", branch);
        n.put("expected_head", expected);
        return n;
    }

    private String token() {
        return readToken(tokenFile);
    }

    /** The first line of a token file, trimmed; InvalidInputException (naming the file, never the token) if unusable. */
    public static String readToken(Path tokenFile) {
        try {
            String t = Files.readString(tokenFile).strip();
            int nl = t.indexOf('\n');
            t = nl < 0 ? t : t.substring(0, nl).strip();
            if (t.isEmpty()) {
                throw new InvalidInputException("replica token file " + tokenFile + " is empty");
            }
            return t;
        } catch (IOException e) {
            throw new InvalidInputException("cannot read replica token file " + tokenFile + ": " + e.getMessage());
        }
    }

    @Override
    public void close() {
        closed = true;
        Thread t = thread;
        wake();
        if (t != null) {
            t.interrupt();
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        senders.shutdownNow();
    }
}
