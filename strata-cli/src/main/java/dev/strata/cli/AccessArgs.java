package dev.strata.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.Map;
import java.util.regex.Pattern;

/** Argument handling shared by the access-control commands (user, group, token, member, protect, grant, audit). */
final class AccessArgs {
    /** A relative expiry as the server's {@code expires_in} takes it: days, hours or minutes. */
    private static final Pattern RELATIVE = Pattern.compile("[1-9][0-9]*[dhm]");

    private AccessArgs() {}

    /**
     * The body field an {@code --expires} value travels in: {@code expires_in} for 90d, 12h, 30m;
     * {@code expires_at} for anything else (an ISO-8601 instant, which the server validates).
     */
    static String expiryField(String value) {
        return RELATIVE.matcher(value).matches() ? "expires_in" : "expires_at";
    }

    /** Puts {@code --expires} into a request body; nothing when it was not given. */
    static ObjectNode putExpiry(ObjectNode body, String value) {
        if (value != null) {
            body.put(expiryField(value), value);
        }
        return body;
    }

    /** "?k=v&..." from the non-null entries, values percent-encoded; "" when none. */
    static String query(Map<String, ?> params) {
        StringBuilder b = new StringBuilder();
        params.forEach((k, v) -> {
            if (v != null) {
                b.append(b.isEmpty() ? '?' : '&').append(k).append('=').append(StrataClient.q(String.valueOf(v)));
            }
        });
        return b.toString();
    }

    /** A text field, or "-" when absent or null. */
    static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() || v.asText().isEmpty() ? "-" : v.asText();
    }

    /** The elements of a JSON array joined with ", ", or "-" when empty. */
    static String joined(JsonNode array) {
        StringBuilder b = new StringBuilder();
        array.forEach(e -> b.append(b.isEmpty() ? "" : ", ").append(e.asText()));
        return b.isEmpty() ? "-" : b.toString();
    }

    /** "revoked", "expired" or "active" from a record's {@code revoked_at} and {@code expires_at}. */
    static String status(JsonNode n) {
        if (!n.path("revoked_at").isNull() && !n.path("revoked_at").isMissingNode()) {
            return "revoked";
        }
        JsonNode exp = n.path("expires_at");
        if (exp.isTextual()) {
            try {
                if (!Instant.now().isBefore(Instant.parse(exp.asText()))) {
                    return "expired";
                }
            } catch (DateTimeParseException e) {
                return "active";
            }
        }
        return "active";
    }
}
