package dev.strata.catalog.jdbc;

import dev.strata.core.InvalidInputException;
import java.time.Instant;

/**
 * Instants as epoch nanoseconds in a BIGINT: exact round trip (a commit read back equals the one
 * written, nanoseconds included), sortable, and the same type on SQLite and PostgreSQL, which
 * have no common timestamp type. Range: 1677-09-21 to 2262-04-11.
 */
final class Timestamps {
    private static final long NANOS = 1_000_000_000L;

    private Timestamps() {}

    static long toNanos(Instant t) {
        try {
            return Math.addExact(Math.multiplyExact(t.getEpochSecond(), NANOS), t.getNano());
        } catch (ArithmeticException e) {
            throw new InvalidInputException("timestamp " + t + " is outside 1677..2262, the range the catalog stores");
        }
    }

    static Instant fromNanos(long nanos) {
        return Instant.ofEpochSecond(Math.floorDiv(nanos, NANOS), Math.floorMod(nanos, NANOS));
    }
}
