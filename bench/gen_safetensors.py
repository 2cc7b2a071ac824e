#!/usr/bin/env python3
"""Synthetic safetensors checkpoints for Strata benchmarks (fast, deterministic, no training).

Modes:
  series  (default) COUNT checkpoint directories OUT/ckpt-000 .. OUT/ckpt-{COUNT-1}, each about SIZE MiB
          of BF16 tensors with values ~ Normal(0, 0.02) (FP32 -> BF16 round-to-nearest-even, little
          endian), split over FILES shard files `model-0000i-of-0000n.safetensors` with a real
          safetensors header. Tensors are a few MiB each (shapes drawn from a seeded list).
          Checkpoint k+1 = checkpoint k with CHANGE (default 10%) of the tensors, chosen at random
          (seeded), replaced by fresh values; every other tensor, and the headers, are byte-identical.
  single  one file OUT/model.safetensors of SIZE MiB (same tensor recipe), for throughput runs.
  trained delegates to ../shared/data/make_checkpoints.py (beside the checkout) (a small model really trained with Adam;
          slower; every parameter changes a little between checkpoints in its `full` mode); the
          arguments after `--` are passed through, e.g.
          gen_safetensors.py trained --out OUT -- --mode frozen --checkpoints 10

Examples:
  bench/.venv/bin/python bench/gen_safetensors.py series --out bench/out/series --count 10 --size-mib 256
  bench/.venv/bin/python bench/gen_safetensors.py single --out bench/out/big --size-mib 1024
"""
import argparse
import json
import os
import struct
import subprocess
import sys

import numpy as np

MIB = 1 << 20
# Hidden sizes of a small transformer-ish model; a tensor is (rows, cols) with both from this list,
# BF16, so 2 * rows * cols bytes: 0.5 .. 8 MiB ("a few MB").
DIMS = [512, 768, 1024, 1536, 2048]


def bf16_bits(a32):
    """FP32 -> BF16 bit patterns (uint16), round to nearest, ties to even (no NaNs in our data)."""
    u = np.ascontiguousarray(a32, dtype=np.float32).view(np.uint32)
    u = u + (((u >> 16) & 1) + np.uint32(0x7FFF))
    return (u >> 16).astype("<u2")


def random_tensor_bytes(rng, shape):
    vals = rng.standard_normal(size=shape, dtype=np.float32)
    vals *= np.float32(0.02)
    return bf16_bits(vals).tobytes()


def plan_tensors(rng, total_bytes):
    """A list of (name, shape) whose BF16 sizes sum to about total_bytes."""
    plan, acc, i = [], 0, 0
    while acc < total_bytes:
        rows, cols = int(rng.choice(DIMS)), int(rng.choice(DIMS))
        left = total_bytes - acc
        if 2 * rows * cols > left:  # last tensor: shrink rows to fit (at least one row)
            rows = max(1, left // (2 * cols))
        plan.append((f"model.layers.{i // 4}.{['q', 'k', 'v', 'mlp'][i % 4]}.weight", (rows, cols)))
        acc += 2 * rows * cols
        i += 1
    return plan


def write_safetensors(path, names, shapes, blobs, meta):
    header, off = {}, 0
    for n, s, b in zip(names, shapes, blobs):
        header[n] = {"dtype": "BF16", "shape": list(s), "data_offsets": [off, off + len(b)]}
        off += len(b)
    header["__metadata__"] = {k: str(v) for k, v in meta.items()}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)


def shard(plan, files):
    """Split tensor indices into `files` contiguous groups of roughly equal bytes."""
    total = sum(2 * r * c for _, (r, c) in plan)
    groups, cur, acc = [], [], 0
    for i, (_, (r, c)) in enumerate(plan):
        cur.append(i)
        acc += 2 * r * c
        if len(groups) < files - 1 and acc >= total * (len(groups) + 1) / files:
            groups.append(cur)
            cur = []
    groups.append(cur)
    return [g for g in groups if g]


def write_checkpoint(d, plan, groups, blobs, meta):
    os.makedirs(d, exist_ok=True)
    n = len(groups)
    for gi, g in enumerate(groups):
        write_safetensors(os.path.join(d, f"model-{gi + 1:05d}-of-{n:05d}.safetensors"),
                          [plan[i][0] for i in g], [plan[i][1] for i in g], [blobs[i] for i in g], meta)


def series(a):
    rng = np.random.default_rng(a.seed)
    plan = plan_tensors(rng, int(a.size_mib * MIB))
    groups = shard(plan, a.files)
    blobs = [random_tensor_bytes(rng, s) for _, s in plan]
    n_change = max(1, round(a.change * len(plan)))
    changed_log = []
    for k in range(a.count):
        if k > 0:
            idx = sorted(int(i) for i in rng.choice(len(plan), size=n_change, replace=False))
            for i in idx:
                blobs[i] = random_tensor_bytes(rng, plan[i][1])
            changed_log.append({"checkpoint": k, "changed_tensors": idx,
                                "changed_bytes": sum(len(blobs[i]) for i in idx)})
        d = os.path.join(a.out, f"ckpt-{k:03d}")
        write_checkpoint(d, plan, groups, blobs, {"format": "pt", "step": k * 100})
        print(f"gen: {d} ({sum(map(len, blobs)) / MIB:.1f} MiB, {len(plan)} tensors, {len(groups)} files)",
              file=sys.stderr)
    info = {"mode": "series", "count": a.count, "seed": a.seed, "tensors": len(plan), "files": len(groups),
            "bytes_per_checkpoint": sum(map(len, blobs)), "changed_per_step": n_change, "steps": changed_log}
    with open(os.path.join(a.out, "series.json"), "w") as f:
        json.dump(info, f, indent=1)


def single(a):
    rng = np.random.default_rng(a.seed)
    plan = plan_tensors(rng, int(a.size_mib * MIB))
    os.makedirs(a.out, exist_ok=True)
    blobs = [random_tensor_bytes(rng, s) for _, s in plan]
    write_safetensors(os.path.join(a.out, "model.safetensors"), [p[0] for p in plan], [p[1] for p in plan],
                      blobs, {"format": "pt"})
    print(f"gen: {a.out}/model.safetensors ({sum(map(len, blobs)) / MIB:.1f} MiB)", file=sys.stderr)


def trained(a, rest):
    script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "data", "make_checkpoints.py")
    if rest and rest[0] == "--":
        rest = rest[1:]
    sys.exit(subprocess.call([sys.executable, script, "--out", a.out, "--seed", str(a.seed), *rest]))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("mode", nargs="?", choices=["series", "single", "trained"], default="series")
    ap.add_argument("--out", required=True)
    ap.add_argument("--size-mib", type=float, default=256, help="bytes per checkpoint (MiB), default 256")
    ap.add_argument("--count", type=int, default=10, help="checkpoints in the series, default 10")
    ap.add_argument("--change", type=float, default=0.10, help="fraction of tensors replaced per step")
    ap.add_argument("--files", type=int, default=2, help="safetensors shards per checkpoint, default 2")
    ap.add_argument("--seed", type=int, default=1)
    a, rest = ap.parse_known_args()
    if a.mode == "trained":
        trained(a, rest)
    elif rest:
        ap.error(f"unrecognized arguments: {' '.join(rest)}")
    elif a.mode == "series":
        series(a)
    else:
        single(a)


if __name__ == "__main__":
    main()
