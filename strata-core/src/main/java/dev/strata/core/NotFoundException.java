package dev.strata.core;

/** The named thing (repository, revision, path, chunk) does not exist. HTTP 404. */
public class NotFoundException extends StrataException {
    public NotFoundException(String message) {
        super(message);
    }
}
