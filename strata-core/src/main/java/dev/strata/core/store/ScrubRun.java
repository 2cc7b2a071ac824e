package dev.strata.core.store;

import dev.strata.core.ContentHash;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.locks.Lock;
import java.util.function.Supplier;

/**
 * The bookkeeping of one scrub pass, shared by store implementations: counters, the lists of the
 * report, pacing (a token bucket over bytes read), the stop signal, the guard lock and progress
 * snapshots. Used by one thread.
 */
public final class ScrubRun {
    /** Unused budget carried over at most this long: a short burst after a pause, never more. */
    private static final long BURST_NANOS = 100_000_000L;
    /**
     * Debt below this is carried, not slept off: a pass sleeps in steps of at least 20 ms (about 50
     * wake-ups a second) rather than after every chunk (hundreds), which preempt foreground threads.
     */
    private static final long MIN_SLEEP_NANOS = 20_000_000L;
    /** Sleeps are sliced so that a stop signal is seen within this. */
    private static final long SLEEP_SLICE_NANOS = 200_000_000L;

    private final ScrubOptions options;
    private final Instant startedAt = Instant.now();
    private final long startNanos = System.nanoTime();
    private final long chunksTotal;
    private final long bytesTotal;
    private long chunksChecked;
    private long bytesChecked;
    private long damaged;
    private long repaired;
    private long chunksDamaged;
    private long chunksUnrecoverable;
    private final List<ScrubReport.Damage> damage = new ArrayList<>();
    private final List<ScrubReport.Unrecoverable> unrecoverable = new ArrayList<>();
    private final Map<String, Long> repairedByLocation = new TreeMap<>();
    /** Token bucket as a virtual clock: the instant by which the bytes read so far are paid for. */
    private long paidUntil = System.nanoTime();
    private long lastProgress = System.nanoTime();
    private boolean stopped;

    public ScrubRun(ScrubOptions options, long chunksTotal, long bytesTotal) {
        this.options = options;
        this.chunksTotal = chunksTotal;
        this.bytesTotal = bytesTotal;
    }

    /** False once the caller's stop signal said so or the thread was interrupted; check before each chunk. */
    public boolean keepGoing() {
        if (!stopped && (Thread.currentThread().isInterrupted() || !options.keepGoing().getAsBoolean())) {
            stopped = true;
        }
        return !stopped;
    }

    /** Runs one chunk's check holding the guard lock, if any. */
    public <T> T guarded(Supplier<T> work) {
        Lock g = options.guard();
        if (g == null) {
            return work.get();
        }
        g.lock();
        try {
            return work.get();
        } finally {
            g.unlock();
        }
    }

    /** Counts a checked chunk and the bytes read for it, then sleeps as the budget requires. */
    public void checked(long bytesRead) {
        chunksChecked++;
        bytesChecked += bytesRead;
        pace(bytesRead);
        long now = System.nanoTime();
        if (now - lastProgress >= ScrubOptions.PROGRESS_EVERY_NANOS) {
            lastProgress = now;
            options.progress().accept(snapshot(false));
        }
    }

    private void pace(long bytes) {
        long rate = options.bytesPerSecond();
        if (rate <= 0 || bytes <= 0) {
            return;
        }
        long now = System.nanoTime();
        paidUntil = Math.max(paidUntil, now - BURST_NANOS) + (long) (bytes * 1e9 / rate);
        if (paidUntil - now < MIN_SLEEP_NANOS) {
            return;
        }
        while (paidUntil - now > 0 && keepGoing()) {
            long nanos = Math.min(paidUntil - now, SLEEP_SLICE_NANOS);
            try {
                Thread.sleep(nanos / 1_000_000, (int) (nanos % 1_000_000));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                stopped = true;
                return;
            }
            now = System.nanoTime();
        }
    }

    /** One damaged piece found: {@code repaired} whether it was rewritten; {@code location} where (may be null). */
    public void damaged(ContentHash chunk, String pack, int shard, String reason, boolean wasRepaired, String location) {
        damaged++;
        if (wasRepaired) {
            repaired++;
            if (location != null) {
                repairedByLocation.merge(location, 1L, Long::sum);
            }
        }
        if (damage.size() < ScrubReport.MAX_LISTED) {
            damage.add(new ScrubReport.Damage(chunk, pack, shard, reason, wasRepaired));
        }
    }

    /** A chunk had at least one damaged piece (call once per chunk). */
    public void chunkDamaged() {
        chunksDamaged++;
    }

    /** A chunk cannot be read back. */
    public void unrecoverable(ContentHash chunk, String pack, String reason) {
        chunksUnrecoverable++;
        if (unrecoverable.size() < ScrubReport.MAX_LISTED) {
            unrecoverable.add(new ScrubReport.Unrecoverable(chunk, pack, reason));
        }
    }

    /** The final report: complete unless stopped early. Also sent to the progress callback. */
    public ScrubReport finish() {
        ScrubReport r = snapshot(!stopped);
        options.progress().accept(r);
        return r;
    }

    private ScrubReport snapshot(boolean complete) {
        return new ScrubReport(startedAt, (System.nanoTime() - startNanos) / 1_000_000, complete, chunksTotal, bytesTotal,
                chunksChecked, bytesChecked, damaged, repaired, chunksDamaged, chunksUnrecoverable, damage, unrecoverable,
                repairedByLocation);
    }
}
