package dev.strata.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import com.fasterxml.jackson.databind.node.ObjectNode;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The argument helpers of the access-control commands, without a server. */
class AccessArgsTest {
    @Test
    void durationsTravelAsExpiresInAndEverythingElseAsExpiresAt() {
        for (String in : new String[] {"90d", "12h", "30m", "1d", "100000m"}) {
            assertEquals("expires_in", AccessArgs.expiryField(in), in);
        }
        // Not a duration the server takes: sent as an instant, which the server validates (and refuses if bad).
        for (String at : new String[] {"2026-12-31T00:00:00Z", "0d", "07d", "90", "1w", "90D", "d", "-1d", "1.5h", " 90d", ""}) {
            assertEquals("expires_at", AccessArgs.expiryField(at), at);
        }
    }

    @Test
    void putExpiryAddsOneFieldOrNone() {
        ObjectNode body = AccessArgs.putExpiry(StrataClient.JSON.createObjectNode(), "7d");
        assertEquals("{\"expires_in\":\"7d\"}", body.toString());
        body = AccessArgs.putExpiry(StrataClient.JSON.createObjectNode(), "2026-01-01T00:00:00Z");
        assertEquals("{\"expires_at\":\"2026-01-01T00:00:00Z\"}", body.toString());
        assertFalse(AccessArgs.putExpiry(StrataClient.JSON.createObjectNode(), null).fieldNames().hasNext());
    }

    @Test
    void queryEncodesValuesAndSkipsMissingOnes() {
        Map<String, Object> q = new LinkedHashMap<>();
        assertEquals("", AccessArgs.query(q));
        q.put("repo", "lab/chimera");
        q.put("principal", null);
        q.put("since", "2026-11-21T10:00:00Z");
        q.put("after", 42L);
        q.put("user", "*");
        assertEquals("?repo=lab%2Fchimera&since=2026-11-21T10%3A00%3A00Z&after=42&user=*", AccessArgs.query(q));
    }

    @Test
    void statusOfTokensAndGrants() {
        ObjectNode n = StrataClient.JSON.createObjectNode().putNull("revoked_at").putNull("expires_at");
        assertEquals("active", AccessArgs.status(n));
        n.put("expires_at", Instant.now().plusSeconds(3600).toString());
        assertEquals("active", AccessArgs.status(n));
        n.put("expires_at", Instant.now().minusSeconds(1).toString());
        assertEquals("expired", AccessArgs.status(n));
        n.put("revoked_at", Instant.now().toString());
        assertEquals("revoked", AccessArgs.status(n));
    }
}
