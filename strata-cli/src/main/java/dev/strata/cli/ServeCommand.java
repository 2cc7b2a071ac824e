package dev.strata.cli;

import dev.strata.server.ApiServer;
import dev.strata.server.ServerConfig;
import dev.strata.server.Strata;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Run a Strata server in the foreground.", "",
                "Defaults: data in ./strata-data, embedded SQLite catalog in DATA/catalog.db, listening on 127.0.0.1:8470.",
                "Settings also come from a config file (--config, else DATA/strata.conf: keys bind, port, data, catalog,",
                "pack_size, chunk_dirs, erasure, auth_failure_limit, scrub_rate_mb, scrub_interval_hours, replica_url,",
                "replica_token_file, delta_max_depth) and environment variables (STRATA_BIND, STRATA_PORT, STRATA_DATA, STRATA_CATALOG,",
                "STRATA_PACK_SIZE, STRATA_CHUNK_DIRS, STRATA_ERASURE, STRATA_AUTH_FAILURE_LIMIT, STRATA_SCRUB_RATE_MB,",
                "STRATA_SCRUB_INTERVAL_HOURS, STRATA_REPLICA_URL, STRATA_REPLICA_TOKEN_FILE, STRATA_DELTA_MAX_DEPTH);",
                "flags win over the environment, which wins over the file.",
                "The first start creates the administrator 'admin' and writes its token to DATA/admin.token (mode 0600)."})
final class ServeCommand implements Callable<Integer> {
    @Option(names = "--port", description = "Listen port (default 8470; 0 picks a free one).")
    Integer port;

    @Option(names = "--bind", description = "Listen address (default 127.0.0.1: loopback only).")
    String bind;

    @Option(names = "--data", description = "Data directory (default ./strata-data).")
    String data;

    @Option(names = "--catalog", description = "Catalog URL: sqlite:PATH (default DATA/catalog.db) or jdbc:postgresql://HOST:PORT/DB?user=U&password=P.")
    String catalog;

    @Option(names = "--config", description = "Config file (Java properties).")
    String config;

    @Option(names = "--pack-size", description = "Pack size in bytes at which packs are sealed (default 33554432).")
    Long packSize;

    @Option(names = "--chunk-dirs", paramLabel = "DIR,DIR,...",
            description = "Store chunks erasure-coded over these directories (one per disk) instead of DATA/chunks.")
    String chunkDirs;

    @Option(names = "--erasure", paramLabel = "K+M", description = "Data and parity shards per stripe with --chunk-dirs (default 4+2).")
    String erasure;

    @Option(names = "--scrub-rate-mb", paramLabel = "MB/S",
            description = "Read budget of the background scrubber in MB/s (default 50; 0: no background scrub).")
    Double scrubRateMb;

    @Option(names = "--scrub-interval-hours", paramLabel = "H",
            description = "A background scrub pass starts this long after the last complete one (default 24).")
    Double scrubIntervalHours;

    @Option(names = "--auth-failure-limit", paramLabel = "N",
            description = "Failed authentications per client address per minute before it is refused with 429 (default 20).")
    Integer authFailureLimit;

    @Option(names = "--replica-url", paramLabel = "URL",
            description = "Replicate every commit and ref move, asynchronously, to the Strata server at URL (see `strata replication status`).")
    String replicaUrl;

    @Option(names = "--replica-token-file", paramLabel = "FILE",
            description = "File holding an admin token of the replica (required with --replica-url; never logged).")
    String replicaTokenFile;

    @Option(names = "--delta-max-depth", paramLabel = "N",
            description = {"Longest chain of tensor deltas background compaction writes: reading a tensor chunk decodes at most",
                    "N deltas and one keyframe (default 4; 0: no deltas, keyframes only)."})
    Integer deltaMaxDepth;

    @Override
    public Integer call() throws InterruptedException {
        Map<String, String> flags = new HashMap<>();
        if (port != null) flags.put("port", port.toString());
        if (bind != null) flags.put("bind", bind);
        if (data != null) flags.put("data", data);
        if (catalog != null) flags.put("catalog", catalog);
        if (config != null) flags.put("config", config);
        if (packSize != null) flags.put("pack_size", packSize.toString());
        if (chunkDirs != null) flags.put("chunk_dirs", chunkDirs);
        if (erasure != null) flags.put("erasure", erasure);
        if (authFailureLimit != null) flags.put("auth_failure_limit", authFailureLimit.toString());
        if (replicaUrl != null) flags.put("replica_url", replicaUrl);
        if (replicaTokenFile != null) flags.put("replica_token_file", replicaTokenFile);
        if (scrubRateMb != null) flags.put("scrub_rate_mb", scrubRateMb.toString());
        if (scrubIntervalHours != null) flags.put("scrub_interval_hours", scrubIntervalHours.toString());
        if (deltaMaxDepth != null) flags.put("delta_max_depth", deltaMaxDepth.toString());
        ServerConfig cfg = ServerConfig.resolve(flags, System.getenv());
        Strata strata = Strata.open(cfg);
        ApiServer server;
        try {
            strata.bootstrap().ifPresent(f -> System.err.printf(
                    "First start: created the server administrator 'admin'. Its token is in %s (readable only by you).%n"
                            + "Sign in with:  strata login --token-file %s%n", f, f));
            strata.startBackgroundWork(java.time.Duration.ofSeconds(30));
            strata.startBackgroundScrub(cfg.scrubRateMb(), java.time.Duration.ofSeconds(Math.round(cfg.scrubIntervalHours() * 3600)));
            server = new ApiServer(strata).start(cfg.bind(), cfg.port());
        } catch (RuntimeException e) {
            strata.close();
            throw e;
        }
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            strata.scrubber().close(); // a running pass stops at its next chunk, so no request waits for it
            server.close();
            strata.close();
            stopped.countDown();
        }));
        if (strata.replicator() != null) {
            System.err.printf("Replicating to %s%n", strata.replicator().url());
        }
        System.err.printf("Strata %s listening on http://%s:%d (data: %s)%n", Strata.VERSION, cfg.bind(), server.port(),
                cfg.dataDir().toAbsolutePath());
        stopped.await();
        return 0;
    }
}
