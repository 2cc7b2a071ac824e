#!/usr/bin/env python3
"""Python SDK benchmark: training-loop stall per checkpoint and state-dict load time.

Part 1: a small transformer trains on the CPU and checkpoints (model + AdamW state) every K
steps, three ways: torch.save to a local file, strata.save_checkpoint(blocking=True) and
strata.save_checkpoint() (async). The stall of a save is the time the training loop spends in the
save call; the async run also reports how much the background upload slows the steps around it.

Part 2: a state dict of --load-gib GiB (fp32/bf16 tensors of 32 MiB) is saved once to Strata and
once with torch.save; then torch.load of the local file (page cache warm) is compared with
strata.load_state_dict without a chunk cache, with a cold cache (filling it) and with a warm one
(after one untimed load, as torch.load gets one). torch.load with THP_MEM_ALLOC_ENABLE=1 (PyTorch's
opt-in to huge pages, which strata's loader uses for its tensors) is reported for context.

Prints one JSON object. Run: clients/python/.venv/bin/python bench/sdk_bench.py [--load-gib 2]
(re-executes itself with that venv's python when torch is missing; ./test.sh creates the venv).
"""
import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VENV_PY = ROOT / "clients" / "python" / ".venv" / "bin" / "python"

try:
    import torch
except ImportError:
    if VENV_PY.exists() and Path(sys.executable).resolve() != VENV_PY.resolve():
        os.execv(str(VENV_PY), [str(VENV_PY), *sys.argv])
    raise SystemExit("torch is missing: run ./test.sh once (it creates clients/python/.venv) or pip install torch")

sys.path.insert(0, str(ROOT / "clients" / "python" / "src"))
import strata  # noqa: E402


def log(*a):
    print(*a, file=sys.stderr, flush=True)


class Server:
    def __init__(self, data: Path, xmx: str):
        jh = subprocess.run(["bash", "-c", f". '{ROOT}/scripts/env.sh' >/dev/null && echo $JAVA_HOME"],
                            capture_output=True, text=True, check=True).stdout.strip()
        jar = ROOT / "strata-cli" / "target" / "strata.jar"
        if not jar.exists():
            subprocess.run([str(ROOT / "strata"), "--help"], check=True, capture_output=True)
        self.logf = open(data.parent / "server.log", "w")
        self.proc = subprocess.Popen([f"{jh}/bin/java", f"-Xmx{xmx}", "--enable-native-access=ALL-UNNAMED", "-jar",
                                      str(jar), "serve", "--port", "0", "--data", str(data)],
                                     stdout=self.logf, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 120
        while time.time() < deadline:
            m = re.search(r"listening on (http://127\.0\.0\.1:\d+)", Path(self.logf.name).read_text())
            if m:
                self.url = m.group(1)
                break
            if self.proc.poll() is not None:
                raise RuntimeError(Path(self.logf.name).read_text()[-2000:])
            time.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        self.token = (data / "admin.token").read_text().strip()

    def stop(self):
        self.proc.terminate()
        self.proc.wait(30)


def model_and_opt(args):
    torch.manual_seed(0)
    layer = torch.nn.TransformerEncoderLayer(args.d_model, args.heads, 4 * args.d_model, dropout=0.0,
                                             batch_first=True)
    model = torch.nn.Sequential(torch.nn.Embedding(args.vocab, args.d_model),
                                torch.nn.TransformerEncoder(layer, args.layers, enable_nested_tensor=False),
                                torch.nn.Linear(args.d_model, args.vocab))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    return model, opt


def train(args, mode, client, workdir, repo):
    model, opt = model_and_opt(args)
    g = torch.Generator().manual_seed(1)
    data = torch.randint(0, args.vocab, (args.steps + 1, args.batch, args.seq), generator=g)
    cp = strata.Checkpointer(client, max_in_flight=args.in_flight) if mode.startswith("strata") else None
    stalls, step_times, handles, sizes = [], [], [], []
    path = workdir / "ckpt.pt"
    for step in range(1, args.steps + 1):
        t0 = time.perf_counter()
        x = data[step]
        opt.zero_grad(set_to_none=True)
        logits = model(x[:, :-1])
        loss = torch.nn.functional.cross_entropy(logits.reshape(-1, args.vocab), x[:, 1:].reshape(-1))
        loss.backward()
        opt.step()
        step_times.append(time.perf_counter() - t0)
        if step % args.every == 0:
            state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "step": step}
            t1 = time.perf_counter()
            spec = f"{repo}-{mode.replace('_', '-')}@main"  # one repository per mode: dedup is per repository
            if mode == "torch_save":
                torch.save(state, path)
            elif mode == "strata_sync":
                handles.append(cp.save(state, spec, step=step, metrics={"loss": loss.item()}, blocking=True))
            else:
                handles.append(cp.save(state, spec, step=step, metrics={"loss": loss.item()}))
            stalls.append(time.perf_counter() - t1)
    t_drain = time.perf_counter()
    results = [h.result() for h in handles]
    drain = time.perf_counter() - t_drain
    if cp:
        cp.close()
    state_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values()) + sum(
        t.numel() * t.element_size() for s in opt.state_dict()["state"].values() for t in s.values()
        if isinstance(t, torch.Tensor))
    out = {"saves": len(stalls), "stall_s": [round(s, 4) for s in stalls],
           "stall_median_s": round(statistics.median(stalls), 4),
           "stall_mean_s": round(statistics.mean(stalls), 4),
           "step_median_s": round(statistics.median(step_times), 4),
           "train_seconds": round(sum(step_times), 3), "state_bytes": state_bytes}
    if results:
        out["bytes_sent_per_save"] = [r.bytes_sent for r in results]
        out["background_seconds_per_save"] = [round(r.seconds, 3) for r in results]
        out["drain_after_loop_s"] = round(drain, 3)
    return out


