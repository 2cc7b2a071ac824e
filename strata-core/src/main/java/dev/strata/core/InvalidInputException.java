package dev.strata.core;

/** Input that can never succeed as given (bad name, malformed body, over a limit). HTTP 400. */
public class InvalidInputException extends StrataException {
    public InvalidInputException(String message) {
        super(message);
    }
}
