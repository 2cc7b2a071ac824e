import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Open-loop load generator for the auth/audit overhead benchmark: GETs the URLs listed in a file
 * (round robin) at a fixed rate, measures latency of each, prints one JSON object.
 *
 * <p>java LoadGen.java URL_LIST_FILE TOKEN|- RATE_PER_S SECONDS WARMUP_SECONDS
 */
public class LoadGen {
    public static void main(String[] a) throws Exception {
        List<String> urls = Files.readAllLines(Path.of(a[0])).stream().filter(s -> !s.isBlank()).toList();
        String token = a[1].equals("-") ? null : a[1];
        int rate = Integer.parseInt(a[2]);
        int seconds = Integer.parseInt(a[3]);
        int warmup = Integer.parseInt(a[4]);
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newVirtualThreadPerTaskExecutor()).connectTimeout(Duration.ofSeconds(5)).build();
        run(http, urls, token, rate, warmup, null);
        System.out.println("MEASURE"); // the caller starts sampling server CPU here
        System.out.flush();
        List<Long> lat = Collections.synchronizedList(new ArrayList<>());
        AtomicLong errors = new AtomicLong();
        long t0 = System.nanoTime();
        long sent = run(http, urls, token, rate, seconds, new Object[] {lat, errors});
        double wall = (System.nanoTime() - t0) / 1e9;
        List<Long> sorted = new ArrayList<>(lat);
        Collections.sort(sorted);
        System.out.printf("{\"sent\": %d, \"ok\": %d, \"errors\": %d, \"wall_s\": %.3f, \"achieved_per_s\": %.1f, "
                        + "\"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"max_ms\": %.3f, \"mean_ms\": %.3f}%n",
                sent, sorted.size(), errors.get(), wall, sorted.size() / wall, pct(sorted, 0.50), pct(sorted, 0.90), pct(sorted, 0.99),
                sorted.isEmpty() ? 0 : sorted.get(sorted.size() - 1) / 1e6,
                sorted.stream().mapToLong(Long::longValue).average().orElse(0) / 1e6);
    }

    @SuppressWarnings("unchecked")
    static long run(HttpClient http, List<String> urls, String token, int rate, int seconds, Object[] sink) throws Exception {
        long total = (long) rate * seconds;
        CountDownLatch done = new CountDownLatch((int) total);
        long start = System.nanoTime();
        long intervalNanos = 1_000_000_000L / rate;
        for (long i = 0; i < total; i++) {
            long due = start + i * intervalNanos;
            long wait = due - System.nanoTime();
            if (wait > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(wait);
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(urls.get((int) (i % urls.size())))).timeout(Duration.ofSeconds(30));
            if (token != null) {
                b.header("Authorization", "Bearer " + token);
            }
            long sentAt = System.nanoTime();
            http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray()).whenComplete((r, e) -> {
                if (sink != null) {
                    if (e == null && r.statusCode() == 200 && r.body().length > 0) {
                        ((List<Long>) sink[0]).add(System.nanoTime() - sentAt);
                    } else {
                        ((AtomicLong) sink[1]).incrementAndGet();
                    }
                }
                done.countDown();
            });
        }
        done.await();
        return total;
    }

    static double pct(List<Long> sorted, double p) {
        if (sorted.isEmpty()) {
            return 0;
        }
        return sorted.get((int) Math.min(sorted.size() - 1, Math.round(p * (sorted.size() - 1)))) / 1e6;
    }
}
