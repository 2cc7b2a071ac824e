package dev.strata.service;

import dev.strata.core.StrataException;

/** The principal may not do this. HTTP 403 (or 404 where existence must not leak). */
public class AccessDeniedException extends StrataException {
    public AccessDeniedException(String message) {
        super(message);
    }
}
