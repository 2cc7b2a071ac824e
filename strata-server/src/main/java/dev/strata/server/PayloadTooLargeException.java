package dev.strata.server;

import dev.strata.core.InvalidInputException;

/** A request body over its endpoint's limit, refused before it is buffered. HTTP 413. */
final class PayloadTooLargeException extends InvalidInputException {
    PayloadTooLargeException(String message) {
        super(message);
    }
}
