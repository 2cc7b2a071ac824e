package dev.strata.core;

/** Stored or received bytes do not match what covers them (chunk id, checksum). Carries both values. */
public class CorruptDataException extends StrataException {
    private final String expected;
    private final String actual;

    public CorruptDataException(String what, String expected, String actual) {
        super(what + ": expected " + expected + " but got " + actual);
        this.expected = expected;
        this.actual = actual;
    }

    public String expected() {
        return expected;
    }

    public String actual() {
        return actual;
    }
}
