package dev.strata.service;

import dev.strata.core.StrataException;

/** Too many failed authentications from one client address (HTTP 429 with Retry-After). */
public class TooManyRequestsException extends StrataException {
    private final long retryAfterSeconds;

    public TooManyRequestsException(String message, long retryAfterSeconds) {
        super(message);
        this.retryAfterSeconds = retryAfterSeconds;
    }

    public long retryAfterSeconds() {
        return retryAfterSeconds;
    }
}
