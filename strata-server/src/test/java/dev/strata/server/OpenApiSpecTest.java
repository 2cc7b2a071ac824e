package dev.strata.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import dev.strata.catalog.Catalogs;
import dev.strata.core.store.local.LocalPackStore;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** docs/openapi.yaml describes exactly the routes {@link ApiServer} registers, with a 2xx and the error shape. */
class OpenApiSpecTest {
    private static final Path SPEC = Path.of("../docs/openapi.yaml");
    private static final Set<String> METHODS = Set.of("get", "put", "post", "delete", "options", "head", "patch", "trace");
    private static final String ERROR_REF = "#/components/schemas/Error";

    @TempDir
    static Path dir;

    static JsonNode spec;
    /** "METHOD /path" to the route the server registers. */
    static Map<String, ApiServer.RouteInfo> routes;

    @BeforeAll
    static void load() throws IOException {
        spec = new YAMLMapper().readTree(SPEC.toFile());
        try (Strata strata = new Strata(LocalPackStore.open(dir.resolve("store")),
                Catalogs.open("sqlite:" + dir.resolve("c.db")), Clock.systemUTC())) {
            ApiServer server = new ApiServer(strata); // never started
            routes = new TreeMap<>();
            for (ApiServer.RouteInfo r : server.routes()) {
                assertEquals(null, routes.put(r.method() + " " + r.openApiPath(), r), "route registered twice: " + r);
            }
        }
    }

    @Test
    void headerAndServer() {
        assertTrue(spec.path("openapi").asText().startsWith("3.1"), "OpenAPI 3.1");
        assertEquals("1.0.0", spec.path("info").path("version").asText());
        assertTrue(spec.path("servers").path(0).path("url").asText().endsWith(ApiServer.PREFIX), "servers carry " + ApiServer.PREFIX);
    }

    @Test
    void specDescribesExactlyTheRegisteredRoutes() {
        assertFalse(routes.isEmpty());
        Set<String> documented = new TreeSet<>(operations().keySet());
        Set<String> missing = new TreeSet<>(routes.keySet());
        missing.removeAll(documented);
        Set<String> extra = new TreeSet<>(documented);
        extra.removeAll(routes.keySet());
        assertTrue(missing.isEmpty(), "registered but not in docs/openapi.yaml: " + missing);
        assertTrue(extra.isEmpty(), "in docs/openapi.yaml but not registered: " + extra);
    }

    @Test
    void openApiPathsAreNormalised() {
        for (String key : routes.keySet()) {
            assertFalse(key.contains("<") || key.contains(">") || key.contains(ApiServer.PREFIX), key);
        }
        assertTrue(routes.containsKey("GET /repos/{owner}/{name}/files/{path}"), routes.keySet().toString());
    }

    @Test
    void everyOperationHasASuccessResponse() {
        operations().forEach((key, op) -> {
            List<String> codes = new ArrayList<>();
            op.path("responses").fieldNames().forEachRemaining(codes::add);
            assertTrue(codes.stream().anyMatch(c -> c.startsWith("2")), key + " declares no 2xx response: " + codes);
        });
    }

    @Test
    void everyRouteButHealthDeclaresTheErrorShapeFor4xx() {
        operations().forEach((key, op) -> {
            if (key.equals("GET /health")) {
                return;
            }
            int fours = 0;
            var it = op.path("responses").properties().iterator();
            while (it.hasNext()) {
                var e = it.next();
                if (!e.getKey().startsWith("4")) {
                    continue;
                }
                fours++;
                JsonNode response = resolve(e.getValue());
                JsonNode schema = response.path("content").path("application/json").path("schema");
                assertEquals(ERROR_REF, schema.path("$ref").asText(), key + " " + e.getKey() + " must use the error schema");
            }
            assertTrue(fours > 0, key + " declares no 4xx response");
        });
    }

    @Test
    void errorSchemaMatchesJsonViews() {
        JsonNode error = resolve(spec.at("/components/schemas/Error"));
        assertEquals(Set.of("error"), names(error.path("properties")));
        JsonNode inner = error.path("properties").path("error");
        assertEquals(Set.of("code", "message"), names(inner.path("properties")));
        JsonNode actual = JsonViews.error("not_found", "x");
        assertEquals(names(inner.path("properties")), names(actual.path("error")));
    }

    @Test
    void pathParametersAreDeclared() {
        Pattern param = Pattern.compile("\\{([^}]+)}");
        spec.path("paths").properties().forEach(p -> {
            Matcher m = param.matcher(p.getKey());
            Set<String> inPath = new TreeSet<>();
            while (m.find()) {
                inPath.add(m.group(1));
            }
            p.getValue().properties().forEach(o -> {
                if (!METHODS.contains(o.getKey())) {
                    return;
                }
                Set<String> declared = new TreeSet<>();
                List<JsonNode> params = new ArrayList<>();
                p.getValue().path("parameters").forEach(params::add);
                o.getValue().path("parameters").forEach(params::add);
                for (JsonNode n : params) {
                    JsonNode r = resolve(n);
                    if ("path".equals(r.path("in").asText())) {
                        declared.add(r.path("name").asText());
                    }
                }
                assertEquals(inPath, declared, o.getKey().toUpperCase(Locale.ROOT) + " " + p.getKey() + " path parameters");
            });
        });
    }

    @Test
    void summariesNameWhatIsCheckedAndAudited() {
        operations().forEach((key, op) -> {
            ApiServer.RouteInfo route = routes.get(key);
            if (route == null || key.equals("GET /health")) {
                return; // an unregistered operation fails specDescribesExactlyTheRegisteredRoutes
            }
            String need = route.need().name().toLowerCase(Locale.ROOT);
            assertTrue(op.path("summary").asText().contains("(needs " + need + ")"),
                    key + " summary should say '(needs " + need + ")': " + op.path("summary").asText());
            assertEquals(route.auditAction(), op.path("x-audit-action").asText(), key + " x-audit-action");
        });
    }

    /** "METHOD /path" to the operation object, for every operation in the spec. */
    private static Map<String, JsonNode> operations() {
        Map<String, JsonNode> ops = new TreeMap<>();
        spec.path("paths").properties().forEach(p -> p.getValue().properties().forEach(o -> {
            if (METHODS.contains(o.getKey())) {
                ops.put(o.getKey().toUpperCase(Locale.ROOT) + " " + p.getKey(), o.getValue());
            }
        }));
        return ops;
    }

    /** Follows local {@code $ref}s; fails on one that does not resolve. */
    private static JsonNode resolve(JsonNode n) {
        for (int i = 0; i < 10 && n.has("$ref"); i++) {
            String ref = n.path("$ref").asText();
            assertTrue(ref.startsWith("#/"), "only local refs: " + ref);
            JsonNode target = spec.at(ref.substring(1));
            assertFalse(target.isMissingNode(), "unresolved $ref " + ref);
            n = target;
        }
        assertNotNull(n);
        return n;
    }

    private static Set<String> names(JsonNode object) {
        Set<String> s = new TreeSet<>();
        object.fieldNames().forEachRemaining(s::add);
        return s;
    }
}
