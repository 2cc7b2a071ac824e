package dev.strata.cli;

import dev.strata.core.Names;
import dev.strata.service.RepoRev;
import java.io.InputStream;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "cat", mixinStandardHelpOptions = true,
        description = "Write one file of a revision (or a byte range of it) to standard output.")
final class CatCommand implements Callable<Integer> {
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @picocli.CommandLine.ParentCommand Main main;

    @Parameters(index = "0", paramLabel = "REPO@REV") String what;
    @Parameters(index = "1", paramLabel = "PATH") String path;

    @Option(names = "--range", paramLabel = "START-END", description = "Inclusive byte range, as in HTTP: 0-1023, 4096-, -512.")
    String range;

    @Override
    public Integer call() throws Exception {
        RepoRev rr = RepoRev.parse(what);
        StrataClient.Streamed r = server.client().stream(StrataClient.repoPath(rr.repo()) + "/files/"
                + StrataClient.encodePath(Names.path(path)) + "?rev=" + StrataClient.q(rr.revOrDefault()),
                range == null ? null : "bytes=" + range);
        try (InputStream in = r.body()) {
            in.transferTo(main.stdout);
        }
        main.stdout.flush();
        return 0;
    }
}
