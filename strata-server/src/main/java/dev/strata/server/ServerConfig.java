package dev.strata.server;

import dev.strata.core.InvalidInputException;
import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Properties;

/**
 * Server settings (docs/configuration.md). Precedence, lowest first: built-in defaults, the
 * config file ({@code --config FILE}, else {@code DATA/strata.conf} if present), environment
 * variables {@code STRATA_*}, command-line flags.
 *
 * @param bind       listen address; the embedded default is loopback only
 * @param port       listen port
 * @param dataDir    where chunks (packs) and the embedded catalog live
 * @param catalogUrl {@code sqlite:PATH} (default: DATA/catalog.db) or a PostgreSQL JDBC URL
 * @param packSizeBytes target size at which a pack is sealed
 */
public record ServerConfig(String bind, int port, Path dataDir, String catalogUrl, long packSizeBytes) {
    public static final String DEFAULT_BIND = "127.0.0.1";
    public static final int DEFAULT_PORT = 8470;
    public static final Path DEFAULT_DATA = Path.of("strata-data");
    public static final long DEFAULT_PACK_SIZE = 32L << 20;

    public ServerConfig {
        if (port < 0 || port > 65535) {
            throw new InvalidInputException("port must be 0-65535, got " + port);
        }
        if (packSizeBytes < (1 << 20)) {
            throw new InvalidInputException("pack size must be at least 1 MiB");
        }
    }

    public Path chunkDir() {
        return dataDir.resolve("chunks");
    }

    /**
     * Resolves settings from flags (keys: bind, port, data, catalog, pack_size, config; null
     * values are absent), the environment and the config file.
     */
    public static ServerConfig resolve(Map<String, String> flags, Map<String, String> env) {
        String data = first(flags.get("data"), env.get("STRATA_DATA"), null);
        Path dataDir = data == null ? null : Path.of(data);
        Properties file = new Properties();
        String configPath = first(flags.get("config"), env.get("STRATA_CONFIG"), null);
        Path cfg = configPath != null ? Path.of(configPath) : (dataDir != null ? dataDir : DEFAULT_DATA).resolve("strata.conf");
        if (configPath != null && !Files.isRegularFile(cfg)) {
            throw new InvalidInputException("config file " + cfg + " does not exist");
        }
        if (Files.isRegularFile(cfg)) {
            try (Reader r = Files.newBufferedReader(cfg)) {
                file.load(r);
            } catch (IOException e) {
                throw new InvalidInputException("cannot read config file " + cfg + ": " + e.getMessage());
            }
        }
        if (dataDir == null) {
            dataDir = Path.of(file.getProperty("data", DEFAULT_DATA.toString()));
        }
        String bind = first(flags.get("bind"), env.get("STRATA_BIND"), file.getProperty("bind", DEFAULT_BIND));
        String port = first(flags.get("port"), env.get("STRATA_PORT"), file.getProperty("port", Integer.toString(DEFAULT_PORT)));
        String catalog = first(flags.get("catalog"), env.get("STRATA_CATALOG"), file.getProperty("catalog"));
        if (catalog == null) {
            catalog = "sqlite:" + dataDir.resolve("catalog.db");
        }
        String pack = first(flags.get("pack_size"), env.get("STRATA_PACK_SIZE"), file.getProperty("pack_size", Long.toString(DEFAULT_PACK_SIZE)));
        try {
            return new ServerConfig(bind, Integer.parseInt(port), dataDir, catalog, Long.parseLong(pack));
        } catch (NumberFormatException e) {
            throw new InvalidInputException("port and pack_size must be numbers: " + e.getMessage());
        }
    }

    private static String first(String a, String b, String c) {
        return a != null ? a : b != null ? b : c;
    }
}
