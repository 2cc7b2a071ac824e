#!/usr/bin/env python3
"""Strata transfer benchmark: push / re-push / pull of one checkpoint directory against `cp -r` and
`borg create`, all on the same disk (bench/out). JSON on stdout, a human table on stderr.

Every timed command is measured from process start to exit followed by `sync` (so the JVM start-up of
the Strata client is inside; the Strata server fsyncs a push's chunks before it stores the push's
manifests, and a pull fsyncs the file before it lands, so the baseline `cp -r` and borg pay for durability
too). Sources are in the page cache (read once before;
caches are never dropped). Each repetition gets a fresh Strata server (new data dir, so "new data" is
really new) and a fresh borg repository. A Strata server is a long-running daemon, so before anything is
timed each fresh server is warmed up (its JIT) by one push and one pull of an unrelated 256 MiB model into
another repository (`--no-server-warmup` times a cold server, as runs before 2026-11-22d did). Ratios use
the median of the repetitions (best also given).

Usage: bench/transfer_bench.py [--reps 3] [--size-mib 256] [--xmx 1g] [--src DIR] [--profile]
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import (ROOT, OUT, STRATA, Server, dir_bytes, du_bytes, ensure_python, ensure_series, log, machine,  # noqa
                      median, rmtree, strata, timed, warm)

GOALS = {"push_new_over_cp": ("<=", 2.0), "push_known_over_cp": ("<=", 0.8), "pull_over_cp": ("<=", 1.3),
         "push_mbps_over_borg_mbps": (">=", 4.0)}


def met(name, v):
    op, g = GOALS[name]
    return v <= g if op == "<=" else v >= g


def borg_env(base):
    return dict(os.environ, BORG_BASE_DIR=base, BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes",
                BORG_RELOCATED_REPO_ACCESS_IS_OK="yes")


def borg_once(src, work, compression):
    rmtree(work)
    os.makedirs(work)
    env = borg_env(os.path.join(work, "base"))
    repo = os.path.join(work, "repo")
    subprocess.run(["borg", "init", "--encryption", "none", repo], env=env, check=True, capture_output=True)
    os.sync()
    t, _, cpu = timed(["borg", "create", "--compression", compression, f"{repo}::a", "."], env=env, cwd=src)
    size = du_bytes(repo)
    rmtree(work)
    return t, cpu, size


def warmup_source():
    """A 256 MiB model with its own tensors (no chunk in common with the measured source)."""
    out = os.path.join(OUT, "warmup-256")
    if not os.path.exists(os.path.join(out, "model.safetensors")):
        subprocess.run([ensure_python(), os.path.join(ROOT, "bench", "gen_safetensors.py"), "single", "--out", out,
                        "--size-mib", "256", "--seed", "99"], check=True)
    return out


def warm_server(srv, work, wsrc):
    """One untimed push and pull of another model into another repository: the server's JIT warms up."""
    strata(["repo", "create", "bench/warmup"], srv.url, sync=False)
    strata(["push", wsrc, "bench/warmup@main", "--json"], srv.url, sync=False)
    wdst = os.path.join(work, "warmup-pull")
    rmtree(wdst)
    strata(["pull", "bench/warmup@main", "-o", wdst, "--json"], srv.url, sync=False)
    rmtree(wdst)


