package dev.strata.service;

import dev.strata.core.StrataException;

/** The commit exists but its data was reclaimed (retention, deleted branch). HTTP 410. */
public class GoneException extends StrataException {
    public GoneException(String message) {
        super(message);
    }
}
