package dev.strata.service;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Rate limit on failed authentications per client address: after {@code limit} failures within
 * {@code window}, requests with credentials from that address are refused (429) until the oldest
 * failure leaves the window. Memory is bounded: at most {@link #MAX_CLIENTS} addresses are
 * tracked, the table is cleared when it would grow past that.
 */
final class AuthFailures {
    static final int MAX_CLIENTS = 100_000;
    private final int limit;
    private final Duration window;
    private final Clock clock;
    private final Map<String, Deque<Long>> failures = new ConcurrentHashMap<>();

    AuthFailures(int limit, Duration window, Clock clock) {
        this.limit = limit;
        this.window = window;
        this.clock = clock;
    }

    /** Throws if {@code client} is locked out now. */
    void check(String client) {
        Deque<Long> d = failures.get(client);
        if (d == null) {
            return;
        }
        synchronized (d) {
            long now = clock.millis();
            prune(d, now);
            if (d.size() >= limit) {
                long retry = Math.max(1, (d.peekFirst() + window.toMillis() - now + 999) / 1000);
                throw new TooManyRequestsException("too many failed authentications from this address; retry in " + retry + " s", retry);
            }
        }
    }

    void fail(String client) {
        if (failures.size() >= MAX_CLIENTS) {
            failures.clear();
        }
        Deque<Long> d = failures.computeIfAbsent(client, k -> new ArrayDeque<>());
        synchronized (d) {
            long now = clock.millis();
            prune(d, now);
            d.addLast(now);
            while (d.size() > limit) {
                d.removeFirst();
            }
        }
    }

    private void prune(Deque<Long> d, long now) {
        while (!d.isEmpty() && d.peekFirst() <= now - window.toMillis()) {
            d.removeFirst();
        }
    }
}
