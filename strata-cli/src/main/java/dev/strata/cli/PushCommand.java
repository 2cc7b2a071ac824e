package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.core.InvalidInputException;
import dev.strata.service.RepoRev;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "push", mixinStandardHelpOptions = true,
        description = {"Commit a file or a directory to a branch, sending only chunks the server lacks.", "",
                "Files not in SOURCE stay as they were on the branch (use --delete or --sync to remove them).",
                "An interrupted push can simply be run again: chunks already on the server are not resent.",
                "The branch is created if it does not exist (the commit then has no parent; fork with `strata branch create`)."})
final class PushCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Parameters(index = "0", paramLabel = "SOURCE", description = "A file or a directory.")
    Path source;

    @Parameters(index = "1", paramLabel = "REPO@BRANCH", description = "Target repository and branch (default branch: main).")
    String target;

    @Option(names = {"-m", "--message"}, description = "Commit message (default: 'push SOURCE').")
    String message;

    @Option(names = "--step", description = "Training step of this checkpoint.")
    Long step;

    @Option(names = "--metric", paramLabel = "NAME=NUMBER", description = "A metric (repeatable), e.g. val/acc=0.71.")
    Map<String, Double> metrics;

    @Option(names = "--meta", paramLabel = "KEY=VALUE", description = "Free-form metadata (repeatable): dataset=..., code_commit=..., hardware=...")
    Map<String, String> meta;

    @Option(names = "--config", paramLabel = "FILE", description = "Training config file stored in the commit's metadata (at most 1 MiB).")
    Path config;

    @Option(names = "--lineage", paramLabel = "RELATION=REPO@REV",
            description = "This commit derives from another (repeatable): base_model, finetune_of, adapter_of, quantized_from, resumed_from.")
    Map<String, String> lineage;

    @Option(names = "--delete", paramLabel = "PATH", description = "Remove a path from the branch in this commit (repeatable).")
    List<String> deletes = new ArrayList<>();

    @Option(names = "--sync", description = "Make the branch contain exactly the files of SOURCE (others are deleted).")
    boolean sync;

    @Option(names = "--author", description = "Author (default: $USER).")
    String author;

    @Option(names = "--threads", description = "Chunking and upload threads (default: number of cores).")
    int threads = Runtime.getRuntime().availableProcessors();

    @Option(names = "--no-cache", description = "Re-read and re-hash every file, ignoring the cache of unchanged files (~/.cache/strata).")
    boolean noCache;

    /** When chunks are compressed for the wire; the server stores what it receives and compacts later. */
    enum WireCompression { auto, always, never }

    @Option(names = "--compress", paramLabel = "WHEN",
            description = {"Compress chunks (zstd-1) for the wire: auto (default: not when the server is on this machine,",
                    "where compression costs more CPU than the link saves), always, never. Storage compression is the server's job."})
    WireCompression compress = WireCompression.auto;

    boolean compressOnWire(String url) {
        return switch (compress) {
            case always -> true;
            case never -> false;
            case auto -> !isLocal(java.net.URI.create(url).getHost());
        };
    }

    static boolean isLocal(String host) {
        if (host == null) {
            return false;
        }
        String h = host.startsWith("[") ? host.substring(1, host.length() - 1) : host;
        return h.equals("localhost") || h.startsWith("127.") || h.equals("::1");
    }

    @Override
    public Integer call() throws Exception {
        RepoRev rr = RepoRev.parse(target);
        if (!Files.exists(source)) {
            throw new InvalidInputException("source " + source + " does not exist");
        }
        ObjectNode metadata = StrataClient.JSON.createObjectNode();
        if (meta != null) {
            meta.forEach(metadata::put);
        }
        if (config != null) {
            if (Files.size(config) > (1 << 20)) {
                throw new InvalidInputException("config file " + config + " is larger than 1 MiB");
            }
            metadata.putObject("config").put("file", config.getFileName().toString())
                    .put("content", Files.readString(config, StandardCharsets.UTF_8));
        }
        PushOperation.Request req = new PushOperation.Request(source, rr.repo(), rr.revOrDefault(),
                message != null ? message : "push " + source.getFileName(), author != null ? author : System.getProperty("user.name"),
                step, metrics == null ? Map.of() : metrics, metadata, lineage == null ? Map.of() : lineage, deletes, sync, threads,
                compressOnWire(server.client().baseUrl()), !noCache);
        PushOperation.Result result = new PushOperation(server.client()).run(req, !server.json);
        if (server.json) {
            Cli.printJson(spec, result.toJson());
        } else {
            JsonNode c = result.commit();
            Cli.out(spec).printf("%s@%s -> %s%n  %d files (%d changed, %d unchanged), %s logical; sent %s in %d new chunks (%d chunks already on the server)%n",
                    rr.repo(), rr.revOrDefault(), c.path("id").asText(), result.files(), result.changedFiles(),
                    result.files() - result.changedFiles(), Cli.human(result.logicalBytes()), Cli.human(result.sentBytes()),
                    result.sentChunks(), result.knownChunks());
        }
        return 0;
    }
}
