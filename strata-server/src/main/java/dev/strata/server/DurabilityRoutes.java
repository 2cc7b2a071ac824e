package dev.strata.server;

import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.catalog.CatalogBackup;
import dev.strata.core.ContentHash;
import dev.strata.core.InvalidInputException;
import dev.strata.service.Fsck;
import dev.strata.service.Scrubber;
import io.javalin.http.HandlerType;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Scrub, fsck, repair and catalog backup (docs/api.md, "Durability"): server administrators only, registered
 * through {@link ApiServer#route} like every route.
 */
final class DurabilityRoutes {
    private final Strata strata;

    private DurabilityRoutes(Strata strata) {
        this.strata = strata;
    }

    static void register(ApiServer api, Strata strata) {
        new DurabilityRoutes(strata).registerOn(api);
    }

    private void registerOn(ApiServer api) {
        String admin = ApiServer.PREFIX + "/admin";
        api.route(HandlerType.POST, admin + "/scrub", "scrub.run", ApiServer.Need.SERVER_ADMIN, ctx -> {
            double rate = rate(ctx.queryParam("rate_mb"));
            Scrubber.Pass p = strata.scrubber().runNow(rate);
            ctx.attribute(ApiServer.AUDIT_DETAIL, summary(p));
            ctx.json(Scrubber.json(p).put("store", Scrubber.describe(strata.store())));
        });
        api.route(HandlerType.GET, admin + "/scrub", "scrub.status", ApiServer.Need.SERVER_ADMIN,
                ctx -> ctx.json(strata.scrubber().status()));
        api.route(HandlerType.POST, admin + "/fsck", "fsck.run", ApiServer.Need.SERVER_ADMIN, ctx -> {
            Fsck.Report r = strata.fsck().run();
            ctx.attribute(ApiServer.AUDIT_DETAIL, r.chunksMissing() + " missing, " + r.chunksCorrupt() + " corrupt, "
                    + r.manifestsBad() + " bad manifests, " + r.orphanChunks() + " orphans");
            ctx.json(fsck(r));
        });
        api.route(HandlerType.POST, admin + "/backup", "backup.run", ApiServer.Need.SERVER_ADMIN, ctx -> {
            ObjectNode r = backup(ctx.queryParam("to"));
            ctx.attribute(ApiServer.AUDIT_DETAIL, r.path("file").asText() + ": " + r.path("bytes").asLong() + " bytes");
            ctx.json(r);
        });
        api.route(HandlerType.POST, admin + "/repair", "repair.run", ApiServer.Need.SERVER_ADMIN, ctx -> {
            String dir = ctx.queryParam("dir");
            Path d = null;
            if (dir != null && !dir.isBlank()) {
                try {
                    d = Path.of(dir);
                } catch (InvalidPathException e) {
                    throw new InvalidInputException("dir is not a path: " + e.getMessage());
                }
            }
            Scrubber.Pass p = strata.scrubber().repair(d);
            ctx.attribute(ApiServer.AUDIT_DETAIL, (d == null ? "all directories" : d.toString()) + ": " + summary(p));
            ctx.json(Scrubber.json(p).put("store", Scrubber.describe(strata.store()))
                    .put("directory", d == null ? null : d.toString()));
        });
    }

    /** Backup file names from the network: one plain name inside DATA/backups, never a path. */
    private static final java.util.regex.Pattern BACKUP_NAME = java.util.regex.Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,127}");
    private static final java.time.format.DateTimeFormatter BACKUP_STAMP =
            java.time.format.DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(java.time.ZoneOffset.UTC);

    private ObjectNode backup(String to) {
        if (!(strata.catalog() instanceof CatalogBackup b) || !b.supportsOnlineBackup()) {
            throw new InvalidInputException("this server's catalog is not the embedded SQLite file; back up PostgreSQL with pg_dump");
        }
        if (strata.dataDir() == null) {
            throw new InvalidInputException("this server has no data directory to hold backups");
        }
        Path dir = strata.dataDir().toAbsolutePath().normalize().resolve("backups");
        String name;
        if (to == null || to.isBlank()) {
            name = "catalog-" + BACKUP_STAMP.format(java.time.Instant.now()) + ".db";
        } else {
            name = to.trim();
            if (!BACKUP_NAME.matcher(name).matches() || name.contains("..")) {
                throw new InvalidInputException("'to' must be a plain file name (letters, digits, '.', '_', '-'; no path) inside DATA/backups, got "
                        + dev.strata.core.Names.quote(to));
            }
        }
        Path file = dir.resolve(name).normalize();
        if (!dir.equals(file.getParent())) {
            throw new InvalidInputException("'to' must name a file inside DATA/backups");
        }
        long start = System.nanoTime();
        b.backupTo(file);
        double seconds = (System.nanoTime() - start) / 1e9;
        long bytes;
        try {
            bytes = Files.size(file);
        } catch (IOException e) {
            throw new dev.strata.core.StorageException("backup written but unreadable: " + file + ": " + e.getMessage(), e);
        }
        return JsonViews.MAPPER.createObjectNode().put("file", file.toString()).put("bytes", bytes).put("seconds", seconds);
    }

    private static double rate(String v) {
        if (v == null || v.isBlank()) {
            return 0;
        }
        try {
            double r = Double.parseDouble(v.trim());
            if (r >= 0 && !Double.isInfinite(r)) {
                return r;
            }
        } catch (NumberFormatException ignored) {
            // answered below
        }
        throw new InvalidInputException("rate_mb must be a number of MB/s, 0 or more (0 or absent: unlimited), got '" + v + "'");
    }

    private static String summary(Scrubber.Pass p) {
        var r = p.report();
        return r.chunksChecked() + " chunks, " + r.damaged() + " damaged, " + r.repaired() + " repaired, "
                + r.chunksUnrecoverable() + " unrecoverable" + (r.complete() ? "" : " (stopped early)");
    }

    static ObjectNode fsck(Fsck.Report r) {
        ObjectNode n = JsonViews.MAPPER.createObjectNode();
        n.put("clean", r.clean());
        n.put("repos", r.repos());
        n.put("commits_checked", r.commitsChecked());
        n.put("commits_expired", r.commitsExpired());
        n.put("files_checked", r.filesChecked());
        n.put("chunks_referenced", r.chunksReferenced());
        n.put("chunks_verified", r.chunksVerified());
        n.put("bytes_verified", r.bytesVerified());
        n.put("chunks_missing", r.chunksMissing());
        n.put("chunks_corrupt", r.chunksCorrupt());
        ArrayNode ps = n.putArray("problems");
        for (Fsck.ChunkProblem p : r.problems()) {
            ObjectNode o = ps.addObject().put("chunk", p.chunk().hex()).put("problem", p.problem()).put("reason", p.reason());
            ArrayNode refs = o.putArray("references");
            for (Fsck.Reference ref : p.references()) {
                refs.addObject().put("repo", ref.repo()).put("commit", ref.commit()).put("path", ref.path());
            }
        }
        n.put("manifests_bad", r.manifestsBad());
        ArrayNode ms = n.putArray("manifest_problems");
        for (Fsck.ManifestProblem p : r.manifestProblems()) {
            ms.addObject().put("repo", p.file().repo()).put("commit", p.file().commit()).put("path", p.file().path())
                    .put("manifest", p.manifest().hex()).put("reason", p.reason());
        }
        n.put("orphan_chunks", r.orphanChunks());
        n.put("orphan_bytes", r.orphanBytes());
        ArrayNode os = n.putArray("orphans");
        for (ContentHash id : r.orphans()) {
            os.add(id.hex());
        }
        n.put("elapsed_ms", r.elapsedMillis());
        return n;
    }
}
