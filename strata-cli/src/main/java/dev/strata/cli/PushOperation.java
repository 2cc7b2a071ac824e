package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.core.Names;
import dev.strata.core.chunk.ChunkSpan;
import dev.strata.core.chunk.ChunkedFile;
import dev.strata.core.chunk.FileChunker;
import dev.strata.core.Codec;
import dev.strata.core.codec.Codecs;
import dev.strata.core.store.EncodedChunk;
import dev.strata.core.wire.ChunkFrames;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.stream.Stream;

/**
 * The client side of a push (docs/api.md, "Push"): chunk and hash locally, ask which chunks the
 * server lacks, send only those in compressed batches (several in flight), upload manifests,
 * then create the commit with a compare-and-set on the branch head read at the start.
 */
final class PushOperation {
    private final StrataClient client;

    PushOperation(StrataClient client) {
        this.client = client;
    }

    record Request(Path source, String repo, String branch, String message, String author, Long step,
                   Map<String, Double> metrics, ObjectNode metadata, Map<String, String> lineage,
                   List<String> deletes, boolean sync, int threads, boolean compress, boolean useCache) {}

    record Result(JsonNode commit, int files, int changedFiles, long logicalBytes, long sentBytes, long sentChunks, long knownChunks) {
        ObjectNode toJson() {
            ObjectNode n = StrataClient.JSON.createObjectNode();
            n.set("commit", commit);
            n.put("files", files).put("changed_files", changedFiles).put("logical_bytes", logicalBytes)
                    .put("sent_bytes", sentBytes).put("sent_chunks", sentChunks).put("known_chunks", knownChunks);
            return n;
        }
    }

    private record LocalFile(String path, Path file, ChunkedFile chunks) {}

    Result run(Request req, boolean progress) throws Exception {
        Names.ref(req.branch());
        String repoPath = StrataClient.repoPath(Names.repo(req.repo()));
        client.get(repoPath); // 404 names the repository before any work
        String parent = null;
        Map<String, JsonNode> parentTree = new HashMap<>();
        try {
            JsonNode tree = client.get(repoPath + "/tree?rev=" + StrataClient.q(req.branch()));
            parent = tree.path("commit").path("id").asText();
            tree.path("files").forEach(f -> parentTree.put(f.path("path").asText(), f));
        } catch (StrataClient.ApiException e) {
            if (e.status() != 404) {
                throw e;
            }
        }

        Map<String, Path> sources = listSources(req.source());
        long total = 0;
        for (Path p : sources.values()) {
            total += Files.size(p);
        }
        String upload = client.post(repoPath + "/uploads", StrataClient.JSON.createObjectNode()).path("upload_id").asText();
        String sessionPath = repoPath + "/uploads/" + upload;
        try {
            List<LocalFile> files = new ArrayList<>();
            FileChunker chunker = new FileChunker(req.threads());
            FileIndexCache cache = FileIndexCache.open(req.useCache());
            Timing timing = new Timing();
            long sentBytes, sentChunks, knownChunks;
            // Chunks travel while later segments are still being hashed (UploadPipeline).
            try (Progress bar = progress ? Progress.start("pushing", total) : Progress.start("", 0);
                 UploadPipeline pipe = new UploadPipeline(client, sessionPath, req.threads(), req.compress(), Progress.start("", 0))) {
                for (Map.Entry<String, Path> e : sources.entrySet()) {
                    Path file = e.getValue();
                    JsonNode old = parentTree.get(e.getKey());
                    files.add(new LocalFile(e.getKey(), file, cache.chunk(chunker, file, bar::add, spans -> pipe.offer(file, spans),
                            f -> sameAs(old, f))));
                }
                timing.mark("hash");
                pipe.finish();
                timing.mark("upload");
                sentBytes = pipe.sentBytes();
                sentChunks = pipe.sentChunks();
                knownChunks = pipe.knownChunks();
            }
            List<LocalFile> changed = new ArrayList<>();
            for (LocalFile f : files) {
                if (!sameAs(parentTree.get(f.path()), f.chunks())) {
                    changed.add(f);
                }
            }

            ArrayNode fileNodes = StrataClient.JSON.createArrayNode();
            for (LocalFile f : changed) {
                // The manifest carries the file's tensor table (model files): the server's codecs use it.
                String manifestId = client.postBytes(sessionPath + "/manifests", f.chunks().toManifest().encode()).path("manifest_id").asText();
                fileNodes.addObject().put("path", f.path()).put("size", f.chunks().size()).put("sha256", f.chunks().sha256().hex())
                        .put("manifest_id", manifestId);
            }
            ArrayNode deletes = StrataClient.JSON.createArrayNode();
            Set<String> deleteSet = new java.util.TreeSet<>(req.deletes());
            if (req.sync()) {
                parentTree.keySet().stream().filter(p -> !sources.containsKey(p)).forEach(deleteSet::add);
            }
            deleteSet.forEach(deletes::add);
            ObjectNode commit = StrataClient.JSON.createObjectNode();
            commit.put("upload_id", upload).put("branch", req.branch()).put("message", req.message()).put("author", req.author());
            if (parent == null) {
                commit.putNull("parent");
            } else {
                commit.put("parent", parent);
            }
            if (req.step() != null) {
                commit.put("step", req.step());
            }
            ObjectNode m = commit.putObject("metrics");
            req.metrics().forEach(m::put);
            commit.set("metadata", req.metadata());
            commit.set("files", fileNodes);
            commit.set("deletes", deletes);
            ArrayNode lin = commit.putArray("lineage");
            for (Map.Entry<String, String> e : req.lineage().entrySet()) {
                dev.strata.service.RepoRev target = dev.strata.service.RepoRev.parse(e.getValue());
                lin.addObject().put("relation", e.getKey()).put("repo", target.repo()).put("rev", target.revOrDefault());
            }
            timing.mark("manifests");
            JsonNode created = client.post(repoPath + "/commits", commit);
            timing.mark("commit");
            timing.report("push");
            long logical = files.stream().mapToLong(f -> f.chunks().size()).sum();
            return new Result(created, files.size(), changed.size(), logical, sentBytes, sentChunks, knownChunks);
        } catch (Exception e) {
            // Give the server its session back now rather than when it expires (it holds chunks from GC).
            try {
                client.delete(sessionPath);
            } catch (RuntimeException ignored) {
                // unreachable server, or the session is already gone: it expires by itself
            }
            throw e;
        }
    }

    /** Whether the parent commit's entry {@code old} (null: none) is this very file: same size and SHA-256. */
    private static boolean sameAs(JsonNode old, ChunkedFile f) {
        return old != null && old.path("size").asLong() == f.size() && old.path("sha256").asText().equals(f.sha256().hex());
    }

    /** Maps commit paths to local files: a directory's regular files by relative path, or one file by its name. */
    static Map<String, Path> listSources(Path source) throws IOException {
        Map<String, Path> out = new TreeMap<>();
        if (Files.isRegularFile(source)) {
            out.put(Names.path(source.getFileName().toString()), source);
            return out;
        }
        if (!Files.isDirectory(source)) {
            throw new InvalidInputException(source + " is neither a file nor a directory");
        }
        try (Stream<Path> walk = Files.walk(source)) {
            for (Path p : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(p)) {
                    String rel = source.relativize(p).toString().replace(java.io.File.separatorChar, '/');
                    out.put(Names.path(rel), p);
                }
            }
        }
        return out;
    }
}
