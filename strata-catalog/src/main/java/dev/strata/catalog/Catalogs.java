package dev.strata.catalog;

import dev.strata.catalog.jdbc.JdbcCatalog;
import dev.strata.core.InvalidInputException;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Opens a catalog from a connection URL, the one string an operator configures:
 * <ul>
 *   <li>{@code sqlite:/var/lib/strata/catalog.db} — the embedded default; the file and its parent
 *       directories are created if missing.</li>
 *   <li>{@code jdbc:postgresql://host:5432/strata?user=strata&password=secret} — scale-out. The
 *       {@code user} and {@code password} parameters are taken out of the URL and handed to the
 *       connection pool separately, so the password never reaches a log line or error message.</li>
 * </ul>
 */
public final class Catalogs {
    private Catalogs() {}

    public static Catalog open(String url) {
        if (url == null || url.isBlank()) {
            throw new InvalidInputException("catalog URL is empty; expected sqlite:/path/to/catalog.db or jdbc:postgresql://host:port/db");
        }
        if (url.startsWith("sqlite:")) {
            String path = url.substring("sqlite:".length());
            if (path.isEmpty()) {
                throw new InvalidInputException("catalog URL 'sqlite:' names no file; expected sqlite:/path/to/catalog.db");
            }
            return JdbcCatalog.sqlite(Path.of(path));
        }
        if (url.startsWith("jdbc:postgresql:")) {
            PostgresUrl pg = PostgresUrl.parse(url);
            return JdbcCatalog.postgres(pg.urlWithoutCredentials(), pg.user(), pg.password());
        }
        throw new InvalidInputException("unsupported catalog URL " + redact(url)
                + "; expected sqlite:/path/to/catalog.db or jdbc:postgresql://host:port/db?user=..&password=..");
    }

    /** The URL with any password parameter masked, for messages. */
    public static String redact(String url) {
        return url == null ? null : url.replaceAll("(?i)([?&;]password=)[^&;#]*", "$1***");
    }

    /** A PostgreSQL JDBC URL split into the part that may be logged and the credentials. */
    record PostgresUrl(String urlWithoutCredentials, String user, String password) {
        @Override
        public String toString() {
            return "PostgresUrl[" + urlWithoutCredentials + ", user=" + user + ", password=" + (password == null ? "none" : "***") + "]";
        }

        static PostgresUrl parse(String url) {
            int q = url.indexOf('?');
            if (q < 0) {
                return new PostgresUrl(url, null, null);
            }
            String user = null;
            String password = null;
            List<String> kept = new ArrayList<>();
            for (String param : url.substring(q + 1).split("&")) {
                if (param.isEmpty()) {
                    continue;
                }
                int eq = param.indexOf('=');
                String key = eq < 0 ? param : param.substring(0, eq);
                String value = eq < 0 ? "" : URLDecoder.decode(param.substring(eq + 1), StandardCharsets.UTF_8);
                switch (key) {
                    case "user" -> user = value;
                    case "password" -> password = value;
                    default -> kept.add(param);
                }
            }
            return new PostgresUrl(url.substring(0, q) + (kept.isEmpty() ? "" : "?" + String.join("&", kept)), user, password);
        }
    }
}
