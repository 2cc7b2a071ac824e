package dev.strata.server;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.Catalogs;
import dev.strata.core.StorageException;
import dev.strata.core.store.ChunkStore;
import dev.strata.core.store.local.LocalPackStore;
import dev.strata.service.ContentReader;
import dev.strata.service.GarbageCollector;
import dev.strata.service.Queries;
import dev.strata.service.Repositories;
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

    public Strata(ChunkStore store, Catalog catalog, Clock clock) {
        this.store = store;
        this.catalog = catalog;
        this.repos = new Repositories(catalog);
        this.uploads = new Uploads(repos, store, clock);
        this.queries = new Queries(repos, store);
        this.gc = new GarbageCollector(repos, store, uploads);
        this.reader = new ContentReader(store);
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
        ChunkStore store = LocalPackStore.open(config.chunkDir(), LocalPackStore.Options.defaults().withTargetPackBytes(config.packSizeBytes()));
        try {
            Catalog catalog = Catalogs.open(config.catalogUrl());
            return new Strata(store, catalog, Clock.systemUTC());
        } catch (RuntimeException e) {
            store.close();
            throw e;
        }
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
        try {
            catalog.close();
        } finally {
            store.close();
        }
    }
}
