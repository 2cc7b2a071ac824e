package dev.strata.core;

/** A compare-and-set lost a race or a name is taken. HTTP 409; the message says how to retry. */
public class ConflictException extends StrataException {
    public ConflictException(String message) {
        super(message);
    }
}
