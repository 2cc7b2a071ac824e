#!/usr/bin/env python3
"""Replication benchmark (docs/decisions/0013-replication.md): throughput and lag of streaming a
checkpoint from a primary to its replica, two `strata serve` processes on this machine (loopback,
same disk: the replica's writes compete with the primary's, so this is a lower bound for two hosts).

Per repetition, fresh servers:
  live     the replica is up; push a SIZE MiB checkpoint to the primary. Its log entry appears when the
           push commits, so `lag_after_push_s` (push returned -> replication status lag_entries == 0,
           polled every 20 ms over HTTP) is the time to replicate it: `replication_mbps` = chunk frame
           bytes sent / lag, `replication_logical_mbps` = checkpoint bytes / lag.
  catch-up the replica is stopped; the same checkpoint is pushed to a second repository (repository-
           scoped dedup: every chunk travels again); the replica restarts on the same port; `catchup_s`
           is from its restart (listening) to lag 0, including what remains of the primary's retry
           backoff (at most 10 s); `catchup_mbps` = chunk bytes sent / catchup_s.
  drill    `strata drill` of the checkpoint from the replica: restore + SHA-256 verification.
JSON on stdout, progress on stderr.

Usage: bench/replication_bench.py [--reps 2] [--size-mib 256] [--xmx 1g]
"""
import argparse
import json
import os
import socket
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import OUT, STRATA, Server, dir_bytes, ensure_series, log, machine, median, rmtree, strata, timed, warm  # noqa: E402


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def status(primary):
    """GET /admin/replication directly (a CLI call would add a JVM start to every poll)."""
    token = open(primary.token_file).read().strip()
    req = urllib.request.Request(primary.url + "/api/v1/admin/replication", headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def await_caught_up(primary, timeout=1800):
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout:
        s = status(primary)
        if s["lag_entries"] == 0 and s["last_seq"] > 0 and s["last_error"] is None:
            return time.perf_counter(), s
        time.sleep(0.02)
    raise RuntimeError(f"replica never caught up: {s}")


def one_rep(i, src, work, xmx):
    nbytes = dir_bytes(src)
    r = {"logical_bytes": nbytes}
    rdata, pdata = os.path.join(work, f"replica-{i}"), os.path.join(work, f"primary-{i}")
    rmtree(rdata)
    rmtree(pdata)
    port = free_port()
    replica = Server(rdata, xmx=xmx, port=port)
    primary = Server(pdata, xmx=xmx, args=["--replica-url", replica.url, "--replica-token-file", replica.token_file])
    try:
        strata(["repo", "create", "lab/a"], primary.url)
        strata(["repo", "create", "lab/b"], primary.url)
        t0 = time.perf_counter()
        r["push_s"], _, _ = strata(["push", src, "lab/a@main", "-m", "live"], primary.url, sync=False)
        t_pushed = time.perf_counter()
        t_done, s = await_caught_up(primary)
        # The log entry is appended when the push commits: replication of its data starts then.
        lag = t_done - t_pushed
        r["lag_after_push_s"] = round(lag, 3)
        r["live_bytes_sent"] = s["bytes_sent"]
        r["replication_mbps"] = round(s["bytes_sent"] / 1e6 / lag, 1)
        r["replication_logical_mbps"] = round(nbytes / 1e6 / lag, 1)
        r["push_to_replica_s"] = round(t_done - t0, 3)
        sent_before = s["bytes_sent"]

        replica.stop()
        r["push_while_down_s"], _, _ = strata(["push", src, "lab/b@main", "-m", "while the replica was down"], primary.url)
        s = status(primary)
        r["lag_entries_while_down"] = s["lag_entries"]
        t1 = time.perf_counter()
        replica = Server(rdata, xmx=xmx, port=port)
        t2 = time.perf_counter()
        t_done, s = await_caught_up(primary)
        r["replica_restart_s"] = round(t2 - t1, 3)
        r["catchup_s"] = round(t_done - t2, 3)
        r["catchup_bytes_sent"] = s["bytes_sent"] - sent_before
        r["catchup_mbps"] = round(r["catchup_bytes_sent"] / 1e6 / (t_done - t2), 1)

        scratch = os.path.join(work, f"drill-{i}")
        rmtree(scratch)
        t, out, _ = timed([STRATA, "drill", "lab/b@main", "--from", replica.url, "--token-file", replica.token_file,
                           "--scratch", scratch, "--json"], env=dict(os.environ, STRATA_NO_PROGRESS="1"))
        d = json.loads(out)
        r["drill_wall_s"] = round(t, 3)
        r["drill_seconds"] = round(d["seconds"], 3)
        r["drill_mb_per_s"] = round(d["mb_per_second"], 1)
        r["drill_result"] = d["result"]
        rmtree(scratch)
    finally:
        primary.stop()
        replica.stop()
        rmtree(rdata)
        rmtree(pdata)
    log(f"rep {i}: {r}")
    return r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=2)
    ap.add_argument("--size-mib", type=int, default=256)
    ap.add_argument("--xmx", default="1g")
    a = ap.parse_args()
    work = os.path.join(OUT, "replication")
    os.makedirs(work, exist_ok=True)
    series = os.path.join(OUT, f"series-1x{a.size_mib}mib")
    ensure_series(series, 1, a.size_mib, 7)
    src = os.path.join(series, "ckpt-000")
    warm(src)
    reps = [one_rep(i, src, work, a.xmx) for i in range(a.reps)]
    keys = ["push_s", "lag_after_push_s", "replication_mbps", "replication_logical_mbps", "push_to_replica_s", "catchup_s",
            "catchup_mbps", "drill_seconds", "drill_mb_per_s"]
    result = {"bench": "replication", "size_mib": a.size_mib, "reps": reps,
              "median": {k: median([r[k] for r in reps]) for k in keys}, "machine": machine()}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
