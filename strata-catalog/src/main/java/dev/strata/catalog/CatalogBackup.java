package dev.strata.catalog;

import java.nio.file.Path;

/**
 * Online backup of a catalog while the server keeps serving (docs/api.md, "Catalog backup").
 * Implemented by {@code JdbcCatalog}: the embedded SQLite catalog is copied with {@code VACUUM
 * INTO} on a reader connection, which reads one consistent snapshot (WAL) while writers go on.
 * A PostgreSQL catalog is backed up with PostgreSQL's own tools ({@code pg_dump}).
 */
public interface CatalogBackup {

    /** Whether {@link #backupTo} works for this catalog; false for PostgreSQL. */
    boolean supportsOnlineBackup();

    /**
     * Writes a consistent, self-contained copy of the catalog to {@code target}, which must not
     * exist yet. {@link dev.strata.core.InvalidInputException} if this catalog cannot be backed up
     * this way (PostgreSQL: use pg_dump).
     */
    void backupTo(Path target);
}
