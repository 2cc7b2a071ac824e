package dev.strata.core.store;

import java.util.concurrent.locks.Lock;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;

/**
 * How a {@link ChunkStore#scrub} runs.
 *
 * @param bytesPerSecond read budget: bytes read from disk per second, paced with a token bucket
 *                       (sleeps between chunks); 0 or less: as fast as the disks go
 * @param keepGoing      asked before every chunk; false stops the pass early (the report says
 *                       {@code complete: false})
 * @param progress       called with a snapshot of the report so far, at most every
 *                       {@link #PROGRESS_EVERY_NANOS}, and once at the end
 * @param guard          held while one chunk is verified and repaired, released between chunks and
 *                       while pacing sleeps (the server passes the read side of its GC lock so a
 *                       scrub never overlaps a repack); null: none
 */
public record ScrubOptions(long bytesPerSecond, BooleanSupplier keepGoing, Consumer<ScrubReport> progress, Lock guard) {
    public static final long PROGRESS_EVERY_NANOS = 250_000_000L;

    public ScrubOptions {
        if (keepGoing == null) {
            keepGoing = () -> true;
        }
        if (progress == null) {
            progress = r -> { };
        }
    }

    /** As fast as the disks go, to the end, no lock. */
    public static ScrubOptions unlimited() {
        return new ScrubOptions(0, null, null, null);
    }

    /** At most {@code bytesPerSecond} (0: unlimited). */
    public static ScrubOptions atRate(long bytesPerSecond) {
        return new ScrubOptions(bytesPerSecond, null, null, null);
    }

    public ScrubOptions withKeepGoing(BooleanSupplier k) {
        return new ScrubOptions(bytesPerSecond, k, progress, guard);
    }

    public ScrubOptions withProgress(Consumer<ScrubReport> p) {
        return new ScrubOptions(bytesPerSecond, keepGoing, p, guard);
    }

    public ScrubOptions withGuard(Lock g) {
        return new ScrubOptions(bytesPerSecond, keepGoing, progress, g);
    }
}
