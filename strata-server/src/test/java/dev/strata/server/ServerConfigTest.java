package dev.strata.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.strata.core.InvalidInputException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Settings precedence: defaults < config file < environment < flags. */
class ServerConfigTest {
    @TempDir Path tmp;

    @Test
    void defaultsAreLoopbackAndALocalDataDirectory() {
        ServerConfig c = ServerConfig.resolve(Map.of("data", tmp.toString()), Map.of());
        assertEquals("127.0.0.1", c.bind());
        assertEquals(8470, c.port());
        assertEquals("sqlite:" + tmp.resolve("catalog.db"), c.catalogUrl());
        assertEquals(32L << 20, c.packSizeBytes());
    }

    @Test
    void fileThenEnvironmentThenFlagsWin() throws Exception {
        Files.writeString(tmp.resolve("strata.conf"), "port=9001\nbind=127.0.0.2\npack_size=2097152\n");
        Map<String, String> flags = new HashMap<>(Map.of("data", tmp.toString()));
        ServerConfig fromFile = ServerConfig.resolve(flags, Map.of());
        assertEquals(9001, fromFile.port());
        assertEquals("127.0.0.2", fromFile.bind());
        assertEquals(2 << 20, fromFile.packSizeBytes());
        ServerConfig fromEnv = ServerConfig.resolve(flags, Map.of("STRATA_PORT", "9002"));
        assertEquals(9002, fromEnv.port());
        assertEquals("127.0.0.2", fromEnv.bind());
        flags.put("port", "9003");
        assertEquals(9003, ServerConfig.resolve(flags, Map.of("STRATA_PORT", "9002")).port());
    }

    @Test
    void badValuesAreClearErrors() {
        assertThrows(InvalidInputException.class, () -> ServerConfig.resolve(Map.of("data", tmp.toString(), "port", "http"), Map.of()));
        assertThrows(InvalidInputException.class, () -> ServerConfig.resolve(Map.of("data", tmp.toString(), "port", "70000"), Map.of()));
        assertThrows(InvalidInputException.class, () -> ServerConfig.resolve(Map.of("config", tmp.resolve("missing.conf").toString()), Map.of()));
    }

    @Test
    void replicaSettingsFollowTheSamePrecedenceAndComeTogether() throws Exception {
        assertEquals(null, ServerConfig.resolve(Map.of("data", tmp.toString()), Map.of()).replicaUrl(), "no replica by default");
        Files.writeString(tmp.resolve("strata.conf"), "replica_url=http://file:8470\nreplica_token_file=/etc/file.token\n");
        Map<String, String> flags = new HashMap<>(Map.of("data", tmp.toString()));
        ServerConfig fromFile = ServerConfig.resolve(flags, Map.of());
        assertEquals("http://file:8470", fromFile.replicaUrl());
        assertEquals(Path.of("/etc/file.token"), fromFile.replicaTokenFile());
        Map<String, String> env = Map.of("STRATA_REPLICA_URL", "http://env:8470", "STRATA_REPLICA_TOKEN_FILE", "/etc/env.token");
        assertEquals("http://env:8470", ServerConfig.resolve(flags, env).replicaUrl());
        assertEquals(Path.of("/etc/env.token"), ServerConfig.resolve(flags, env).replicaTokenFile());
        flags.put("replica_url", "https://flag:8470");
        assertEquals("https://flag:8470", ServerConfig.resolve(flags, env).replicaUrl());
        assertThrows(InvalidInputException.class, () -> ServerConfig.resolve(
                Map.of("data", tmp.resolve("x").toString(), "replica_url", "http://r:8470"), Map.of()), "a URL needs a token file");
        assertThrows(InvalidInputException.class, () -> ServerConfig.resolve(
                Map.of("data", tmp.resolve("x").toString(), "replica_url", "ftp://r", "replica_token_file", "/t"), Map.of()));
    }

    @Test
    void scrubSettingsComeFromFileEnvironmentAndFlags() throws Exception {
        ServerConfig d = ServerConfig.resolve(Map.of("data", tmp.toString()), Map.of());
        assertEquals(50.0, d.scrubRateMb());
        assertEquals(24.0, d.scrubIntervalHours());
        Files.writeString(tmp.resolve("strata.conf"), "scrub_rate_mb=20\nscrub_interval_hours=12\n");
        Map<String, String> flags = new HashMap<>(Map.of("data", tmp.toString()));
        assertEquals(20.0, ServerConfig.resolve(flags, Map.of()).scrubRateMb());
        assertEquals(12.0, ServerConfig.resolve(flags, Map.of()).scrubIntervalHours());
        assertEquals(5.5, ServerConfig.resolve(flags, Map.of("STRATA_SCRUB_RATE_MB", "5.5")).scrubRateMb());
        assertEquals(1.0, ServerConfig.resolve(flags, Map.of("STRATA_SCRUB_INTERVAL_HOURS", "1")).scrubIntervalHours());
        flags.put("scrub_rate_mb", "0");
        assertEquals(0.0, ServerConfig.resolve(flags, Map.of("STRATA_SCRUB_RATE_MB", "5.5")).scrubRateMb(), "0 turns it off");
        assertThrows(InvalidInputException.class, () -> ServerConfig.resolve(Map.of("data", tmp.toString(), "scrub_rate_mb", "-1"), Map.of()));
        assertThrows(InvalidInputException.class, () -> ServerConfig.resolve(Map.of("data", tmp.toString(), "scrub_rate_mb", "fast"), Map.of()));
        assertThrows(InvalidInputException.class, () -> ServerConfig.resolve(Map.of("data", tmp.toString(), "scrub_interval_hours", "0"), Map.of()));
    }
}
