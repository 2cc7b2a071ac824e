package dev.strata.server;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.Catalogs;
import dev.strata.core.StorageException;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.local.LocalPackStore;
import dev.strata.service.AccessControl;
import dev.strata.service.AuditLog;
import dev.strata.service.Compactor;
import dev.strata.service.ContentReader;
import dev.strata.service.GarbageCollector;
import dev.strata.service.Queries;
import dev.strata.service.ReplicaWrites;
import dev.strata.service.Replicator;
import dev.strata.service.Fsck;
import dev.strata.service.Repositories;
import dev.strata.service.Scrubber;
import dev.strata.service.Uploads;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;

/** One Strata instance: the chunk store and catalog it owns and the services over them. */
public final class Strata implements AutoCloseable {
    public static final String VERSION = "0.1.0";

    private final ChunkStore store;
    private final Catalog catalog;
    private final Repositories repos;
    private final Uploads uploads;
    private final Queries queries;
    private final GarbageCollector gc;
    private final ContentReader reader;
    private final Compactor compactor;
    private final AccessControl access;
    private final AuditLog audit;
    private final ReplicaWrites replicaWrites;
    private volatile Replicator replicator;
    private final Scrubber scrubber;
    private final Fsck fsck;
    private final Path dataDir;
    private volatile long lastActivityNanos = System.nanoTime();
    private volatile Thread background;
    private java.nio.channels.FileChannel lockChannel;
    private java.nio.channels.FileLock lock;

    /** An instance without a data directory of its own (no audit head anchor, no bootstrap token file): for tests. */
    public Strata(ChunkStore store, Catalog catalog, Clock clock) {
        this(store, catalog, clock, null, ServerConfig.DEFAULT_AUTH_FAILURE_LIMIT);
    }

    /** @param dataDir where the audit head anchor and the bootstrap admin token live; null for none */
    public Strata(ChunkStore store, Catalog catalog, Clock clock, Path dataDir, int authFailureLimit) {
        this(store, catalog, clock, dataDir, authFailureLimit, Compactor.DEFAULT_MAX_DELTA_DEPTH);
    }

    /**
     * @param dataDir where the audit head anchor and the bootstrap admin token live; null for none
     * @param deltaMaxDepth longest chain of tensor deltas the compactor writes (0: keyframes only)
     */
    public Strata(ChunkStore store, Catalog catalog, Clock clock, Path dataDir, int authFailureLimit, int deltaMaxDepth) {
        this.dataDir = dataDir;
        this.store = store;
        this.catalog = catalog;
        this.repos = new Repositories(catalog);
        this.uploads = new Uploads(repos, store, clock);
        this.queries = new Queries(repos, store);
        this.gc = new GarbageCollector(repos, store, uploads);
        this.reader = new ContentReader(store);
        this.compactor = new Compactor(store, uploads, catalog, deltaMaxDepth);
        this.access = new AccessControl(repos, clock, authFailureLimit, java.time.Duration.ofMinutes(1));
        this.audit = new AuditLog(catalog, dataDir == null ? null : dataDir.resolve("audit.head"), clock);
        this.replicaWrites = new ReplicaWrites(repos, store, uploads, access);
        this.scrubber = new Scrubber(store, uploads, dataDir == null ? null : dataDir.resolve("scrub.json"));
        this.fsck = new Fsck(catalog, store, uploads);
    }

    /** Applies what a primary replicates to this server. */
    public ReplicaWrites replicaWrites() {
        return replicaWrites;
    }

    /** The replicator to this server's replica, or null when none is configured. */
    public Replicator replicator() {
        return replicator;
    }

    /**
     * Configures replication to {@code url} (docs/decisions/0013-replication.md); it runs once
     * {@link #startBackgroundWork} is called. Fails now if the token file cannot be read.
     */
    public void replicateTo(String url, Path tokenFile) {
        if (replicator != null) {
            throw new IllegalStateException("a replica is already configured");
        }
        replicator = new Replicator(catalog, store, url, tokenFile, Clock.systemUTC());
        access.onChange(replicator::accessChanged);
    }

    public AccessControl access() {
        return access;
    }

    public AuditLog audit() {
        return audit;
    }

    /**
     * First start: creates the admin user and writes its token to DATA/admin.token (mode 0600).
     * Returns that file, or empty if the server already has users.
     */
    public java.util.Optional<Path> bootstrap() {
        if (dataDir == null) {
            throw new IllegalStateException("bootstrap needs a data directory");
        }
        return access.bootstrap(dataDir.resolve("admin.token"));
    }

    /** Marks the server busy now: background work waits until it has been idle for a while. */
    public void noteActivity() {
        lastActivityNanos = System.nanoTime();
    }

    private boolean idleFor(java.time.Duration d) {
        return System.nanoTime() - lastActivityNanos >= d.toNanos();
    }

