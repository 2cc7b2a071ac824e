package dev.strata.service;

import dev.strata.core.StrataException;

/**
 * The request carries no usable credential (HTTP 401). The message is the same for every kind of
 * bad token, so a caller learns nothing about which tokens exist; {@link #reason()} is for the
 * audit log only.
 */
public class UnauthenticatedException extends StrataException {
    private final String reason;
    private final String tokenId;

    public UnauthenticatedException(String message, String reason, String tokenId) {
        super(message);
        this.reason = reason;
        this.tokenId = tokenId;
    }

    public String reason() {
        return reason;
    }

    /** The public id part of the presented token if it had the token shape, else null. */
    public String tokenId() {
        return tokenId;
    }
}
