package dev.strata.cli;

import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.strata.service.RepoRev;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "pull", mixinStandardHelpOptions = true,
        description = {"Download a revision's files, bit-exact: every chunk is verified against its id before the file lands.", "",
                "Into a directory that already holds another version, only the chunks that differ are fetched.",
                "Each file is fsynced before it lands; its pages leave the OS page cache as they reach the disk,",
                "so pulling a checkpoint bigger than free memory does not evict what other work had cached."})
final class PullCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Parameters(paramLabel = "REPO@REV", description = "What to pull (default revision: main).")
    String what;

    @Option(names = {"-o", "--output"}, description = "Target directory (default: the repository's name).")
    Path output;

    @Option(names = "--threads", description = "Parallel chunk fetches and local hashing threads (default: 2 x cores).")
    int threads = 2 * Runtime.getRuntime().availableProcessors();

    @Option(names = "--verify-sha256", description = "Also check each file's whole-file SHA-256 (every chunk is always verified against its id).")
    boolean verifySha256;

    @Override
    public Integer call() throws Exception {
        RepoRev rr = RepoRev.parse(what);
        Path out = output != null ? output : Path.of(rr.repo().substring(rr.repo().indexOf('/') + 1));
        PullOperation.Result r = new PullOperation(server.client(), threads, verifySha256).run(rr.repo(), rr.revOrDefault(), out, !server.json);
        if (server.json) {
            ObjectNode n = StrataClient.JSON.createObjectNode().put("commit", r.commit()).put("files", r.files())
                    .put("unchanged_files", r.skipped()).put("bytes", r.bytes()).put("fetched_bytes", r.fetchedBytes())
                    .put("output", out.toString());
            Cli.printJson(spec, n);
        } else {
            Cli.out(spec).printf("%s -> %s: %d files, %s (%d already up to date, fetched %s)%n", rr, r.commit(), r.files(),
                    Cli.human(r.bytes()), r.skipped(), Cli.human(r.fetchedBytes()));
        }
        return 0;
    }
}
