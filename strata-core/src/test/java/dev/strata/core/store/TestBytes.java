package dev.strata.core.store;

/** Byte-array helpers for tests that damage stored files on purpose. */
public final class TestBytes {
    private TestBytes() {}

    /** The first index of {@code needle} in {@code hay}; fails the test when it is absent. */
    public static int indexOf(byte[] hay, byte[] needle) {
        int at = find(hay, needle);
        if (at < 0) {
            throw new AssertionError("not found");
        }
        return at;
    }

    /** The first index of {@code needle} in {@code hay}, or -1. */
    public static int find(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }
}
