package dev.strata.cli;

import java.util.ArrayList;
import java.util.List;

/** Phase timings of a transfer, printed to stderr when STRATA_TIMING is set (for profiling and benchmarks). */
final class Timing {
    private final boolean on = System.getenv("STRATA_TIMING") != null;
    private final List<String> phases = new ArrayList<>();
    private long last = System.nanoTime();

    void mark(String phase) {
        long now = System.nanoTime();
        phases.add(String.format("%s=%.3fs", phase, (now - last) / 1e9));
        last = now;
    }

    void report(String what) {
        if (on) {
            System.err.println("timing " + what + ": " + String.join(" ", phases));
        }
    }
}
