#!/usr/bin/env python3
"""Strata series benchmark: storage of a checkpoint series (default 10 checkpoints of 256 MiB, 10% of the
tensors replaced per step) pushed as commits on one branch, next to restic, borg and zstd -3 per file.
JSON on stdout, a table on stderr. Sizes are on-disk (du -sB1) of each tool's repository after the run.

Usage: bench/series_bench.py [--count 10] [--size-mib 256] [--seed 1] [--xmx 1g]
"""
import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import OUT, Server, bench_peers, dir_bytes, du_bytes, ensure_series, log, machine, rmtree, strata  # noqa


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--count", type=int, default=10)
    ap.add_argument("--size-mib", type=float, default=256)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--xmx", default="1g")
    a = ap.parse_args()

    series_dir = os.path.join(OUT, f"series-{int(a.size_mib)}")
    info = ensure_series(series_dir, a.count, a.size_mib, a.seed)
    ckpts = [os.path.join(series_dir, f"ckpt-{k:03d}") for k in range(a.count)]
    logical = sum(dir_bytes(c) for c in ckpts)
    work = os.path.join(OUT, "series")
    rmtree(work)
    os.makedirs(work)
    res = {"bench": "series", "machine": machine(), "checkpoints": a.count,
           "bytes_per_checkpoint": info["bytes_per_checkpoint"], "logical_bytes": logical,
           "tensors": info["tensors"], "changed_tensors_per_step": info["changed_per_step"],
           "unique_bytes_ideal": info["bytes_per_checkpoint"] + sum(s["changed_bytes"] for s in info["steps"]),
           "tools": {}}

    # --- strata
    data = os.path.join(work, "strata-data")
    srv = Server(data, xmx=a.xmx)
    try:
        strata(["repo", "create", "bench/series"], srv.url, sync=False)
        total_t, sent = 0.0, 0
        per = []
        for k, c in enumerate(ckpts):
            t, out, _ = strata(["push", c, "bench/series@run", "--json", "--step", str(k * 100), "-m", f"ckpt {k}"],
                               srv.url)
            j = json.loads(out)
            per.append({"push_s": round(t, 3), "sent_bytes": j["sent_bytes"], "known_chunks": j["known_chunks"],
                        "sent_chunks": j["sent_chunks"]})
            total_t += t
            sent += j["sent_bytes"]
            log(f"strata push ckpt {k}: {t:.2f} s, sent {j['sent_bytes'] / 2**20:.1f} MiB")
        _, out, _ = strata(["stats", "bench/series", "--json"], srv.url, sync=False)
        st_pushed = json.loads(out)
        du_pushed = du_bytes(data)
        # pushes to a local server store chunks raw; compaction (automatic when idle) compresses them
        t_compact, out, _ = strata(["compact", "--json"], srv.url)
        compact = json.loads(out)
        log(f"strata compact: {t_compact:.2f} s, {compact}")
        _, out, _ = strata(["stats", "bench/series", "--json"], srv.url, sync=False)
        st = json.loads(out)
        heap = srv.heap_report()
    finally:
        srv.stop()
    res["tools"]["strata"] = {"stats": st, "stored_over_logical": st["stored_bytes"] / st["logical_bytes"],
                              "repo_du_bytes": du_bytes(data), "pushes": per, "total_s": round(total_t, 2),
                              "sent_bytes": sent, "heap": heap,
                              "before_compaction": {"stats": st_pushed, "repo_du_bytes": du_pushed},
                              "compaction": dict(compact, seconds=round(t_compact, 2))}

    # --- restic (compression auto), borg (zstd,3 and default lz4), zstd -3 per file
    res["tools"].update(bench_peers(ckpts, work, restic_compression="auto",
                                    borgs=(("borg_zstd3", ["--compression", "zstd,3"]), ("borg_default_lz4", []))))

    for t in res["tools"].values():
        t["size_over_logical"] = round(t["repo_du_bytes"] / logical, 4)
    log("")
    log(f"logical {logical / 2**20:.1f} MiB ({a.count} x {info['bytes_per_checkpoint'] / 2**20:.1f} MiB); "
        f"ideal unique {res['unique_bytes_ideal'] / 2**20:.1f} MiB")
    log(f"strata stats: stored_bytes/logical_bytes = {res['tools']['strata']['stored_over_logical']:.4f}, "
        f"unique {st['unique_bytes'] / 2**20:.1f} MiB, stored {st['stored_bytes'] / 2**20:.1f} MiB")
    log(f"{'tool':<20}{'on disk MiB':>12}{'/ logical':>11}{'time s':>9}")
    for n, t in res["tools"].items():
        log(f"{n:<20}{t['repo_du_bytes'] / 2**20:>12.1f}{t['size_over_logical']:>11.4f}{t.get('total_s', ''):>9}")
    json.dump(res, sys.stdout, indent=1)
    print()


if __name__ == "__main__":
    main()
