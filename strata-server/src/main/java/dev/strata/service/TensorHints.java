package dev.strata.service;

import dev.strata.catalog.Catalog;
import dev.strata.catalog.CommitRecord;
import dev.strata.catalog.FileEntry;
import dev.strata.catalog.LineageLink;
import dev.strata.catalog.RepoRecord;
import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.FileManifest;
import dev.strata.core.codec.FloatFormat;
import dev.strata.core.tensor.DType;
import dev.strata.core.tensor.TensorEntry;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * What the tensor codecs need to know about stored chunks, read from the catalog: for every chunk
 * of a float tensor in a kept commit, its float format and, when there is one, the chunk at the
 * same slice of the same tensor in the commit's reference version, the base a delta is encoded
 * against (docs/decisions/0016-tensor-compaction.md).
 *
 * <p>The reference of a commit is its first parent; a commit without parents (a new branch of a
 * fine-tune) uses the target of its first lineage link, the base model it derives from. Files pair
 * by path, tensors by name and dtype; tensors are cut into fixed element-aligned slices
 * (docs/decisions/0014-tensor-aligned-chunking.md), so slice k pairs with slice k.
 */
final class TensorHints {
    /** A float tensor's chunk: its format, and the same slice in the reference version (null: none). */
    record Hint(FloatFormat format, ContentHash base) {}

    private final Catalog catalog;
    private final Map<ContentHash, FileManifest> manifests = new HashMap<>();

    private TensorHints(Catalog catalog) {
        this.catalog = catalog;
    }

    /**
     * Hints for every float-tensor chunk of every kept commit of every repository, by commit
     * ({@code "<repo id>/<commit id>"}), leaving out the commits {@code settled} names.
     */
    static Map<String, Map<ContentHash, Hint>> collect(Catalog catalog, java.util.function.Predicate<String> settled) {
        return new TensorHints(catalog).collect(settled);
    }

    /** All hints of {@code byCommit} in one map; a hint with a base wins over one without. */
    static Map<ContentHash, Hint> merged(Map<String, Map<ContentHash, Hint>> byCommit) {
        Map<ContentHash, Hint> all = new HashMap<>();
        byCommit.values().forEach(m -> m.forEach((id, h) -> all.merge(id, h, (old, now) -> old.base() != null ? old : now)));
        return all;
    }

    /** The float format a tensor dtype is stored with, or empty when the float codecs do not apply. */
    static Optional<FloatFormat> floatFormat(DType dtype) {
        return switch (dtype) {
            case BF16 -> Optional.of(FloatFormat.BF16);
            case F16 -> Optional.of(FloatFormat.FP16);
            case F32 -> Optional.of(FloatFormat.FP32);
            default -> Optional.empty();
        };
    }

    private Map<String, Map<ContentHash, Hint>> collect(java.util.function.Predicate<String> settled) {
        Map<String, Map<ContentHash, Hint>> byCommit = new HashMap<>();
        for (RepoRecord repo : catalog.listRepos()) {
            for (CommitRecord c : catalog.listCommits(repo.id())) {
                String key = repo.id() + "/" + c.id();
                if (c.expired() || settled.test(key)) {
                    continue;
                }
                Map<ContentHash, Hint> hints = byCommit.computeIfAbsent(key, k -> new HashMap<>());
                Map<String, FileEntry> refFiles = referenceFiles(repo, c);
                for (FileEntry f : catalog.listFiles(repo.id(), c.id())) {
                    FileManifest m = manifest(f.manifestId());
                    if (m == null || m.tensors().isEmpty()) {
                        continue;
                    }
                    FileEntry rf = refFiles.get(f.path());
                    FileManifest ref = rf == null ? null : manifest(rf.manifestId());
                    add(hints, m, ref);
                }
            }
        }
        return byCommit;
    }

    private static void add(Map<ContentHash, Hint> hints, FileManifest m, FileManifest ref) {
        Map<String, TensorEntry> refTensors = new HashMap<>();
        if (ref != null) {
            ref.tensors().forEach(t -> refTensors.put(t.name(), t));
        }
        List<ChunkRef> chunks = m.chunks();
        for (TensorEntry t : m.tensors()) {
            FloatFormat fmt = floatFormat(t.dtype()).orElse(null);
            if (fmt == null) {
                continue;
            }
            TensorEntry r = refTensors.get(t.name());
            boolean paired = r != null && r.dtype() == t.dtype() && !r.digest().equals(t.digest());
            for (int k = 0; k < t.chunkCount(); k++) {
                ContentHash id = chunks.get(t.firstChunk() + k).id();
                ContentHash base = paired && k < r.chunkCount() ? ref.chunks().get(r.firstChunk() + k).id() : null;
                if (id.equals(base)) {
                    base = null; // an unchanged slice is stored once: nothing to delta against
                }
                Hint h = new Hint(fmt, base);
                // The same bytes may appear in several commits: a hint with a base wins.
                hints.merge(id, h, (old, now) -> old.base() != null ? old : now);
            }
        }
    }

    /** Path → file of the commit's reference version, empty when it has none. */
    private Map<String, FileEntry> referenceFiles(RepoRecord repo, CommitRecord c) {
        long refRepo = repo.id();
        String refCommit = null;
        if (!c.parents().isEmpty()) {
            refCommit = c.parents().get(0);
        } else {
            List<LineageLink> links = catalog.lineageOf(repo.id(), c.id());
            if (!links.isEmpty()) {
                refRepo = links.get(0).targetRepoId();
                refCommit = links.get(0).targetCommitId();
            }
        }
        Map<String, FileEntry> files = new HashMap<>();
        if (refCommit != null) {
            long rr = refRepo;
            String rc = refCommit;
            if (catalog.findCommit(rr, rc).filter(x -> !x.expired()).isPresent()) {
                catalog.listFiles(rr, rc).forEach(f -> files.put(f.path(), f));
            }
        }
        return files;
    }

    private FileManifest manifest(ContentHash id) {
        return manifests.computeIfAbsent(id, k -> catalog.getManifest(k).map(FileManifest::decode).orElse(null));
    }
}
