package dev.strata.core;

/**
 * Root of Strata's small exception family. Each subtype maps to one HTTP status and one CLI
 * exit code, so callers decide by type, never by message.
 */
public class StrataException extends RuntimeException {
    public StrataException(String message) {
        super(message);
    }

    public StrataException(String message, Throwable cause) {
        super(message, cause);
    }
}
