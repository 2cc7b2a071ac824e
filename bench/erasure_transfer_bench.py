#!/usr/bin/env python3
"""Push and pull with a 4+2 erasure-coded chunk store vs local packs (durability issue).

Per repetition, one fresh server of each kind (local packs in DATA/chunks; or `--chunk-dirs` over six
directories with `--erasure 4+2`, all on this one disk), in alternating order: push the checkpoint
(new data), then pull it back (diff -r checks it bit-exact, untimed). Medians; ratio EC / local.
Goal: EC at most 25 % slower. Prints JSON.

usage: bench/erasure_transfer_bench.py [--reps 3] [--size-mib 256]
"""
import argparse
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import OUT, Server, dir_bytes, ensure_series, log, machine, median, rmtree, strata, warm  # noqa: E402


def one(kind, i, src, work):
    data = os.path.join(work, f"{kind}-{i}")
    rmtree(data)
    args = ()
    if kind == "ec":
        dirs = [os.path.join(data, f"disk{d}") for d in range(6)]
        args = ("--chunk-dirs", ",".join(dirs), "--erasure", "4+2")
    os.environ["STRATA_CACHE_DIR"] = os.path.join(work, f"cache-{kind}-{i}")
    rmtree(os.environ["STRATA_CACHE_DIR"])
    srv = Server(data, xmx="1g", args=args)
    r = {}
    try:
        strata(["repo", "create", "bench/ec"], srv.url, sync=False)
        c0 = srv.cpu()
        r["push_s"], _, r["push_client_cpu_s"] = strata(["push", src, "bench/ec@main", "--json"], srv.url)
        r["push_server_cpu_s"] = srv.cpu() - c0
        dst = os.path.join(work, "pull")
        rmtree(dst)
        c0 = srv.cpu()
        r["pull_s"], _, r["pull_client_cpu_s"] = strata(["pull", "bench/ec@main", "-o", dst], srv.url)
        r["pull_server_cpu_s"] = srv.cpu() - c0
        subprocess.run(["diff", "-r", "-q", src, dst], check=True)
        rmtree(dst)
    finally:
        srv.stop()
    r["stored_du_bytes"] = int(subprocess.run(["du", "-sB1", data], capture_output=True, text=True).stdout.split()[0])
    rmtree(data)
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--size-mib", type=float, default=256)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    ensure_series(os.path.join(OUT, f"series-{int(a.size_mib)}"), 10, a.size_mib, a.seed)
    src = os.path.join(OUT, f"series-{int(a.size_mib)}", "ckpt-000")
    work = os.path.join(OUT, "erasure-transfer")
    os.makedirs(work, exist_ok=True)
    nbytes = dir_bytes(src)
    runs = {"local": [], "ec": []}
    for i in range(a.reps):
        for kind in (("local", "ec") if i % 2 == 0 else ("ec", "local")):
            warm(src)
            runs[kind].append(one(kind, i, src, work))
            log(f"rep {i} {kind}: {runs[kind][-1]}")
    med = {k: {m: median([r[m] for r in v]) for m in v[0]} for k, v in runs.items()}
    print(json.dumps({
        "bench": "erasure_transfer", "machine": machine(), "bytes": nbytes, "reps": a.reps, "server_xmx": "1g",
        "median": med,
        "ec_over_local": {m: round(med["ec"][m] / med["local"][m], 3) for m in ("push_s", "pull_s", "push_server_cpu_s", "pull_server_cpu_s")},
        "goal": "erasure-coded push and pull at most 25 % slower than local packs",
        "runs": runs,
    }, indent=2))


if __name__ == "__main__":
    main()
