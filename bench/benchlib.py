"""Shared helpers for the Strata benchmarks (stdlib only)."""
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time

BENCH = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(BENCH)
OUT = os.path.join(BENCH, "out")
STRATA = os.path.join(ROOT, "strata")
VENV_PY = os.path.join(BENCH, ".venv", "bin", "python")


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def java_home():
    out = subprocess.run(["bash", "-c", f". '{ROOT}/scripts/env.sh' >/dev/null && echo $JAVA_HOME"],
                         capture_output=True, text=True, check=True).stdout.strip()
    return out


def ensure_python():
    """bench/.venv with numpy (created with pip if missing); returns its python."""
    if not os.path.exists(VENV_PY):
        subprocess.run([sys.executable, "-m", "venv", os.path.join(BENCH, ".venv")], check=True)
    if subprocess.run([VENV_PY, "-c", "import numpy"], capture_output=True).returncode != 0:
        subprocess.run([VENV_PY, "-m", "pip", "install", "-q", "numpy"], check=True)
    return VENV_PY


def ensure_series(out, count, size_mib, seed):
    meta = os.path.join(out, "series.json")
    if os.path.exists(meta):
        m = json.load(open(meta))
        if m.get("count") == count and m.get("seed") == seed and \
                abs(m.get("bytes_per_checkpoint", 0) - size_mib * (1 << 20)) < (1 << 20):
            return m
        shutil.rmtree(out)
    subprocess.run([ensure_python(), os.path.join(BENCH, "gen_safetensors.py"), "series", "--out", out,
                    "--count", str(count), "--size-mib", str(size_mib), "--seed", str(seed)], check=True)
    return json.load(open(meta))


def dir_bytes(path):
    """Apparent size of the files under path."""
    total = 0
    for d, _, fs in os.walk(path):
        for f in fs:
            total += os.path.getsize(os.path.join(d, f))
    return total


def du_bytes(path):
    """Disk usage (allocated blocks) of path, as `du -sB1`."""
    return int(subprocess.run(["du", "-sB1", path], capture_output=True, text=True, check=True).stdout.split()[0])


def warm(path):
    """Read every file so that the source is in the page cache (we never drop caches)."""
    for d, _, fs in os.walk(path):
        for f in fs:
            with open(os.path.join(d, f), "rb") as fh:
                while fh.read(1 << 24):
                    pass


def rmtree(path):
    if os.path.exists(path):
        shutil.rmtree(path)


def timed(cmd, env=None, cwd=None, sync=True, capture=True):
    """Runs cmd (list, or str via bash), then `sync` if asked; returns (seconds, stdout, child cpu seconds).
    The timed span is process start .. exit (+ sync): JVM start-up of a Java client is inside it."""
    shell = isinstance(cmd, str)
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, shell=shell, executable="/bin/bash" if shell else None, env=env, cwd=cwd,
                       stdout=subprocess.PIPE if capture else None, stderr=subprocess.PIPE, text=True)
    if sync:
        os.sync()
    t = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    if p.returncode != 0:
        raise RuntimeError(f"{cmd} failed ({p.returncode}): {p.stderr[-2000:]}")
    cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    return t, p.stdout, cpu


def proc_cpu(pid):
    """user+system CPU seconds of a process so far."""
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")


TOKENS = {}  # server url -> its bootstrap admin token file (strata() signs in with it)


