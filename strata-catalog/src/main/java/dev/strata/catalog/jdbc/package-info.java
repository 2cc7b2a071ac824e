/**
 * The JDBC implementation of the catalog SPI. {@link dev.strata.catalog.jdbc.JdbcCatalog} holds
 * every SQL statement (one portable dialect); {@code Database} and its two implementations hold
 * the engine-specific connection discipline (SQLite: one guarded writer, {@code BEGIN IMMEDIATE};
 * PostgreSQL: a HikariCP pool at READ COMMITTED); {@code Dialect} knows how each driver reports
 * errors and holds the one PostgreSQL-only statement (the user/group namespace lock). The schema
 * is in {@code db/migration/{sqlite,postgresql}}, applied by Flyway on open.
 */
package dev.strata.catalog.jdbc;