def one_rep(i, src, work, xmx, nbytes, wsrc=None):
    r = {}
    # cp -r baseline
    dst = os.path.join(work, "cp")
    rmtree(dst)
    os.sync()
    r["cp_s"], _, _ = timed(["cp", "-r", src, dst])
    rmtree(dst)
    os.sync()
    # strata: fresh server, and a fresh client cache of chunked files (a first push has never hashed these files)
    data = os.path.join(work, f"strata-data-{i}")
    rmtree(data)
    cache = os.path.join(work, f"strata-cache-{i}")
    rmtree(cache)
    os.environ["STRATA_CACHE_DIR"] = cache
    srv = Server(data, xmx=xmx)
    try:
        if wsrc:
            warm_server(srv, work, wsrc)
        strata(["repo", "create", "bench/ckpt"], srv.url, sync=False)
        c0 = srv.cpu()
        r["push_new_s"], out, r["push_new_client_cpu_s"] = strata(
            ["push", src, "bench/ckpt@main", "--json"], srv.url)
        r["push_new_server_cpu_s"] = srv.cpu() - c0
        pj = json.loads(out)
        r["push_new_sent_bytes"] = pj["sent_bytes"]
        c0 = srv.cpu()
        r["push_known_s"], out, r["push_known_client_cpu_s"] = strata(
            ["push", src, "bench/ckpt@other", "--json"], srv.url)
        r["push_known_server_cpu_s"] = srv.cpu() - c0
        r["push_known_sent_bytes"] = json.loads(out)["sent_bytes"]
        # the same, re-reading and re-hashing every file (no client cache of unchanged files)
        r["push_known_nocache_s"], out, r["push_known_nocache_client_cpu_s"] = strata(
            ["push", src, "bench/ckpt@third", "--json", "--no-cache"], srv.url)
        pdst = os.path.join(work, "pull")
        rmtree(pdst)
        os.sync()
        c0 = srv.cpu()
        r["pull_s"], out, r["pull_client_cpu_s"] = strata(["pull", "bench/ckpt@main", "-o", pdst, "--json"],
                                                          srv.url)
        r["pull_server_cpu_s"] = srv.cpu() - c0
        subprocess.run(["diff", "-r", "-q", src, pdst], check=True)  # bit-exact (not timed)
        rmtree(pdst)
        r["heap"] = srv.heap_report()
    finally:
        srv.stop()
    r["strata_data_du_bytes"] = du_bytes(data)
    rmtree(data)
    # borg create into a fresh repo, both compressions
    r["borg_zstd1_s"], r["borg_zstd1_cpu_s"], r["borg_zstd1_repo_bytes"] = borg_once(src, os.path.join(work, "borg"),
                                                                                  "zstd,1")
    r["borg_lz4_s"], r["borg_lz4_cpu_s"], r["borg_lz4_repo_bytes"] = borg_once(src, os.path.join(work, "borg"), "lz4")
    # client JVM start-up: a no-op command
    r["cli_noop_s"], _, _ = timed([STRATA, "--version"], sync=False)
    return r


