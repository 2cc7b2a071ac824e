package dev.strata.core;

/** The storage medium failed (disk full, unwritable directory, I/O error). HTTP 507/503; reads keep working. */
public class StorageException extends StrataException {
    public StorageException(String message, Throwable cause) {
        super(message, cause);
    }
}
