package dev.strata.server;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;

/** RFC 9110 byte ranges: satisfiable ones map to [start, end), the rest are refused (416). */
class HttpRangeTest {
    @Test
    void parsesTheThreeForms() {
        assertArrayEquals(new long[] {0, 100}, HttpRange.parse("bytes=0-99", 1000));
        assertArrayEquals(new long[] {500, 1000}, HttpRange.parse("bytes=500-", 1000));
        assertArrayEquals(new long[] {990, 1000}, HttpRange.parse("bytes=-10", 1000));
        assertArrayEquals(new long[] {0, 1000}, HttpRange.parse("bytes=-5000", 1000));
        assertArrayEquals(new long[] {900, 1000}, HttpRange.parse("bytes=900-5000", 1000), "end clamped to the size");
        assertArrayEquals(new long[] {0, 10}, HttpRange.parse("bytes=0-9, 20-29", 1000), "first range of several");
    }

    @Test
    void refusesUnsatisfiableAndMalformed() {
        assertNull(HttpRange.parse("bytes=1000-", 1000));
        assertNull(HttpRange.parse("bytes=5-4", 1000));
        assertNull(HttpRange.parse("bytes=-0", 1000));
        assertNull(HttpRange.parse("bytes=0-0", 0));
        assertNull(HttpRange.parse("items=0-9", 1000));
        assertNull(HttpRange.parse("bytes=a-b", 1000));
        assertNull(HttpRange.parse("bytes=99999999999999999999-", 1000));
        assertNull(HttpRange.parse("bytes=" + "1".repeat(300) + "-", 1000));
    }
}