def profile(src, work, xmx, nbytes):
    """Push of new data with --threads 1, 2, 4 (fresh server each): wall, client CPU, server CPU."""
    res = []
    for th in (1, 2, 4):
        data = os.path.join(work, f"strata-prof-{th}")
        rmtree(data)
        os.environ["STRATA_CACHE_DIR"] = os.path.join(work, f"strata-prof-cache-{th}")
        rmtree(os.environ["STRATA_CACHE_DIR"])
        srv = Server(data, xmx=xmx)
        try:
            strata(["repo", "create", "bench/p"], srv.url, sync=False)
            c0 = srv.cpu()
            t, _, ccpu = strata(["push", src, "bench/p@main", "--json", "--threads", str(th)], srv.url)
            scpu = srv.cpu() - c0
            t2, _, ccpu2 = strata(["push", src, "bench/p@b", "--json", "--no-cache", "--threads", str(th)], srv.url)
        finally:
            srv.stop()
        rmtree(data)
        res.append({"threads": th, "push_new_s": round(t, 3), "push_new_mbps": round(nbytes / t / 1e6, 1),
                    "client_cpu_s": round(ccpu, 2), "server_cpu_s": round(scpu, 2),
                    "push_known_s": round(t2, 3), "push_known_client_cpu_s": round(ccpu2, 2)})
        log(f"profile threads={th}: {res[-1]}")
    return res


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--size-mib", type=float, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--xmx", default="1g", help="server heap (-Xmx), default 1g")
    ap.add_argument("--src", help="directory to transfer (default: checkpoint 0 of the generated series)")
    ap.add_argument("--profile", action="store_true", help="also push with --threads 1,2,4")
    ap.add_argument("--no-server-warmup", action="store_true",
                    help="time each fresh server cold (no untimed push and pull of another model first)")
    a = ap.parse_args()

    work = os.path.join(OUT, "transfer")
    os.makedirs(work, exist_ok=True)
    if a.src:
        src = os.path.abspath(a.src)
    else:
        ensure_series(os.path.join(OUT, f"series-{int(a.size_mib)}"), 10, a.size_mib, a.seed)
        src = os.path.join(OUT, f"series-{int(a.size_mib)}", "ckpt-000")
    nbytes = dir_bytes(src)
    warm(src)
    log(f"transfer_bench: {src} ({nbytes / 2**20:.1f} MiB), {a.reps} repetitions, server -Xmx{a.xmx}")

    wsrc = None if a.no_server_warmup else warmup_source()
    reps = []
    for i in range(a.reps):
        warm(src)
        reps.append(one_rep(i, src, work, a.xmx, nbytes, wsrc))
        log(f"rep {i}: " + ", ".join(f"{k}={v:.3f}" for k, v in reps[-1].items() if k.endswith("_s")))

    keys = [k for k in reps[0] if k.endswith("_s")]
    med = {k: median([r[k] for r in reps]) for k in keys}
    best = {k: min(r[k] for r in reps) for k in keys}
    borg_best_med = min(med["borg_zstd1_s"], med["borg_lz4_s"])

    def ratios(m):
        borg_t = min(m["borg_zstd1_s"], m["borg_lz4_s"])
        return {"push_new_over_cp": m["push_new_s"] / m["cp_s"],
                "push_known_over_cp": m["push_known_s"] / m["cp_s"],
                "push_known_nocache_over_cp": m["push_known_nocache_s"] / m["cp_s"],
                "pull_over_cp": m["pull_s"] / m["cp_s"],
                "push_mbps_over_borg_mbps": borg_t / m["push_new_s"]}

    rm, rb = ratios(med), ratios(best)
    mbps = lambda t: round(nbytes / t / 1e6, 1)
    result = {
        "bench": "transfer", "machine": machine(), "source": os.path.relpath(src, ROOT), "bytes": nbytes, "reps": a.reps,
        "server_xmx": a.xmx,
        "server_warmup": None if a.no_server_warmup else "one untimed push and pull of bench/out/warmup-256 (256 MiB, seed 99) per fresh server",
        "timing": "wall seconds, process start to exit + sync; source in page cache; median (and best) of reps",
        "median_s": {k: round(v, 3) for k, v in med.items()},
        "best_s": {k: round(v, 3) for k, v in best.items()},
        "throughput_mbps_median": {"cp": mbps(med["cp_s"]), "strata_push_new": mbps(med["push_new_s"]),
                                   "strata_push_known": mbps(med["push_known_s"]),
                                   "strata_pull": mbps(med["pull_s"]), "borg_zstd1": mbps(med["borg_zstd1_s"]),
                                   "borg_lz4": mbps(med["borg_lz4_s"])},
        "ratios_median": {k: round(v, 3) for k, v in rm.items()},
        "ratios_best": {k: round(v, 3) for k, v in rb.items()},
        "borg_baseline": "the faster of zstd,1 and lz4 (median)",
        "goals": {k: {"goal": f"{op} {g}", "median": round(rm[k], 3), "met": met(k, rm[k])}
                  for k, (op, g) in GOALS.items()},
        "heap": [r["heap"] for r in reps],
        "repetitions": [{k: (round(v, 3) if isinstance(v, float) else v) for k, v in r.items() if k != "heap"}
                        for r in reps],
    }
    if a.profile:
        result["profile_threads"] = profile(src, work, a.xmx, nbytes)

    log("")
    log(f"{'measure':<28}{'median s':>10}{'best s':>10}{'MB/s':>9}")
    for k in keys:
        if k.endswith("cpu_s"):
            continue
        log(f"{k:<28}{med[k]:>10.3f}{best[k]:>10.3f}{mbps(med[k]) if k != 'cli_noop_s' else '':>9}")
    log("")
    log(f"{'ratio':<28}{'median':>10}{'best':>10}{'goal':>9}  met")
    for k, (op, g) in GOALS.items():
        log(f"{k:<28}{rm[k]:>10.3f}{rb[k]:>10.3f}{op + ' ' + str(g):>9}  {'yes' if met(k, rm[k]) else 'NO'}")
    h = reps[-1]["heap"]
    log(f"server heap (-Xmx{a.xmx}): peak used {h['peak_used_mib']} MiB, live after GC "
        f"{h['live_after_full_gc_mib']} MiB, peak RSS {h['peak_rss_mib']} MiB")
    json.dump(result, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