class Server:
    """A `strata serve` on 127.0.0.1, a free port, the given data dir; samples its heap with jstat."""

    def __init__(self, data, xmx="1g", extra_env=None, launcher=STRATA, args=(), port=0):
        self.data, self.xmx = data, xmx
        os.makedirs(data, exist_ok=True)
        env = dict(os.environ, STRATA_JAVA_OPTS=f"-Xmx{xmx}")
        env.update(extra_env or {})
        self.logf = open(os.path.join(os.path.dirname(data.rstrip("/")), os.path.basename(data) + ".log"), "w")
        self.proc = subprocess.Popen([launcher, "serve", "--port", str(port), "--data", data, *args], stdout=self.logf,
                                     stderr=subprocess.STDOUT, env=env, start_new_session=True)
        deadline = time.time() + 120
        self.url = None
        while time.time() < deadline and self.url is None:
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + open(self.logf.name).read()[-2000:])
            m = re.search(r"Strata \S+ listening on (http://127\.0\.0\.1:\d+)", open(self.logf.name).read())
            if m:
                self.url = m.group(1)
            else:
                time.sleep(0.1)
        if not self.url:
            raise RuntimeError("server did not start")
        self.token_file = os.path.join(data, "admin.token")
        if os.path.exists(self.token_file):
            TOKENS[self.url] = self.token_file
        self.pid = self.proc.pid  # ./strata execs java: same pid
        self.jh = java_home()
        self.peak_used_kib = 0.0
        self.peak_committed_kib = 0.0
        self._stop = False
        self._t = threading.Thread(target=self._sample, daemon=True)
        self._t.start()

    def _sample(self):
        p = subprocess.Popen([f"{self.jh}/bin/jstat", "-gc", str(self.pid), "200"], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True)
        hdr = None
        for line in p.stdout:
            if self._stop:
                break
            f = line.split()
            if not f:
                continue
            if f[0] == "S0C":
                hdr = f
                continue
            if hdr is None:
                continue
            try:
                v = dict(zip(hdr, map(float, f)))
            except ValueError:
                continue
            used = v["S0U"] + v["S1U"] + v["EU"] + v["OU"]
            comm = v["S0C"] + v["S1C"] + v["EC"] + v["OC"]
            self.peak_used_kib = max(self.peak_used_kib, used)
            self.peak_committed_kib = max(self.peak_committed_kib, comm)
        p.kill()
        p.wait()

    def cpu(self):
        return proc_cpu(self.pid)

    def live_heap_kib(self):
        """Heap used right after a full GC (the live set)."""
        subprocess.run([f"{self.jh}/bin/jcmd", str(self.pid), "GC.run"], capture_output=True)
        out = subprocess.run([f"{self.jh}/bin/jcmd", str(self.pid), "GC.heap_info"], capture_output=True,
                             text=True).stdout
        m = re.search(r"used (\d+)K", out)
        return int(m.group(1)) if m else None

    def rss_peak_kib(self):
        with open(f"/proc/{self.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])

    def heap_report(self):
        return {"xmx": self.xmx, "peak_used_mib": round(self.peak_used_kib / 1024, 1),
                "peak_committed_mib": round(self.peak_committed_kib / 1024, 1),
                "live_after_full_gc_mib": round((self.live_heap_kib() or 0) / 1024, 1),
                "peak_rss_mib": round(self.rss_peak_kib() / 1024, 1),
                "sampling": "jstat -gc every 200 ms (S0U+S1U+EU+OU)"}

    def stop(self):
        self._stop = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()


def strata(args, url, **kw):
    env = dict(os.environ, STRATA_NO_PROGRESS="1")
    auth = ["--token-file", TOKENS[url]] if url in TOKENS else []
    return timed([STRATA, *args, "--url", url, *auth], env=env, **kw)


PEERS = {"borg": "borgbackup", "restic": "restic", "zstd": "zstd"}


def ensure_peers():
    """The baseline tools (Debian packages), installed with apt-get where missing (a fresh machine)."""
    missing = [pkg for tool, pkg in PEERS.items() if shutil.which(tool) is None]
    if missing:
        log(f"installing {' '.join(missing)} (apt-get)")
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run(sudo + ["apt-get", "install", "-y", "-qq", *missing], env=env, check=True,
                       stdout=subprocess.DEVNULL)


def machine():
    ensure_peers()
    cpu = "?"
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    jv = subprocess.run([f"{java_home()}/bin/java", "-version"], capture_output=True, text=True).stderr
    fs = subprocess.run(["df", "-T", OUT], capture_output=True, text=True).stdout.splitlines()[-1].split()
    ver = lambda c: subprocess.run(c, capture_output=True, text=True).stdout.strip().splitlines()[0]
    return {"nproc": os.cpu_count(), "cpu": cpu, "mem_gib": round(os.sysconf("SC_PAGE_SIZE") *
                                                                    os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
            "jdk": jv.strip().splitlines()[-2] if jv else "?", "filesystem": f"{fs[0]} ({fs[1]})",
            "borg": ver(["borg", "--version"]), "restic": ver(["restic", "version"]),
            "zstd": ver(["zstd", "--version"]),
            "git_commit": subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True,
                                         text=True).stdout.strip()}


def median(xs):
    s = sorted(xs)
    n = len(s)
    return s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


def bench_peers(ckpts, work, restic_compression="auto", borgs=(("borg_zstd3", ["--compression", "zstd,3"]),)):
    """Backs up the checkpoint directories in order with restic and borg (each checkpoint staged at one
    path, so the tools see "the same directory, changed"), and compresses every file with zstd -3;
    returns {tool: {repo_du_bytes, total_s, settings}} with on-disk sizes (du -sB1)."""
    tools = {}
    stage = os.path.join(work, "ckpt")

    def stage_ckpt(c):
        rmtree(stage)
        subprocess.run(["cp", "-r", c, stage], check=True)

    repo = os.path.join(work, "restic")
    env = dict(os.environ, RESTIC_PASSWORD="bench", RESTIC_CACHE_DIR=os.path.join(work, "restic-cache"))
    subprocess.run(["restic", "init", "--repo", repo, "--repository-version", "2"], env=env, check=True,
                   capture_output=True)
    total_t = 0.0
    for c in ckpts:
        stage_ckpt(c)
        t, _, _ = timed(["restic", "backup", "--repo", repo, "--compression", restic_compression, "-q", "."],
                        env=env, cwd=stage)
        total_t += t
    tools[f"restic_{restic_compression}"] = {
        "repo_du_bytes": du_bytes(repo), "total_s": round(total_t, 2),
        "settings": f"restic repo v2, --compression {restic_compression}, AES+Poly1305 (always on)"}
    for name, comp in borgs:
        repo = os.path.join(work, name)
        env = dict(os.environ, BORG_BASE_DIR=os.path.join(work, name + "-base"),
                   BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK="yes", BORG_RELOCATED_REPO_ACCESS_IS_OK="yes")
        subprocess.run(["borg", "init", "--encryption", "none", repo], env=env, check=True, capture_output=True)
        total_t = 0.0
        for k, c in enumerate(ckpts):
            stage_ckpt(c)
            t, _, _ = timed(["borg", "create", *comp, f"{repo}::ckpt-{k}", "."], env=env, cwd=stage)
            total_t += t
        tools[name] = {"repo_du_bytes": du_bytes(repo), "total_s": round(total_t, 2),
                       "settings": "--encryption none " + (" ".join(comp) or "(default compression lz4)")}
    rmtree(stage)
    zb, zt = 0, 0.0
    for c in ckpts:
        for f in sorted(os.listdir(c)):
            t, out, _ = timed(f"zstd -3 -T1 -q -c '{os.path.join(c, f)}' | wc -c", sync=False)
            zb += int(out)
            zt += t
    tools["zstd3_per_file"] = {"repo_du_bytes": zb, "total_s": round(zt, 2),
                               "settings": "zstd -3 -T1 of every file of every checkpoint (no dedup)"}
    for n, t in tools.items():
        log(f"{n}: {t['repo_du_bytes'] / 2**20:.1f} MiB")
    return tools

