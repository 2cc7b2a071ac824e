package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import dev.strata.core.InvalidInputException;
import dev.strata.service.RepoRev;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

@Command(name = "diff", mixinStandardHelpOptions = true,
        description = {"Compare two revisions of one repository: files added, removed and modified, with sizes and new bytes.",
                "With --tensors, model files (safetensors, torch.save, GGUF) are also compared tensor by tensor."})
final class DiffCommand implements Callable<Integer> {
    @Spec CommandSpec spec;
    @Mixin Cli.ServerOptions server = new Cli.ServerOptions();
    @Parameters(index = "0", paramLabel = "REPO@FROM") String from;
    @Parameters(index = "1", paramLabel = "REPO@TO") String to;
    @Option(names = "--tensors", description = {"For modified model files: each tensor unchanged, changed, added or removed, and for",
            "a changed one the relative norm of the change, |new - old| / |old| (reads the changed tensors)."})
    boolean tensors;

    @Override
    public Integer call() {
        RepoRev a = RepoRev.parse(from), b = RepoRev.parse(to);
        if (!a.repo().equals(b.repo())) {
            throw new InvalidInputException("diff compares revisions of one repository");
        }
        JsonNode d = server.client().get(StrataClient.repoPath(a.repo()) + "/diff?from=" + StrataClient.q(a.revOrDefault())
                + "&to=" + StrataClient.q(b.revOrDefault()) + (tensors ? "&tensors=true" : ""));
        if (server.json) {
            Cli.printJson(spec, d);
            return 0;
        }
        for (JsonNode f : d.path("files")) {
            String status = f.path("status").asText();
            String sizes = switch (status) {
                case "added" -> Cli.human(f.path("new_size").asLong());
                case "removed" -> Cli.human(f.path("old_size").asLong());
                default -> Cli.human(f.path("old_size").asLong()) + " -> " + Cli.human(f.path("new_size").asLong())
                        + ", " + Cli.human(f.path("new_chunk_bytes").asLong()) + " in new chunks";
            };
            Cli.out(spec).printf("%s %s (%s)%n", status.charAt(0) == 'a' ? "A" : status.charAt(0) == 'r' ? "D" : "M", f.path("path").asText(), sizes);
            int same = 0;
            for (JsonNode t : f.path("tensors")) {
                String ts = t.path("status").asText();
                if (ts.equals("unchanged")) {
                    same++;
                    continue;
                }
                String rel = t.has("relative_change") ? String.format(", relative change %.3g", t.path("relative_change").asDouble()) : "";
                Cli.out(spec).printf("    %s %s %s %s%s%n", ts.equals("changed") ? "~" : ts.equals("added") ? "+" : "-",
                        t.path("name").asText(), t.path("dtype").asText(), t.path("shape"), rel);
            }
            if (f.has("tensors")) {
                Cli.out(spec).printf("    %d tensors unchanged%n", same);
            }
        }
        Cli.out(spec).printf("%d added, %d removed, %d modified, %d unchanged; %s in new chunks%n", d.path("added").asInt(),
                d.path("removed").asInt(), d.path("modified").asInt(), d.path("unchanged").asInt(), Cli.human(d.path("new_chunk_bytes").asLong()));
        return 0;
    }
}
