package dev.strata.catalog;

/** A catalog database at an earlier schema version, for tests of what an upgrade does to existing rows. */
final class OldSchema {
    private OldSchema() {}

    /** Migrates the (empty) database at {@code jdbcUrl} up to {@code version} of {@code engine}'s schema ("sqlite", "postgresql"). */
    static void create(String jdbcUrl, String engine, String version) {
        org.flywaydb.core.Flyway.configure().dataSource(jdbcUrl, null, null)
                .locations("classpath:db/migration/" + engine).target(version).load().migrate();
    }
}
