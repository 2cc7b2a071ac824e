package dev.strata.service;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.InvalidInputException;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.ScrubOptions;
import dev.strata.core.store.ScrubReport;
import dev.strata.core.store.erasure.ErasureCodedChunkStore;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.Locale;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies every stored byte and repairs what redundancy allows ({@link ChunkStore#scrub}), in the
 * background at a byte budget (ARCHITECTURE invariant 7: training reads keep priority) or now on
 * request ({@code strata scrub}, {@code strata repair}).
 *
 * <p>The background pass runs once per interval: it starts {@code interval} after the start of the
 * last complete pass (recorded in {@code DATA/scrub.json}, so restarts do not rescan), never sooner
 * than {@link #FIRST_DELAY} after the server started. A request for a pass now stops a background
 * pass at its next chunk and runs in its place.
 *
 * <p>Locking: each chunk is checked holding the read side of {@link Uploads#gcLock()}, as an upload
 * step does, so a scrub never overlaps garbage collection or compaction (which repack and delete
 * packs under the write side) and never blocks uploads; between chunks and while pacing the lock
 * is free, so a waiting collection gets in after one chunk.
 */
public final class Scrubber implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Scrubber.class);
    private static final ObjectMapper JSON = new ObjectMapper();
    /** A server never starts a background pass sooner than this after it started. */
    public static final Duration FIRST_DELAY = Duration.ofMinutes(10);

    /** What started a pass. */
    public enum Trigger {
        BACKGROUND, MANUAL, REPAIR;

        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** One pass: what started it, its budget (MB/s, 0 unlimited), its report and when it ended (null while running). */
    public record Pass(Trigger trigger, double rateMb, ScrubReport report, Instant finishedAt) {}

    private final ChunkStore store;
    private final Uploads uploads;
    private final Path stateFile;
    private final Instant startedAt = Instant.now();
    private final Duration firstDelay;
    /** One pass at a time; passes asked for now count themselves in {@link #wanted} to stop a background one first. */
    private final ReentrantLock passLock = new ReentrantLock();
    private final java.util.concurrent.atomic.AtomicInteger wanted = new java.util.concurrent.atomic.AtomicInteger();
    private volatile boolean closing;
    private volatile Pass current;
    private volatile Pass last;
    private volatile Instant lastCompleteStart;
    private volatile String lastFailure;
    private volatile Instant retryNotBefore;
    private volatile double backgroundRateMb;
    private volatile Duration backgroundInterval;
    private volatile Thread background;
    private volatile boolean backgroundOn;

    /**
     * @param stateFile where the last pass is recorded (DATA/scrub.json); null: nowhere
     */
    public Scrubber(ChunkStore store, Uploads uploads, Path stateFile) {
        this(store, uploads, stateFile, FIRST_DELAY);
    }

    Scrubber(ChunkStore store, Uploads uploads, Path stateFile, Duration firstDelay) {
        this.store = store;
        this.uploads = uploads;
        this.stateFile = stateFile;
        this.firstDelay = firstDelay;
        loadState();
    }

    // ---- passes

    /** A pass now at {@code rateMb} MB/s (0: as fast as the disks go); stops a background pass first. */
    public Pass runNow(double rateMb) {
        requireRate(rateMb);
        return exclusive(Trigger.MANUAL, rateMb, true, opts -> store.scrub(opts));
    }

    /**
     * Rebuilds what redundancy allows as fast as the disks go: with {@code dir}, the shards that
     * belong in that directory of an erasure-coded store (a replaced disk, empty or missing);
     * without, every directory (a full scrub). A local pack store has one copy: without {@code dir}
     * this verifies it; with one it is refused.
     */
    public Pass repair(Path dir) {
        if (dir != null && !(store instanceof ErasureCodedChunkStore)) {
            throw new InvalidInputException("this server keeps chunks in local packs (one copy): there is no directory to rebuild;"
                    + " erasure coding over several directories needs --chunk-dirs");
        }
        return exclusive(Trigger.REPAIR, 0, dir == null, opts -> dir != null && store instanceof ErasureCodedChunkStore ec
                ? ec.rebuild(dir, opts) : store.scrub(opts));
    }

    private Pass exclusive(Trigger trigger, double rateMb, boolean everything,
                           java.util.function.Function<ScrubOptions, ScrubReport> pass) {
        wanted.incrementAndGet();
        passLock.lock();
        try {
            wanted.decrementAndGet();
            return runPass(trigger, rateMb, everything, pass, () -> !closing);
        } finally {
            passLock.unlock();
        }
    }

    /**
     * Runs one pass holding passLock; {@code everything}: it covers the whole store, so once complete
     * it counts for the background schedule (a rebuild of one directory does not).
     */
    private Pass runPass(Trigger trigger, double rateMb, boolean everything,
                         java.util.function.Function<ScrubOptions, ScrubReport> pass, java.util.function.BooleanSupplier keepGoing) {
        long bytesPerSecond = rateMb == 0 ? 0 : Math.max(1, Math.round(rateMb * 1e6));
        ScrubOptions opts = new ScrubOptions(bytesPerSecond, keepGoing,
                r -> current = new Pass(trigger, rateMb, r, null), uploads.gcLock().readLock());
        try {
            ScrubReport r = pass.apply(opts);
            Pass done = new Pass(trigger, rateMb, r, Instant.now());
            last = done;
            lastFailure = null;
            if (r.complete() && everything) {
                lastCompleteStart = r.startedAt();
            }
            saveState();
            if (!r.clean()) {
                LOG.warn("scrub ({}) found damage it could not repair: {} damaged, {} repaired, {} chunks unrecoverable",
                        trigger.wire(), r.damaged(), r.repaired(), r.chunksUnrecoverable());
            } else if (r.damaged() > 0) {
                LOG.info("scrub ({}) repaired {} damaged pieces", trigger.wire(), r.repaired());
            }
            return done;
        } catch (RuntimeException e) {
            lastFailure = Instant.now() + ": " + e.getMessage();
            throw e;
        } finally {
            current = null;
        }
    }

    private static void requireRate(double rateMb) {
        if (!(rateMb >= 0) || Double.isInfinite(rateMb)) {
            throw new InvalidInputException("rate_mb must be a number of MB/s, 0 or more (0: unlimited)");
        }
    }

    // ---- background

    /** Starts the background pass at {@code rateMb} MB/s once per {@code interval}; 0 MB/s: none. */
    public void startBackground(double rateMb, Duration interval) {
        requireRate(rateMb);
        backgroundRateMb = rateMb;
        backgroundInterval = interval;
        if (rateMb == 0) {
            return;
        }
        backgroundOn = true;
        background = Thread.ofPlatform().daemon().name("strata-scrubber").start(this::backgroundLoop);
    }

    /** When the next background pass starts; null when there is none. */
    public Instant nextBackgroundAt() {
        Duration interval = backgroundInterval;
        if (interval == null || !backgroundOn) {
            return null;
        }
        Instant earliest = startedAt.plus(firstDelay);
        Instant due = lastCompleteStart == null ? earliest : lastCompleteStart.plus(interval);
        Instant retry = retryNotBefore;
        if (retry != null && due.isBefore(retry)) {
            due = retry;
        }
        return due.isBefore(earliest) ? earliest : due;
    }

    private void backgroundLoop() {
        while (!closing && !Thread.currentThread().isInterrupted()) {
            try {
                Instant due = nextBackgroundAt();
                if (due == null) {
                    return;
                }
                long wait = Duration.between(Instant.now(), due).toMillis();
                if (wait > 0) {
                    Thread.sleep(Math.min(wait, 60_000)); // re-read: a manual pass may have moved the schedule
                    continue;
                }
                // A pass asked for now, waiting or running: wait; it counts as this one if it completes.
                if (wanted.get() > 0 || !passLock.tryLock()) {
                    Thread.sleep(1_000);
                    continue;
                }
                Pass p;
                try {
                    p = runPass(Trigger.BACKGROUND, backgroundRateMb, true, store::scrub, () -> wanted.get() == 0 && !closing);
                } finally {
                    passLock.unlock();
                }
                if (!p.report().complete()) {
                    Thread.sleep(1_000); // gave way: the pass asked for takes the lock now
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                LOG.warn("background scrub failed; next try in an hour", e);
                retryNotBefore = Instant.now().plus(Duration.ofHours(1));
            }
        }
    }

    // ---- status

    public Pass current() {
        return current;
    }

    public Pass last() {
        return last;
    }

    /** The status document of {@code GET /api/v1/admin/scrub}. */
    public ObjectNode status() {
        ObjectNode n = JSON.createObjectNode();
        Pass c = current;
        n.put("running", c != null);
        n.set("current", c == null ? null : json(c));
        n.set("last", lastJson());
        n.put("last_complete_started_at", lastCompleteStart == null ? null : lastCompleteStart.toString());
        n.put("last_failure", lastFailure);
        ObjectNode b = n.putObject("background");
        b.put("rate_mb", backgroundRateMb);
        b.put("interval_hours", backgroundInterval == null ? 0 : backgroundInterval.toSeconds() / 3600.0);
        Instant next = nextBackgroundAt();
        b.put("next_at", next == null ? null : next.toString());
        n.put("store", describe(store));
        return n;
    }

    /** "erasure-coded 4+2 over 6 directories" or "local packs (one copy)". */
    public static String describe(ChunkStore store) {
        if (store instanceof ErasureCodedChunkStore ec) {
            int[] g = ec.geometry();
            return "erasure-coded " + g[0] + "+" + g[1] + " over " + ec.directories().size() + " directories";
        }
        return "local packs (one copy)";
    }

    /** A pass as JSON: what started it, its budget, the report, when it ended. */
    public static ObjectNode json(Pass p) {
        ObjectNode n = json(p.report());
        n.put("trigger", p.trigger().wire());
        n.put("rate_mb", p.rateMb());
        n.put("finished_at", p.finishedAt() == null ? null : p.finishedAt().toString());
        return n;
    }

    /** A scrub report as JSON (docs/openapi.yaml, ScrubReport). */
    public static ObjectNode json(ScrubReport r) {
        ObjectNode n = JSON.createObjectNode();
        n.put("started_at", r.startedAt().toString());
        n.put("elapsed_ms", r.elapsedMillis());
        n.put("complete", r.complete());
        n.put("clean", r.clean());
        n.put("chunks_total", r.chunksTotal());
        n.put("bytes_total", r.bytesTotal());
        n.put("chunks_checked", r.chunksChecked());
        n.put("bytes_checked", r.bytesChecked());
        n.put("mb_per_s", r.elapsedMillis() == 0 ? 0 : Math.round(r.bytesChecked() / 1e3 / r.elapsedMillis() * 10) / 10.0);
        n.put("damaged", r.damaged());
        n.put("repaired", r.repaired());
        n.put("chunks_damaged", r.chunksDamaged());
        n.put("chunks_unrecoverable", r.chunksUnrecoverable());
        ArrayNode d = n.putArray("damage");
        for (ScrubReport.Damage x : r.damage()) {
            ObjectNode o = d.addObject();
            o.put("chunk", x.chunk() == null ? null : x.chunk().hex());
            o.put("pack", x.pack());
            if (x.shard() >= 0) {
                o.put("shard", x.shard());
            }
            o.put("reason", x.reason());
            o.put("repaired", x.repaired());
        }
        ArrayNode u = n.putArray("unrecoverable");
        for (ScrubReport.Unrecoverable x : r.unrecoverable()) {
            u.addObject().put("chunk", x.chunk().hex()).put("pack", x.pack()).put("reason", x.reason());
        }
        ObjectNode by = n.putObject("repaired_by_location");
        r.repairedByLocation().forEach(by::put);
        return n;
    }

    // ---- state across restarts

    private void saveState() {
        if (stateFile == null) {
            return;
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("last_complete_started_at", lastCompleteStart == null ? null : lastCompleteStart.toString());
        Pass l = last;
        n.set("last", l == null ? null : json(l));
        Path tmp = stateFile.resolveSibling(stateFile.getFileName() + ".tmp");
        try {
            Files.write(tmp, JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(n));
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, stateFile, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            LOG.warn("cannot record the scrub state in {}: {}", stateFile, e.toString());
        }
    }

    /** The last pass of an earlier run, as recorded: for the schedule and the status only. */
    private volatile JsonNode recordedLast;

    private void loadState() {
        if (stateFile == null || !Files.isRegularFile(stateFile)) {
            return;
        }
        try {
            JsonNode n = JSON.readTree(stateFile.toFile());
            String at = n.path("last_complete_started_at").asText(null);
            if (at != null) {
                lastCompleteStart = Instant.parse(at);
            }
            recordedLast = n.get("last");
        } catch (IOException | RuntimeException e) {
            LOG.warn("ignoring an unreadable scrub state file {}: {}", stateFile, e.toString());
        }
    }

    /** The last pass as JSON: this run's, else the one recorded by an earlier run; null if none. */
    public JsonNode lastJson() {
        Pass l = last;
        return l != null ? json(l) : recordedLast;
    }

    @Override
    public void close() {
        closing = true;
        Thread t = background;
        if (t != null) {
            t.interrupt();
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        passLock.lock(); // a manual pass sees closing at its next chunk
        passLock.unlock();
    }
}
