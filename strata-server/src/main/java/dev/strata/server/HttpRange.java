package dev.strata.server;

/**
 * Parses a single-range HTTP {@code Range} header (RFC 9110 §14.1.2): {@code bytes=a-b},
 * {@code bytes=a-}, {@code bytes=-n}. Multiple ranges are not served (the whole first range
 * is). Returns [start, endExclusive], or null when unsatisfiable or malformed.
 */
final class HttpRange {
    private HttpRange() {}

    static long[] parse(String header, long size) {
        if (header == null || !header.startsWith("bytes=") || header.length() > 200) {
            return null;
        }
        String spec = header.substring(6);
        int comma = spec.indexOf(',');
        if (comma >= 0) {
            spec = spec.substring(0, comma);
        }
        spec = spec.trim();
        int dash = spec.indexOf('-');
        if (dash < 0) {
            return null;
        }
        try {
            String a = spec.substring(0, dash).trim();
            String b = spec.substring(dash + 1).trim();
            if (a.isEmpty()) {
                long n = Long.parseLong(b);
                if (n <= 0 || size == 0) {
                    return null;
                }
                return new long[] {Math.max(0, size - n), size};
            }
            long start = Long.parseLong(a);
            long end = b.isEmpty() ? size - 1 : Math.min(Long.parseLong(b), size - 1);
            if (start < 0 || start >= size || end < start) {
                return null;
            }
            return new long[] {start, end + 1};
        } catch (NumberFormatException e) {
            return null;
        }
    }
}