    /**
     * Starts the background compactor: every 10 s, once no request has arrived for {@code idle},
     * it compresses raw chunks pack by pack, stopping at the next request (invariant 7).
     */
    public void startBackgroundWork(java.time.Duration idle) {
        Thread t = Thread.ofPlatform().daemon().name("strata-compactor").start(() -> {
            while (!Thread.currentThread().isInterrupted()) {
                try {
                    Thread.sleep(10_000);
                    if (idleFor(idle)) {
                        compactor.run(() -> idleFor(idle));
                    }
                } catch (InterruptedException e) {
                    return;
                } catch (RuntimeException e) {
                    org.slf4j.LoggerFactory.getLogger(Strata.class).warn("background compaction failed; will retry", e);
                }
            }
        });
        background = t;
        Replicator r = replicator;
        if (r != null) {
            r.start();
        }
    }

    public Compactor compactor() {
        return compactor;
    }

    /**
     * Starts the background scrubber: a pass at {@code rateMb} MB/s once per {@code interval}
     * (0 MB/s: none; {@link Scrubber}).
     */
    public void startBackgroundScrub(double rateMb, java.time.Duration interval) {
        scrubber.startBackground(rateMb, interval);
    }

    public Scrubber scrubber() {
        return scrubber;
    }

    public Fsck fsck() {
        return fsck;
    }

    /** Opens the data directory and catalog named by {@code config}; fails clearly if they are unusable. */
    public static Strata open(ServerConfig config) {
        Path data = config.dataDir().toAbsolutePath();
        try {
            Files.createDirectories(data);
        } catch (IOException e) {
            throw new StorageException("cannot create data directory " + data + ": " + e, e);
        }
        if (!Files.isWritable(data)) {
            throw new StorageException("data directory " + data + " is not writable", null);
        }
        // Two servers appending to the same packs would corrupt them: one server per data directory.
        java.nio.channels.FileChannel lockChannel;
        java.nio.channels.FileLock lock;
        try {
            lockChannel = java.nio.channels.FileChannel.open(data.resolve("strata.lock"),
                    java.nio.file.StandardOpenOption.CREATE, java.nio.file.StandardOpenOption.WRITE);
            lock = lockChannel.tryLock();
        } catch (IOException e) {
            throw new StorageException("cannot lock data directory " + data + ": " + e, e);
        }
        if (lock == null) {
            try {
                lockChannel.close();
            } catch (IOException ignored) {
                // nothing to release
            }
            throw new StorageException("data directory " + data + " is in use by another Strata server; stop it or use --data", null);
        }
        ChunkStore store = null;
        try {
            if (config.replicaTokenFile() != null) {
                Replicator.readToken(config.replicaTokenFile()); // fail before anything is opened
            }
            store = config.chunkDirs().isEmpty()
                    ? LocalPackStore.open(config.chunkDir(), LocalPackStore.Options.defaults().withTargetPackBytes(config.packSizeBytes()))
                    : dev.strata.core.store.erasure.ErasureCodedChunkStore.open(config.chunkDirs(), config.erasureData(),
                            config.erasureParity(), config.packSizeBytes());
            Catalog catalog = Catalogs.open(config.catalogUrl());
            Strata strata = new Strata(store, catalog, Clock.systemUTC(), data, config.authFailureLimit(), config.deltaMaxDepth());
            strata.lockChannel = lockChannel;
            strata.lock = lock;
            if (config.replicaUrl() != null) {
                strata.replicateTo(config.replicaUrl(), config.replicaTokenFile());
            }
            return strata;
        } catch (RuntimeException e) {
            if (store != null) {
                store.close();
            }
            try {
                lockChannel.close();
            } catch (IOException ignored) {
                // the lock goes with the channel
            }
            throw e;
        }
    }

    /** The data directory, or null for an instance without one (tests). */
    public Path dataDir() {
        return dataDir;
    }

    /** The catalog this instance serves. */
    public Catalog catalog() {
        return catalog;
    }

    public ChunkStore store() {
        return store;
    }

    public Repositories repos() {
        return repos;
    }

    public Uploads uploads() {
        return uploads;
    }

    public Queries queries() {
        return queries;
    }

    public GarbageCollector gc() {
        return gc;
    }

    public ContentReader reader() {
        return reader;
    }

    @Override
    public void close() {
        Replicator r = replicator;
        if (r != null) {
            r.close();
        }
        Thread t = background;
        if (t != null) {
            t.interrupt();
            try {
                t.join(30_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        scrubber.close();
        try {
            audit.close();
            catalog.close();
        } finally {
            try {
                store.close();
            } finally {
                if (lockChannel != null) {
                    try {
                        lockChannel.close(); // releases the data directory lock
                    } catch (IOException ignored) {
                        // the process is ending anyway
                    }
                }
            }
        }
    }
}
