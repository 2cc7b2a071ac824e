package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;

/** Human-readable rendering of commits, shared by log, show and find. */
final class Commits {
    private Commits() {}

    static void print(PrintWriter out, JsonNode c) {
        out.printf("commit %s%n", c.path("id").asText());
        if (c.path("parents").size() > 0) {
            List<String> p = new ArrayList<>();
            c.path("parents").forEach(n -> p.add(n.asText().substring(0, 12)));
            out.printf("parents %s%n", String.join(" ", p));
        }
        out.printf("author  %s%ndate    %s%n", c.path("author").asText(), c.path("created_at").asText());
        if (!c.path("step").isNull() && !c.path("step").isMissingNode()) {
            out.printf("step    %d%n", c.path("step").asLong());
        }
        if (c.path("metrics").size() > 0) {
            List<String> m = new ArrayList<>();
            c.path("metrics").properties().forEach(e -> m.add(e.getKey() + "=" + e.getValue().asText()));
            out.printf("metrics %s%n", String.join(" ", m));
        }
        if (c.path("expired").asBoolean()) {
            out.println("expired (data reclaimed)");
        }
        out.printf("%n    %s%n%n", c.path("message").asText().replace("\n", "\n    "));
    }
}
