package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.core.ChunkRef;
import dev.strata.core.ContentHash;
import dev.strata.core.CorruptDataException;
import dev.strata.core.FileManifest;
import dev.strata.core.Names;
import dev.strata.core.chunk.ChunkSpan;
import dev.strata.core.chunk.ChunkedFile;
import dev.strata.core.chunk.FileChunker;
import dev.strata.core.codec.Codecs;
import dev.strata.core.wire.ChunkFrames;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The client side of a pull. A file absent locally is streamed whole (one request, verified by
 * its SHA-256 before it replaces anything). A file present locally in another version is
 * updated incrementally: the local copy is chunked, and only chunks it lacks are fetched, so
 * pulling checkpoint N+1 over N transfers what changed. Files land by atomic rename.
 */
final class PullOperation {
    private final StrataClient client;
    private final int threads;

    PullOperation(StrataClient client, int threads) {
        this.client = client;
        this.threads = threads;
    }

    record Result(String commit, int files, int skipped, long bytes, long fetchedBytes) {}

    Result run(String repo, String rev, Path outDir, boolean progress) throws IOException {
        String repoPath = StrataClient.repoPath(Names.repo(repo));
        JsonNode tree = client.get(repoPath + "/tree?rev=" + StrataClient.q(rev));
        String commit = tree.path("commit").path("id").asText();
        if (tree.path("commit").path("expired").asBoolean()) {
            throw new dev.strata.core.NotFoundException(repo + "@" + rev + " (" + commit + ") expired: its data was reclaimed");
        }
        long total = 0;
        for (JsonNode f : tree.path("files")) {
            total += f.path("size").asLong();
        }
        Files.createDirectories(outDir);
        int files = 0, skipped = 0;
        long fetched = 0;
        try (Progress bar = progress ? Progress.start("pulling", total) : Progress.start("", 0)) {
            for (JsonNode f : tree.path("files")) {
                String path = Names.path(f.path("path").asText());
                Path dest = outDir.resolve(path).normalize();
                if (!dest.startsWith(outDir.normalize())) {
                    throw new CorruptDataException("path from server", "inside " + outDir, dest.toString());
                }
                long size = f.path("size").asLong();
                ContentHash sha = ContentHash.fromHex(f.path("sha256").asText());
                files++;
                if (Files.isRegularFile(dest)) {
                    ChunkedFile local = new FileChunker(threads).chunk(dest, n -> {});
                    if (local.size() == size && local.sha256().equals(sha)) {
                        skipped++;
                        bar.add(size);
                        continue;
                    }
                    fetched += updateFrom(repoPath, commit, path, dest, local, sha, bar);
                } else {
                    Files.createDirectories(dest.getParent());
                    fetched += streamWhole(repoPath, commit, path, dest, size, sha, bar);
                }
            }
        }
        return new Result(commit, files, skipped, total, fetched);
    }

    private long streamWhole(String repoPath, String commit, String path, Path dest, long size, ContentHash sha, Progress bar) throws IOException {
        Path tmp = temp(dest);
        MessageDigest md = ContentHash.sha256();
        long n = 0;
        HttpResponse<InputStream> r = client.stream(repoPath + "/files/" + StrataClient.encodePath(path) + "?rev=" + commit, null);
        try (InputStream in = r.body(); OutputStream out = Files.newOutputStream(tmp)) {
            byte[] buf = new byte[1 << 20];
            int k;
            while ((k = in.read(buf)) > 0) {
                md.update(buf, 0, k);
                out.write(buf, 0, k);
                n += k;
                bar.add(k);
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        finish(tmp, dest, n, size, ContentHash.ofDigest(md), sha, path);
        return n;
    }

    private long updateFrom(String repoPath, String commit, String path, Path dest, ChunkedFile local, ContentHash sha, Progress bar)
            throws IOException {
        FileManifest m = FileManifest.decode(client.getBytes(repoPath + "/manifest/" + StrataClient.encodePath(path) + "?rev=" + commit));
        Map<ContentHash, ChunkSpan> have = new HashMap<>();
        for (ChunkSpan s : local.chunks()) {
            have.putIfAbsent(s.id(), s);
        }
        List<ChunkRef> chunks = m.chunks();
        Path tmp = temp(dest);
        MessageDigest md = ContentHash.sha256();
        long fetched = 0, written = 0;
        try (FileChannel src = FileChannel.open(dest, StandardOpenOption.READ);
             OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(tmp), 1 << 20)) {
            int i = 0;
            while (i < chunks.size()) {
                ChunkSpan s = have.get(chunks.get(i).id());
                if (s != null) {
                    ByteBuffer buf = ByteBuffer.allocate(s.length());
                    while (buf.hasRemaining() && src.read(buf, s.offset() + buf.position()) > 0) {
                        // positional read until full
                    }
                    byte[] b = buf.array();
                    md.update(b);
                    out.write(b);
                    written += b.length;
                    bar.add(b.length);
                    i++;
                    continue;
                }
                int j = i;
                while (j < chunks.size() && !have.containsKey(chunks.get(j).id())) {
                    j++;
                }
                HttpResponse<InputStream> r = client.stream(repoPath + "/chunks/" + StrataClient.encodePath(path)
                        + "?rev=" + commit + "&from=" + i + "&to=" + j, null);
                try (InputStream in = new BufferedInputStream(r.body(), 1 << 20)) {
                    for (int k = i; k < j; k++) {
                        ChunkFrames.Frame f = ChunkFrames.read(in);
                        if (f == null || !f.id().equals(chunks.get(k).id())) {
                            throw new CorruptDataException("chunk " + k + " of " + path, chunks.get(k).id().hex(), f == null ? "end of stream" : f.id().hex());
                        }
                        byte[] b = Codecs.verify(f.id(), f.chunk());
                        md.update(b);
                        out.write(b);
                        written += b.length;
                        fetched += f.chunk().data().length;
                        bar.add(b.length);
                    }
                }
                i = j;
            }
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(tmp);
            throw e;
        }
        finish(tmp, dest, written, m.size(), ContentHash.ofDigest(md), sha, path);
        return fetched;
    }

    private static Path temp(Path dest) {
        return dest.resolveSibling("." + dest.getFileName() + ".strata-partial");
    }

    private static void finish(Path tmp, Path dest, long n, long size, ContentHash got, ContentHash want, String path) throws IOException {
        if (n != size || !got.equals(want)) {
            Files.deleteIfExists(tmp);
            throw new CorruptDataException("content of " + path, want.hex() + " (" + size + " bytes)", got.hex() + " (" + n + " bytes)");
        }
        Files.move(tmp, dest, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }
}
