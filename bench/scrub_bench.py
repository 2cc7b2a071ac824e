#!/usr/bin/env python3
"""Strata scrub benchmark: how fast a scrub verifies a store, and what a rate-limited scrub costs a pull.

For each store kind (local packs; erasure-coded 4+2 over six directories, all on the same disk in
bench/out) a fresh server (background scrub off) gets one pushed checkpoint (~512 MiB of BF16
safetensors, checkpoint 0 of a generated series) and a `strata compact` (so the background compactor
has nothing left to do while we measure). Then:

  1. `strata scrub --json` (unlimited) REPS times: MB/s = bytes read from disk (`bytes_checked`,
     parity shards included) / the pass's `elapsed_ms`. The data was just written and is in the page
     cache (we never drop caches), so this is the verification cost (CRC32C of every shard or entry;
     for local packs also decoding and the chunk id) rather than the disk's speed.
  2. `strata pull`, PULLS pairs: one pull without a scrub, one while a scrub at RATE MB/s
     (`POST /api/v1/admin/scrub?rate_mb=RATE`, what `strata scrub --rate-mb` sends) runs on the server (two passes requested back to back, so it runs without a gap; a sample
     counts only if a pass still ran when the pull ended). Interleaved, so drift in the machine hits
     both sides. Slowdown = median with scrub / median without - 1. Goal: at most 10 %. Each pull is
     timed from process start to exit + sync (as in transfer_bench.py) into a fresh directory, after
     one warm-up pull, and checked bit-exact.

JSON on stdout, a summary on stderr.

Usage: bench/scrub_bench.py [--size-mib 512] [--reps 3] [--pulls 5] [--rate-mb 50] [--xmx 1g] [--src DIR]
       [--stores local,ec]
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (ROOT, OUT, TOKENS, Server, dir_bytes, du_bytes, ensure_series, log, machine, median,  # noqa
                      rmtree, strata, warm)

GOAL_SLOWDOWN = 0.10


def scrub_status(url):
    """GET /api/v1/admin/scrub directly (no client JVM start-up between pulls)."""
    token = open(TOKENS[url]).read().strip()
    req = urllib.request.Request(url + "/api/v1/admin/scrub", headers={"Authorization": "Bearer " + token})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())


class ScrubRequest(threading.Thread):
    """POST /api/v1/admin/scrub?rate_mb=RATE in a thread (no client JVM competing with the pulls)."""

    def __init__(self, url, rate):
        super().__init__(daemon=True)
        self.url, self.rate, self.report, self.error = url, rate, None, None
        self.start()

    def run(self):
        try:
            token = open(TOKENS[self.url]).read().strip()
            req = urllib.request.Request(f"{self.url}/api/v1/admin/scrub?rate_mb={self.rate}", data=b"{}", method="POST",
                                         headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=3600) as resp:
                self.report = json.loads(resp.read())
        except Exception as e:  # noqa: BLE001 - reported by result()
            self.error = e

    def result(self):
        self.join()
        if self.error:
            raise self.error
        return self.report


def wait_running(url, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        s = scrub_status(url)
        if s["running"]:
            return s
        time.sleep(0.2)
    raise RuntimeError("scrub did not start")


def pull(srv, src, dst, cpu):
    """Timed pull; appends (client CPU s, server CPU s) to cpu."""
    rmtree(dst)
    os.sync()
    c0 = srv.cpu()
    t, _, client = strata(["pull", "bench/scrub@main", "-o", dst, "--json"], srv.url)
    cpu.append((client, srv.cpu() - c0))
    subprocess.run(["diff", "-r", "-q", src, dst], check=True)  # bit-exact (not timed)
    rmtree(dst)
    return t


def run_store(kind, src, nbytes, work, a):
    data = os.path.join(work, f"{kind}-data")
    disks = [os.path.join(work, f"{kind}-disk{i}") for i in range(6)]
    for p in [data, *disks]:
        rmtree(p)
    args = ["--scrub-rate-mb", "0"]
    if kind == "ec":
        args += ["--chunk-dirs", ",".join(disks), "--erasure", "4+2"]
    os.environ["STRATA_CACHE_DIR"] = os.path.join(work, f"{kind}-cache")
    rmtree(os.environ["STRATA_CACHE_DIR"])
    srv = Server(data, xmx=a.xmx, args=args)
    r = {"store": "erasure-coded 4+2 over 6 directories (one disk)" if kind == "ec" else "local packs"}
    try:
        url = srv.url
        strata(["repo", "create", "bench/scrub"], url, sync=False)
        r["push_s"], _, _ = strata(["push", src, "bench/scrub@main", "--json"], url)
        r["compact_s"], out, _ = strata(["compact", "--json"], url)
        r["stored_bytes"] = du_bytes(data) + (sum(du_bytes(d) for d in disks) if kind == "ec" else 0)
        log(f"[{kind}] pushed {nbytes / 2**20:.0f} MiB in {r['push_s']:.1f} s, compacted in {r['compact_s']:.1f} s; "
            f"stored {r['stored_bytes'] / 2**20:.0f} MiB")

        passes = []
        for i in range(a.reps):
            t, out, _ = strata(["scrub", "--json"], url, sync=False)
            j = json.loads(out)
            assert j["clean"] and j["complete"], j
            passes.append({"chunks": j["chunks_checked"], "bytes_checked": j["bytes_checked"],
                           "elapsed_ms": j["elapsed_ms"], "mbps": round(j["bytes_checked"] / j["elapsed_ms"] / 1e3, 1),
                           "command_s": round(t, 3)})
            log(f"[{kind}] scrub {i}: {passes[-1]}")
        r["scrub_unlimited"] = passes
        r["scrub_unlimited_mbps_median"] = median([p["mbps"] for p in passes])
        t, out, _ = strata(["fsck", "--json"], url, sync=False)
        fj = json.loads(out)
        assert fj["clean"], fj
        r["fsck_s"] = round(t, 3)
        r["fsck_chunks"] = fj["chunks_verified"]

        dst = os.path.join(work, f"{kind}-pull")
        pull(srv, src, dst, [])  # warm-up, not counted
        without, during, reports = [], [], []
        cpu_without, cpu_during = [], []
        redone = 0
        # Interleaved: a pull without scrub, then one while a scrub runs, PULLS times (drift hits both).
        # For the second, two rate-limited passes are requested back to back (the second waits for the
        # first), so the scrub runs without a gap for two pass lengths; the sample counts only if a pass
        # was still running when the pull ended. Then both passes are let finish (there is no cancel).
        while len(during) < a.pulls:
            if not scrub_status(url)["running"]:
                without.append(pull(srv, src, dst, cpu_without))
            procs = [ScrubRequest(url, a.rate_mb)]
            wait_running(url)
            procs.append(ScrubRequest(url, a.rate_mb))
            cpu = []
            t = pull(srv, src, dst, cpu)
            if scrub_status(url)["running"]:
                during.append(t)
                cpu_during.extend(cpu)
            else:
                redone += 1
                if redone > a.pulls + 3:
                    raise RuntimeError("two scrub passes end before one pull does: use a lower --rate-mb or more data")
            for p in procs:
                reports.append(p.result())
            log(f"[{kind}] pair {len(during)}: without {without[-1]:.3f} s, with scrub {t:.3f} s")
        observed = sum(x["bytes_checked"] for x in reports) / sum(x["elapsed_ms"] for x in reports) / 1e3
        base = median(without)
        med = median(during)
        r.update({
            "pull_without_scrub_s": [round(x, 3) for x in without],
            "pull_with_scrub_s": [round(x, 3) for x in during],
            "pull_without_scrub_median_s": round(base, 3),
            "pull_with_scrub_median_s": round(med, 3),
            "pull_mbps_without_scrub": round(nbytes / base / 1e6, 1),
            "pull_mbps_with_scrub": round(nbytes / med / 1e6, 1),
            "pull_client_cpu_s_median": {"without": round(median([c for c, _ in cpu_without]), 2),
                                         "with_scrub": round(median([c for c, _ in cpu_during]), 2)},
            "server_cpu_s_during_pull_median": {"without": round(median([s for _, s in cpu_without]), 2),
                                                "with_scrub": round(median([s for _, s in cpu_during]), 2)},
            "scrub_rate_mb": a.rate_mb,
            "scrub_observed_mbps": round(observed, 1),
            "rate_limited_passes": len(reports),
            "rate_limited_passes_clean": all(x["clean"] for x in reports),
            "samples_redone": redone,
            "pull_slowdown": round(med / base - 1, 4),
            "goal": {"goal": f"pull slowdown <= {GOAL_SLOWDOWN:.0%}", "met": med / base - 1 <= GOAL_SLOWDOWN},
            "heap": srv.heap_report(),
        })
    finally:
        srv.stop()
    for p in [data, *disks]:
        rmtree(p)
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mib", type=float, default=512)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3, help="unlimited scrub passes per store")
    ap.add_argument("--pulls", type=int, default=5, help="pairs of pulls (without, with a scrub)")
    ap.add_argument("--rate-mb", type=float, default=50, help="the rate-limited scrub's budget, MB/s")
    ap.add_argument("--xmx", default="1g", help="server heap (-Xmx), default 1g")
    ap.add_argument("--src", help="directory to push (default: checkpoint 0 of a generated series)")
    ap.add_argument("--stores", default="local,ec")
    a = ap.parse_args()

    work = os.path.join(OUT, "scrub")
    os.makedirs(work, exist_ok=True)
    if a.src:
        src = os.path.abspath(a.src)
    else:
        series = os.path.join(OUT, f"series-{int(a.size_mib)}-1")
        ensure_series(series, 1, a.size_mib, a.seed)
        src = os.path.join(series, "ckpt-000")
    nbytes = dir_bytes(src)
    warm(src)
    log(f"scrub_bench: {src} ({nbytes / 2**20:.1f} MiB)")
    result = {"bench": "scrub", "machine": machine(), "source": os.path.relpath(src, ROOT), "bytes": nbytes,
              "command": "bench/scrub_bench.py " + " ".join(sys.argv[1:]),
              "timing": "scrub MB/s: bytes read from disk / pass elapsed (server-side), page cache warm; "
                        "pulls: wall seconds, process start to exit + sync, medians",
              "stores": {}}
    for kind in a.stores.split(","):
        result["stores"][kind] = run_store(kind, src, nbytes, work, a)
    log("")
    log(f"{'store':<8}{'scrub MB/s':>12}{'pull s':>10}{'pull s (scrub)':>16}{'slowdown':>10}")
    for kind, r in result["stores"].items():
        log(f"{kind:<8}{r['scrub_unlimited_mbps_median']:>12.1f}{r['pull_without_scrub_median_s']:>10.3f}"
            f"{r['pull_with_scrub_median_s']:>16.3f}{r['pull_slowdown']:>10.1%}")
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
