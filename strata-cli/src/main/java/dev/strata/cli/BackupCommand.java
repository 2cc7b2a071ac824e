package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

@Command(name = "backup", mixinStandardHelpOptions = true,
        description = {"Back up the embedded SQLite catalog online, while the server keeps serving (server admins).", "",
                "The server writes one consistent snapshot (SQLite VACUUM INTO) to DATA/backups/catalog-<UTC time>.db, or "
                        + "DATA/backups/NAME with --to, and this prints the file. Chunks are not copied: back up the chunk "
                        + "directories too. Restore with the server stopped: `strata restore-catalog FILE --data DIR`. "
                        + "A PostgreSQL catalog is backed up with pg_dump instead."})
final class BackupCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();

    @Option(names = "--to", paramLabel = "NAME", description = "File name inside the server's DATA/backups (no path).")
    String to;

    @Override
    public Integer call() {
        JsonNode r = server.client().post("/api/v1/admin/backup" + (to == null ? "" : "?to=" + StrataClient.q(to)),
                StrataClient.JSON.createObjectNode());
        if (server.json) {
            Cli.printJson(spec, r);
        } else {
            PrintWriter out = Cli.out(spec);
            out.printf("%s%n", r.path("file").asText());
            out.flush();
            PrintWriter err = spec.commandLine().getErr();
            err.printf("catalog backup: %s in %.2f s%n", Cli.human(r.path("bytes").asLong()), r.path("seconds").asDouble());
            err.flush();
        }
        return 0;
    }
}