def load_bench(args, client, workdir, repo):
    n_tensors = max(1, int(args.load_gib * 1024 / 32))
    g = torch.Generator().manual_seed(2)
    state = {}
    for i in range(n_tensors):
        if i % 2:
            state[f"layers.{i}.weight"] = torch.randn(4096, 2048, generator=g)  # 32 MiB fp32
        else:
            state[f"layers.{i}.weight"] = torch.randn(4096, 4096, generator=g).to(torch.bfloat16)  # 32 MiB
    total = sum(t.numel() * t.element_size() for t in state.values())
    path = workdir / "big.pt"
    t0 = time.perf_counter()
    torch.save(state, path)
    t_save_local = time.perf_counter() - t0
    t0 = time.perf_counter()
    res = strata.save_checkpoint(state, f"{repo}@big", blocking=True,
                                 checkpointer=strata.Checkpointer(client)).result()
    t_save_strata = time.perf_counter() - t0
    del state

    def best_of(fn, n):
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            x = fn()
            times.append(time.perf_counter() - t0)
            del x
        return min(times), times

    # warm the page cache for torch.load, then measure
    torch.load(path, weights_only=True)
    t_torch, t_torch_all = best_of(lambda: torch.load(path, weights_only=True), args.repeat)
    # context, not the goal's baseline: torch.load with PyTorch's own opt-in to transparent huge
    # pages for its allocations (read at start-up, hence a fresh process), which strata's loader
    # uses for the tensors it fills
    thp = subprocess.run([sys.executable, "-c", (
        "import sys, time, torch\n"
        "best = 1e9\n"
        f"for _ in range({args.repeat}):\n"
        f"    t = time.perf_counter(); x = torch.load({str(path)!r}, weights_only=True); "
        "best = min(best, time.perf_counter() - t); del x\n"
        "print(best)")], env=dict(os.environ, THP_MEM_ALLOC_ENABLE="1"), capture_output=True, text=True)
    t_torch_thp = float(thp.stdout.split()[-1]) if thp.returncode == 0 else None
    # and one untimed strata load: the server's read path warms up (JIT) as the page cache did for torch.load
    strata.load_state_dict(f"{repo}@big", client=client, cache=False)
    t_nocache, t_nocache_all = best_of(lambda: strata.load_state_dict(f"{repo}@big", client=client, cache=False),
                                       args.repeat)
    t_nv, t_nv_all = best_of(lambda: strata.load_state_dict(f"{repo}@big", client=client, cache=False, verify=False),
                             args.repeat)
    # the server's own ceiling: the whole file with one plain GET, into memory, nothing else
    t0 = time.perf_counter()
    client.read_file(repo, "checkpoint.safetensors", "big")
    t_get = time.perf_counter() - t0
    cache_dir = workdir / "cache"
    cold = []
    for _ in range(args.repeat):
        shutil.rmtree(cache_dir, ignore_errors=True)
        t0 = time.perf_counter()
        strata.load_state_dict(f"{repo}@big", client=client, cache=strata.ChunkCache(cache_dir))
        cold.append(time.perf_counter() - t0)
    t_warm, t_warm_all = best_of(lambda: strata.load_state_dict(f"{repo}@big", client=client,
                                                                cache=strata.ChunkCache(cache_dir)), args.repeat)
    # lazy access to one tensor
    r = strata.open_checkpoint(f"{repo}@big", client=client, cache=False)
    t0 = time.perf_counter()
    r.get_tensor("layers.1.weight")
    t_one = time.perf_counter() - t0
    return {"bytes": total, "tensors": n_tensors,
            "torch_save_local_s": round(t_save_local, 3), "strata_save_blocking_s": round(t_save_strata, 3),
            "strata_first_save_bytes_sent": res.bytes_sent,
            "torch_load_s": round(t_torch, 3), "torch_load_all_s": [round(x, 3) for x in t_torch_all],
            "torch_load_thp_s": None if t_torch_thp is None else round(t_torch_thp, 3),
            "strata_load_nocache_s": round(t_nocache, 3), "strata_load_nocache_all_s": [round(x, 3) for x in t_nocache_all],
            "strata_load_nocache_noverify_s": round(t_nv, 3),
            "server_single_get_s": round(t_get, 3),
            "strata_load_cold_cache_s": round(min(cold), 3), "strata_load_cold_cache_all_s": [round(x, 3) for x in cold],
            "strata_load_warm_cache_s": round(t_warm, 3), "strata_load_warm_cache_all_s": [round(x, 3) for x in t_warm_all],
            "strata_lazy_one_tensor_s": round(t_one, 4),
            "ratio_nocache_vs_torch_load": round(t_nocache / t_torch, 3),
            "ratio_nocache_vs_torch_load_thp": None if t_torch_thp is None else round(t_nocache / t_torch_thp, 3),
            "ratio_cold_cache_vs_torch_load": round(min(cold) / t_torch, 3),
            "ratio_warm_cache_vs_torch_load": round(t_warm / t_torch, 3),
            "gb_per_s_nocache": round(total / t_nocache / 1e9, 3)}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--load-gib", type=float, default=2.0, help="size of the state dict for the load test (GiB)")
    ap.add_argument("--d-model", type=int, default=512)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--heads", type=int, default=8)
    ap.add_argument("--vocab", type=int, default=8192)
    ap.add_argument("--seq", type=int, default=64)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--steps", type=int, default=40)
    ap.add_argument("--every", type=int, default=5, help="checkpoint every K steps")
    ap.add_argument("--in-flight", type=int, default=2, help="max async saves in flight")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--xmx", default="2g", help="server heap")
    ap.add_argument("--skip-load", action="store_true")
    ap.add_argument("--skip-train", action="store_true")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="strata-sdk-bench-"))
    srv = Server(work / "data", args.xmx)
    try:
        client = strata.Client(srv.url, srv.token)
        repo = "bench/sdk"
        out = {"benchmark": "sdk", "command": "bench/sdk_bench.py " + " ".join(sys.argv[1:]),
               "torch": torch.__version__, "python": platform.python_version(), "cpus": os.cpu_count(),
               "torch_threads": torch.get_num_threads(), "config": vars(args)}
        if not args.skip_train:
            train_res = {}
            for mode in ("torch_save", "strata_sync", "strata_async"):
                log(f"train: {mode}")
                train_res[mode] = train(args, mode, client, work, repo)
            ts = train_res["torch_save"]["stall_median_s"]
            train_res["async_stall_vs_torch_save"] = round(train_res["strata_async"]["stall_median_s"] / ts, 4)
            train_res["sync_stall_vs_torch_save"] = round(train_res["strata_sync"]["stall_median_s"] / ts, 4)
            train_res["goal_async_stall_le_10pct"] = train_res["async_stall_vs_torch_save"] <= 0.10
            out["train"] = train_res
        if not args.skip_load:
            log("load")
            lr = load_bench(args, client, work, repo)
            lr["goal_load_le_1_5x_torch_load"] = lr["ratio_nocache_vs_torch_load"] <= 1.5
            out["load"] = lr
        print(json.dumps(out, indent=2))
    finally:
        srv.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
