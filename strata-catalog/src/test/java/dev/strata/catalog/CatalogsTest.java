package dev.strata.catalog;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.core.InvalidInputException;
import org.junit.jupiter.api.Test;

class CatalogsTest {
    @Test
    void credentialsAreSplitOffThePostgresUrl() {
        Catalogs.PostgresUrl u = Catalogs.PostgresUrl.parse(
                "jdbc:postgresql://db:5432/strata?user=strata&sslmode=require&password=p%26ss");
        assertEquals("jdbc:postgresql://db:5432/strata?sslmode=require", u.urlWithoutCredentials());
        assertEquals("strata", u.user());
        assertEquals("p&ss", u.password());
        assertFalse(u.toString().contains("p&ss"));
        Catalogs.PostgresUrl bare = Catalogs.PostgresUrl.parse("jdbc:postgresql://db/strata");
        assertEquals("jdbc:postgresql://db/strata", bare.urlWithoutCredentials());
        assertNull(bare.user());
    }

    @Test
    void redactionMasksPasswords() {
        assertEquals("jdbc:x://h/db?user=u&password=***&a=b", Catalogs.redact("jdbc:x://h/db?user=u&password=secret&a=b"));
    }

    @Test
    void unknownOrEmptyUrlsAreRejectedWithoutEchoingSecrets() {
        InvalidInputException e = assertThrows(InvalidInputException.class, () -> Catalogs.open("mysql://h/db?password=secret"));
        assertFalse(e.getMessage().contains("secret"), e.getMessage());
        assertThrows(InvalidInputException.class, () -> Catalogs.open(""));
        assertThrows(InvalidInputException.class, () -> Catalogs.open("sqlite:"));
    }
}
