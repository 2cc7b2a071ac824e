package dev.strata.service;

import dev.strata.core.ContentHash;
import java.time.Instant;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * One push in progress, owned by the user who started it. It remembers every chunk id the server
 * told the client it already has and every chunk received, so garbage collection treats them as
 * live until the session ends (an upload racing with GC never commits a chunk GC removed), and
 * so a manifest can only name chunks whose bytes this push or an earlier push to the same
 * repository delivered: knowing a chunk id is never enough to obtain its bytes.
 */
public final class UploadSession {
    private final String id;
    private final long repoId;
    private final String repoName;
    private final String owner;
    private final Instant created;
    private volatile Instant lastUsed;
    private final Set<ContentHash> held = ConcurrentHashMap.newKeySet();
    private final Set<ContentHash> manifests = ConcurrentHashMap.newKeySet();
    private volatile long bytesReceived;
    private volatile long chunksReceived;

    UploadSession(String id, long repoId, String repoName, String owner, Instant now) {
        this.id = id;
        this.repoId = repoId;
        this.repoName = repoName;
        this.owner = owner;
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

    /** The user who started it: only they may use it. */
    public String owner() {
        return owner;
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

    /** Chunks received in this session or that the repository is known to hold: what its manifests may name. */
    Set<ContentHash> held() {
        return held;
    }

    /** Manifests stored through this session: what its commit may name besides the repository's own. */
    Set<ContentHash> manifests() {
        return manifests;
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
