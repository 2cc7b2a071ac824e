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
 * @param chunkDirs  empty: chunks in local packs under DATA/chunks; else an erasure-coded store over these
 *                   directories (one per disk), {@code erasureData}+{@code erasureParity} shards per stripe
 * @param authFailureLimit failed authentications per client address per minute before it is refused (429)
 * @param scrubRateMb the background scrubber's read budget in MB/s (10⁶ bytes); 0 turns the background pass off
 * @param scrubIntervalHours a background pass starts this long after the start of the last complete one
 * @param replicaUrl the server this one replicates to (docs/decisions/0013-replication.md); null: none
 * @param replicaTokenFile a file holding an admin token of the replica; required with {@code replicaUrl}
 * @param deltaMaxDepth longest chain of tensor deltas the compactor writes (0: no deltas, keyframes only)
 */
public record ServerConfig(String bind, int port, Path dataDir, String catalogUrl, long packSizeBytes,
                           java.util.List<Path> chunkDirs, int erasureData, int erasureParity, int authFailureLimit,
                           double scrubRateMb, double scrubIntervalHours, String replicaUrl, Path replicaTokenFile,
                           int deltaMaxDepth) {
    public static final String DEFAULT_BIND = "127.0.0.1";
    public static final int DEFAULT_PORT = 8470;
    public static final Path DEFAULT_DATA = Path.of("strata-data");
    public static final long DEFAULT_PACK_SIZE = 32L << 20;
    public static final int DEFAULT_AUTH_FAILURE_LIMIT = 20;
    public static final double DEFAULT_SCRUB_RATE_MB = 50;
    public static final double DEFAULT_SCRUB_INTERVAL_HOURS = 24;
    public static final int DEFAULT_DELTA_MAX_DEPTH = dev.strata.service.Compactor.DEFAULT_MAX_DELTA_DEPTH;

    public ServerConfig {
        if (port < 0 || port > 65535) {
            throw new InvalidInputException("port must be 0-65535, got " + port);
        }
        if (packSizeBytes < (1 << 20)) {
            throw new InvalidInputException("pack size must be at least 1 MiB");
        }
        chunkDirs = java.util.List.copyOf(chunkDirs);
        if (erasureData < 1 || erasureParity < 0 || erasureData + erasureParity > 255) {
            throw new InvalidInputException("erasure code must be K+M with K >= 1, M >= 0, K+M <= 255");
        }
        if (authFailureLimit < 1) {
            throw new InvalidInputException("auth failure limit must be at least 1");
        }
        if (!(scrubRateMb >= 0) || Double.isInfinite(scrubRateMb)) {
            throw new InvalidInputException("scrub rate must be a number of MB/s, 0 or more (0: no background scrub)");
        }
        if (!(scrubIntervalHours > 0) || Double.isInfinite(scrubIntervalHours)) {
            throw new InvalidInputException("scrub interval must be a positive number of hours");
        }
        if (deltaMaxDepth < 0 || deltaMaxDepth > dev.strata.core.store.DeltaChains.MAX_DEPTH) {
            throw new InvalidInputException("delta_max_depth must be within 0.." + dev.strata.core.store.DeltaChains.MAX_DEPTH
                    + " (0: no deltas), got " + deltaMaxDepth);
        }
        if (replicaUrl != null && replicaUrl.isBlank()) {
            replicaUrl = null;
        }
        if (replicaUrl != null && !replicaUrl.startsWith("http://") && !replicaUrl.startsWith("https://")) {
            throw new InvalidInputException("replica_url must be an http:// or https:// URL, got " + replicaUrl);
        }
        if (replicaUrl != null && replicaTokenFile == null) {
            throw new InvalidInputException("replica_url needs replica_token_file: a file holding an admin token of the replica");
        }
    }

    /** Settings without a replica. */
    public ServerConfig(String bind, int port, Path dataDir, String catalogUrl, long packSizeBytes,
                        java.util.List<Path> chunkDirs, int erasureData, int erasureParity, int authFailureLimit) {
        this(bind, port, dataDir, catalogUrl, packSizeBytes, chunkDirs, erasureData, erasureParity, authFailureLimit,
                DEFAULT_SCRUB_RATE_MB, DEFAULT_SCRUB_INTERVAL_HOURS, null, null, DEFAULT_DELTA_MAX_DEPTH);
    }

    /** The settings of the embedded default: loopback, local packs. */
    public ServerConfig(String bind, int port, Path dataDir, String catalogUrl, long packSizeBytes) {
        this(bind, port, dataDir, catalogUrl, packSizeBytes, java.util.List.of(), 4, 2, DEFAULT_AUTH_FAILURE_LIMIT,
                DEFAULT_SCRUB_RATE_MB, DEFAULT_SCRUB_INTERVAL_HOURS, null, null, DEFAULT_DELTA_MAX_DEPTH);
    }

    public Path chunkDir() {
        return dataDir.resolve("chunks");
    }

    /**
     * Resolves settings from flags (keys: bind, port, data, catalog, pack_size, chunk_dirs, erasure,
     * auth_failure_limit, scrub_rate_mb, scrub_interval_hours, replica_url, replica_token_file, delta_max_depth,
     * config;
     * null values are absent), the
     * environment and the config file.
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
        String dirs = first(flags.get("chunk_dirs"), env.get("STRATA_CHUNK_DIRS"), file.getProperty("chunk_dirs"));
        String code = first(flags.get("erasure"), env.get("STRATA_ERASURE"), file.getProperty("erasure", "4+2"));
        String authLimit = first(flags.get("auth_failure_limit"), env.get("STRATA_AUTH_FAILURE_LIMIT"),
                file.getProperty("auth_failure_limit", Integer.toString(DEFAULT_AUTH_FAILURE_LIMIT)));
        String scrubRate = first(flags.get("scrub_rate_mb"), env.get("STRATA_SCRUB_RATE_MB"),
                file.getProperty("scrub_rate_mb", Double.toString(DEFAULT_SCRUB_RATE_MB)));
        String scrubInterval = first(flags.get("scrub_interval_hours"), env.get("STRATA_SCRUB_INTERVAL_HOURS"),
                file.getProperty("scrub_interval_hours", Double.toString(DEFAULT_SCRUB_INTERVAL_HOURS)));
        String replicaUrl = first(flags.get("replica_url"), env.get("STRATA_REPLICA_URL"), file.getProperty("replica_url"));
        String replicaToken = first(flags.get("replica_token_file"), env.get("STRATA_REPLICA_TOKEN_FILE"), file.getProperty("replica_token_file"));
        String deltaDepth = first(flags.get("delta_max_depth"), env.get("STRATA_DELTA_MAX_DEPTH"),
                file.getProperty("delta_max_depth", Integer.toString(DEFAULT_DELTA_MAX_DEPTH)));
        java.util.List<Path> chunkDirs = new java.util.ArrayList<>();
        if (dirs != null && !dirs.isBlank()) {
            for (String d : dirs.split(",")) {
                if (!d.isBlank()) {
                    chunkDirs.add(Path.of(d.trim()));
                }
            }
        }
        String[] km = code.split("\\+");
        try {
            if (km.length != 2) {
                throw new NumberFormatException("erasure must be K+M, e.g. 4+2, got " + code);
            }
            return new ServerConfig(bind, Integer.parseInt(port), dataDir, catalog, Long.parseLong(pack), chunkDirs,
                    Integer.parseInt(km[0].trim()), Integer.parseInt(km[1].trim()), Integer.parseInt(authLimit.trim()),
                    Double.parseDouble(scrubRate.trim()), Double.parseDouble(scrubInterval.trim()),
                    replicaUrl == null ? null : replicaUrl.strip(), replicaToken == null || replicaToken.isBlank() ? null : Path.of(replicaToken.strip()),
                    Integer.parseInt(deltaDepth.trim()));
        } catch (NumberFormatException e) {
            throw new InvalidInputException("port, pack_size, erasure (K+M), auth_failure_limit, scrub_rate_mb, scrub_interval_hours and delta_max_depth must be numbers: "
                    + e.getMessage());
        }
    }

    private static String first(String a, String b, String c) {
        return a != null ? a : b != null ? b : c;
    }
}
