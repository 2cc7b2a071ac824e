package dev.strata.service;

import dev.strata.core.ContentHash;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One push in progress. It remembers every chunk id the server told the client it already has
 * and every chunk received, so garbage collection treats them as live until the session ends:
 * an upload racing with GC never commits a chunk GC removed.
 */
public final class UploadSession {
    private final String id;
    private final long repoId;
    private final String repoName;
    private final Instant created;
    private volatile Instant lastUsed;
    private final Set<ContentHash> held = ConcurrentHashMap.newKeySet();
    private volatile long bytesReceived;
    private volatile long chunksReceived;

    UploadSession(String id, long repoId, String repoName, Instant now) {
        this.id = id;
        this.repoId = repoId;
        this.repoName = repoName;
        this.created = now;
        this.lastUsed = now;
    }

    public String id() {
        return id;
    }

    public long repoId() {
        return repoId;
    }

    public String repoName() {
        return repoName;
    }

    public Instant created() {
        return created;
    }

    Instant lastUsed() {
        return lastUsed;
    }

    void touch(Instant now) {
        lastUsed = now;
    }

    Set<ContentHash> held() {
        return held;
    }

    synchronized void countReceived(long bytes) {
        bytesReceived += bytes;
        chunksReceived++;
    }

    public long bytesReceived() {
        return bytesReceived;
    }

    public long chunksReceived() {
        return chunksReceived;
    }
}
