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
 * Open-loop load generator for the auth/audit overhead benchmark. Serves several targets (a
 * server: URL list, token, pid) in alternating short slices at a fixed request rate, so that
 * machine noise (other processes on a shared 2-core box) falls on all targets alike. Per slice
 * it waits for every response, then reads the target server's CPU time from /proc. Prints one
 * JSON object with, per target, latency percentiles and server CPU per request.
 *
 * <p>java LoadGen.java RATE SLICE_SECONDS SLICES WARMUP_SLICES URLS1 TOKEN1|- PID1 [URLS2 TOKEN2 PID2 ...]
 */
public class LoadGen {
    record Target(List<String> urls, String token, long pid, List<Long> latencies, AtomicLong errors, List<Double> cpuPerReq) {}

    public static void main(String[] a) throws Exception {
        int rate = Integer.parseInt(a[0]);
        int sliceSeconds = Integer.parseInt(a[1]);
        int slices = Integer.parseInt(a[2]);
        int warmup = Integer.parseInt(a[3]);
        List<Target> targets = new ArrayList<>();
        for (int i = 4; i + 2 < a.length; i += 3) {
            targets.add(new Target(Files.readAllLines(Path.of(a[i])).stream().filter(s -> !s.isBlank()).toList(),
                    a[i + 1].equals("-") ? null : a[i + 1], Long.parseLong(a[i + 2]),
                    Collections.synchronizedList(new ArrayList<>()), new AtomicLong(), new ArrayList<>()));
        }
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
                .executor(Executors.newVirtualThreadPerTaskExecutor()).connectTimeout(Duration.ofSeconds(5)).build();
        for (int s = 0; s < warmup + slices; s++) {
            for (Target t : targets) {
                boolean measured = s >= warmup;
                double cpu0 = cpuSeconds(t.pid());
                long ok = slice(http, t, rate, sliceSeconds, measured);
                double cpu1 = cpuSeconds(t.pid());
                if (measured) {
                    t.cpuPerReq().add(1e6 * (cpu1 - cpu0) / Math.max(1, ok));
                }
            }
        }
        StringBuilder out = new StringBuilder("[");
        for (Target t : targets) {
            List<Long> sorted = new ArrayList<>(t.latencies());
            Collections.sort(sorted);
            List<Double> cpu = new ArrayList<>(t.cpuPerReq());
            Collections.sort(cpu);
            out.append(out.length() > 1 ? ", " : "").append(String.format(
                    "{\"ok\": %d, \"errors\": %d, \"p50_ms\": %.3f, \"p90_ms\": %.3f, \"p99_ms\": %.3f, \"mean_ms\": %.3f, "
                            + "\"server_cpu_us_per_req_median\": %.1f, \"server_cpu_us_per_req_slices\": %s}",
                    sorted.size(), t.errors().get(), pct(sorted, 0.5), pct(sorted, 0.9), pct(sorted, 0.99),
                    sorted.stream().mapToLong(Long::longValue).average().orElse(0) / 1e6, cpu.get(cpu.size() / 2),
                    t.cpuPerReq().stream().map(d -> String.format("%.1f", d)).toList()));
        }
        System.out.println(out.append("]"));
    }

    /** One slice: {@code rate * seconds} requests at a fixed pace; returns how many succeeded. */
    static long slice(HttpClient http, Target t, int rate, int seconds, boolean measured) throws Exception {
        int total = rate * seconds;
        CountDownLatch done = new CountDownLatch(total);
        AtomicLong ok = new AtomicLong();
        long start = System.nanoTime();
        long interval = 1_000_000_000L / rate;
        for (int i = 0; i < total; i++) {
            long wait = start + i * interval - System.nanoTime();
            if (wait > 0) {
                java.util.concurrent.locks.LockSupport.parkNanos(wait);
            }
            HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(t.urls().get(i % t.urls().size()))).timeout(Duration.ofSeconds(60));
            if (t.token() != null) {
                b.header("Authorization", "Bearer " + t.token());
            }
            long sentAt = System.nanoTime();
            http.sendAsync(b.build(), HttpResponse.BodyHandlers.ofByteArray()).whenComplete((r, e) -> {
                if (e == null && r.statusCode() == 200 && r.body().length > 0) {
                    ok.incrementAndGet();
                    if (measured) {
                        t.latencies().add(System.nanoTime() - sentAt);
                    }
                } else if (measured) {
                    t.errors().incrementAndGet();
                }
                done.countDown();
            });
        }
        done.await();
        return ok.get();
    }

    static double cpuSeconds(long pid) throws Exception {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return (Long.parseLong(f[11]) + Long.parseLong(f[12])) / 100.0; // USER_HZ
    }

    static double pct(List<Long> sorted, double p) {
        return sorted.isEmpty() ? 0 : sorted.get((int) Math.min(sorted.size() - 1, Math.round(p * (sorted.size() - 1)))) / 1e6;
    }
}
