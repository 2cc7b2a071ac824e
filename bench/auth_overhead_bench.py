#!/usr/bin/env python3
"""Overhead of authentication + authorisation + audit on small-file reads (issue 4).

Serves 4 KiB files at a fixed 1000 reads/s (open loop, bench/LoadGen.java) from three servers:
  current: this version, every request authenticated with a *reader* user's token (role lookup,
           not the admin shortcut), authorised, and written to the hash-chained audit log;
  bypass:  this same version (HEAD plus uncommitted changes, built in bench/out) with the layer cut
           out by a bench-only patch (BYPASS): no token check (a fixed administrator), no role
           lookup, no audit record. Everything else is identical, so current/bypass is the cost of
           the layer itself: the goal's measure;
  prev:    the last version before access control (PREV_COMMIT, built from git in bench/out),
           anonymous requests, no audit. current/prev also counts every other change since.
Short slices rotate through the servers to spread machine noise. Reports server CPU per request and
latency percentiles; overhead = current/baseline - 1 (median of per-slice ratios). Prints JSON.

usage: bench/auth_overhead_bench.py [--rate 1000] [--slice 3] [--slices 20] [--warmup-slices 4] [--files 200]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import OUT, ROOT, STRATA, Server, java_home, log, rmtree  # noqa: E402

PREV_COMMIT = "2a58f64"  # main before issue 4 (no authentication, no audit)
POOL_FIX = ("            cfg.jetty.modifyServer(server -> server.addBean(new org.eclipse.jetty.io.ArrayByteBufferPool(\n"
            "                    0, 64 * 1024, 2 * INPUT_BUFFER_BYTES, 256, 256L << 20, 256L << 20)));\n")


def build_prev():
    src = os.path.join(OUT, "prev-src-poolfix")
    jar = os.path.join(src, "strata-cli", "target", "strata.jar")
    if not os.path.exists(jar):
        rmtree(src)
        subprocess.run(["git", "-C", ROOT, "worktree", "prune"], check=True)
        subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", src, PREV_COMMIT], check=True, capture_output=True)
        # The baseline gets the same, unrelated buffer-pool fix (commit "Pool Jetty's 1 MiB request
        # buffers"), so the comparison isolates authentication, authorisation and audit.
        api = os.path.join(src, "strata-server/src/main/java/dev/strata/server/ApiServer.java")
        text = open(api).read()
        anchor = "            cfg.jetty.modifyHttpConfiguration(h -> {"
        assert anchor in text
        open(api, "w").write(text.replace(anchor, POOL_FIX + anchor, 1))
        env = dict(os.environ, JAVA_HOME=java_home())
        subprocess.run(["mvn", "-q", "-o", "-DskipTests", "package", "-pl", "strata-cli", "-am"], cwd=src, env=env, check=True,
                       stdout=subprocess.DEVNULL)
    return os.path.join(src, "strata")


# The bench-only cut of the layer, applied to a copy of this version: (text in ApiServer.java, replacement).
BYPASS = [
    ("p = strata.access().authenticate(ctx.header(\"Authorization\"), ctx.ip());",
     "p = new Principal(dev.strata.service.AccessControl.BOOTSTRAP_USER, \"0000000000000000\", dev.strata.catalog.TokenScope.ADMIN, java.util.Set.of(), true, java.util.Set.of());"),
    ("Access a = strata.access().access(p, repo);", "Access a = repo == null ? Access.NONE : Access.ADMIN;"),
    ("        app.after(this::audit);\n", ""),
]


def build_bypass():
    """This version (HEAD and the working tree's changes, untracked files included) with BYPASS applied."""
    src = os.path.join(OUT, "bypass-src")
    head = subprocess.run(["git", "-C", ROOT, "rev-parse", "HEAD"], capture_output=True, text=True, check=True).stdout.strip()
    diff = subprocess.run(["git", "-C", ROOT, "diff", "HEAD", "--binary"], capture_output=True, check=True).stdout
    rmtree(src)
    subprocess.run(["git", "-C", ROOT, "worktree", "prune"], check=True)
    subprocess.run(["git", "-C", ROOT, "worktree", "add", "--detach", src, head], check=True, capture_output=True)
    if diff:
        subprocess.run(["git", "-C", src, "apply", "--binary", "-"], input=diff, check=True)
    untracked = subprocess.run(["git", "-C", ROOT, "ls-files", "--others", "--exclude-standard", "-z"],
                               capture_output=True, text=True, check=True).stdout.split("\0")
    for rel in filter(None, untracked):
        os.makedirs(os.path.dirname(os.path.join(src, rel)) or src, exist_ok=True)
        shutil.copy2(os.path.join(ROOT, rel), os.path.join(src, rel))
    api = os.path.join(src, "strata-server/src/main/java/dev/strata/server/ApiServer.java")
    text = open(api).read()
    for old, new in BYPASS:
        assert text.count(old) == 1, f"bypass patch no longer applies: {old!r}"
        text = text.replace(old, new)
    open(api, "w").write(text)
    env = dict(os.environ, JAVA_HOME=java_home())
    subprocess.run(["mvn", "-q", "-o", "-DskipTests", "package", "-pl", "strata-cli", "-am"], cwd=src, env=env,
                   check=True, stdout=subprocess.DEVNULL)
    return os.path.join(src, "strata")


def cli(launcher, url, token_file, *args):
    cmd = [launcher, *args, "--url", url] + (["--token-file", token_file] if token_file else [])
    r = subprocess.run(cmd, capture_output=True, text=True, env=dict(os.environ, STRATA_NO_PROGRESS="1"))
    if r.returncode != 0:
        raise RuntimeError(f"{cmd}: {r.stderr}")
    return r.stdout


def http(method, url, token, body=None):
    import urllib.request
    req = urllib.request.Request(url, method=method, data=None if body is None else json.dumps(body).encode(),
                                 headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


def setup(kind, launcher, work, nfiles):
    data = os.path.join(work, kind + "-data")
    rmtree(data)
    srv = Server(data, xmx="512m", launcher=launcher)
    try:
        return prepare(kind, srv, launcher, data, work, nfiles)
    except BaseException:
        srv.stop()  # a failed setup leaves no server behind
        raise


def prepare(kind, srv, launcher, data, work, nfiles):
    """The repository of small files, and for current a reader's token; returns (server, token, urls file, admin token file)."""
    token_file = os.path.join(data, "admin.token") if kind != "prev" else None
    files = os.path.join(work, "files")
    if not os.path.exists(files):
        os.makedirs(files)
        for i in range(nfiles):
            with open(os.path.join(files, f"f{i:04d}.bin"), "wb") as f:
                f.write(os.urandom(4096))
    cli(launcher, srv.url, token_file, "repo", "create", "lab/small")
    cli(launcher, srv.url, token_file, "push", files, "lab/small@main", "-m", "small files")
    token = "-"
    if kind == "current":
        admin = open(token_file).read().strip()
        http("POST", srv.url + "/api/v1/users", admin, {"name": "reader"})
        http("PUT", srv.url + "/api/v1/repos/lab/small/members/user/reader", admin, {"role": "reader"})
        token = http("POST", srv.url + "/api/v1/tokens", admin, {"user": "reader", "scope": "read"})["token"]
    urls = os.path.join(work, kind + "-urls.txt")
    with open(urls, "w") as f:
        for i in range(nfiles):
            f.write(f"{srv.url}/api/v1/repos/lab/small/files/f{i:04d}.bin?rev=main\n")
    return srv, token, urls, token_file


def audit_count(srv, token_file):
    admin = open(token_file).read().strip()
    return http("GET", srv.url + "/api/v1/audit/verify", admin)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rate", type=int, default=1000)
    ap.add_argument("--slice", type=int, default=3, help="seconds per slice")
    ap.add_argument("--slices", type=int, default=20, help="measured slices per version")
    ap.add_argument("--warmup-slices", type=int, default=4)
    ap.add_argument("--files", type=int, default=200)
    a = ap.parse_args()
    work = os.path.join(OUT, "auth-overhead")
    os.makedirs(work, exist_ok=True)
    launchers = {"prev": build_prev(), "bypass": build_bypass(), "current": STRATA}
    java = os.path.join(java_home(), "bin", "java")
    loadgen = os.path.join(os.path.dirname(os.path.abspath(__file__)), "LoadGen.java")
    kinds = ("prev", "bypass", "current")
    servers = {}
    try:
        for k in kinds:
            servers[k] = setup(k, launchers[k], work, a.files)
        cmd = [java, loadgen, str(a.rate), str(a.slice), str(a.slices), str(a.warmup_slices)]
        for k in kinds:
            srv, token, urls, _ = servers[k]
            cmd += [urls, token, str(srv.pid)]
        out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
        results = dict(zip(kinds, json.loads(out)))
        verify = audit_count(servers["current"][0], servers["current"][3])
    finally:
        for srv, *_ in servers.values():
            srv.stop()
    cur = results["current"]

    def overhead(base):
        ratios = sorted(c / p for p, c in zip(base["server_cpu_us_per_req_slices"], cur["server_cpu_us_per_req_slices"]))
        return {
            "server_cpu_per_req": round(ratios[len(ratios) // 2] - 1, 3),
            "p50_ms": round(cur["p50_ms"] / base["p50_ms"] - 1, 3),
            "p99_ms": round(cur["p99_ms"] / base["p99_ms"] - 1, 3),
            "mean_ms": round(cur["mean_ms"] / base["mean_ms"] - 1, 3),
        }

    print(json.dumps({
        "benchmark": "auth_audit_overhead_small_reads",
        "setup": {"rate_per_s": a.rate, "slice_s": a.slice, "slices_each": a.slices, "warmup_slices": a.warmup_slices,
                  "file_bytes": 4096, "files": a.files, "server_heap": "-Xmx512m", "prev_commit": PREV_COMMIT,
                  "current": "reader token, role check, audit record per read",
                  "bypass": "this version with authentication, authorisation and audit cut out (BYPASS patch)",
                  "method": "slices rotate prev/bypass/current; server CPU from /proc per slice; overhead = median of per-slice ratios"},
        "prev": results["prev"], "bypass": results["bypass"], "current": cur,
        "overhead_vs_bypass": overhead(results["bypass"]), "overhead_vs_prev": overhead(results["prev"]),
        "audit_after_runs": verify,
        "goal": "overhead of the layer (current vs bypass) < 10% at 1000 reads/s of 4 KiB files",
    }, indent=2))


if __name__ == "__main__":
    main()
