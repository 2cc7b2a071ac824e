#!/usr/bin/env python3
"""Generates the small model-file fixtures of dev.strata.core.tensor's tests.

Run with a venv holding torch, numpy, safetensors and gguf:
    python3 -m venv /tmp/venv && /tmp/venv/bin/pip install torch numpy safetensors gguf
    /tmp/venv/bin/python make_fixtures.py
Writes into this script's directory; also writes expected.txt, the tensors each file should
parse to (name dtype shape byte-length hex-of-first-and-last-8-bytes, one per line, per file),
which the Java tests read.
Deterministic (fixed seeds), but torch/gguf versions may change framing bytes.
"""
import os
from collections import OrderedDict

import numpy as np
import torch
from safetensors.numpy import save_file
import gguf

HERE = os.path.dirname(os.path.abspath(__file__))
torch.manual_seed(1)
rng = np.random.default_rng(1)
lines = []


def hx(b):
    b = bytes(b)
    return (b[:8] + b[-8:]).hex()


def storage_bytes(t):
    s = t.untyped_storage()
    return bytes(s)


def torch_fixture():
    base = torch.randn(8, 16)
    sd = OrderedDict()
    sd["embed.weight"] = torch.randn(32, 16).to(torch.bfloat16)
    sd["layer.0.weight"] = torch.randn(16, 16).to(torch.float16)
    sd["layer.0.bias"] = torch.randn(16)
    sd["base"] = base
    sd["base_t"] = base.t()             # shares base's storage, non-contiguous view
    sd["base_row"] = base[2]            # shares base's storage, offset view
    sd["steps"] = torch.arange(10, dtype=torch.int64)
    sd["mask"] = torch.tensor([True, False, True, True])
    sd["lonely_view"] = torch.randn(100)[10:30]  # a view that does not cover its storage
    path = os.path.join(HERE, "state_dict.pt")
    torch.save(sd, path)
    lines.append("file state_dict.pt")
    # One segment per storage, named after the first tensor using it.
    sb = lambda k: hx(storage_bytes(sd[k]))
    lines.append("embed.weight BF16 32,16 1024 " + sb("embed.weight"))
    lines.append("layer.0.weight F16 16,16 512 " + sb("layer.0.weight"))
    lines.append("layer.0.bias F32 16 64 " + sb("layer.0.bias"))
    lines.append("base F32 128 512 " + sb("base"))  # views differ: 1-D element count
    lines.append("steps I64 10 80 " + sb("steps"))
    lines.append("mask BOOL 4 4 " + sb("mask"))
    lines.append("lonely_view F32 100 400 " + sb("lonely_view"))


def safetensors_fixture():
    tensors = OrderedDict()
    tensors["a.weight"] = rng.standard_normal((64, 32)).astype(np.float32)
    tensors["b.weight"] = rng.standard_normal((16, 16)).astype(np.float16)
    tensors["c.ids"] = np.arange(12, dtype=np.int64)
    tensors["d.flag"] = np.array([True, False, True])
    save_file(tensors, os.path.join(HERE, "small.safetensors"), metadata={"format": "np"})
    lines.append("file small.safetensors")
    for k, v in sorted(tensors.items()):
        dt = {np.float32: "F32", np.float16: "F16", np.int64: "I64", np.bool_: "BOOL"}[v.dtype.type]
        lines.append(f"{k} {dt} {','.join(map(str, v.shape))} {v.nbytes} {hx(v.tobytes())}")


def gguf_fixture():
    w = gguf.GGUFWriter(os.path.join(HERE, "small.gguf"), "llama")
    w.add_block_count(1)
    w.add_array("tokenizer.ggml.tokens", ["<s>", "</s>", "hello"])
    w.add_array("test.numbers", [1, 2, 3])
    a = rng.standard_normal((8, 32)).astype(np.float32)
    b = rng.standard_normal((4, 4)).astype(np.float16)
    c = np.arange(7, dtype=np.int32)
    w.add_tensor("tok.weight", a)
    w.add_tensor("norm.weight", b)
    w.add_tensor("pos", c)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    lines.append("file small.gguf")
    # GGUF dims are innermost first.
    lines.append("tok.weight F32 32,8 1024 " + hx(a.tobytes()))
    lines.append("norm.weight F16 4,4 32 " + hx(b.tobytes()))
    lines.append("pos I32 7 28 " + hx(c.tobytes()))


torch_fixture()
safetensors_fixture()
gguf_fixture()
with open(os.path.join(HERE, "expected.txt"), "w") as f:
    f.write("\n".join(lines) + "\n")
print("torch", torch.__version__, "gguf", gguf.__version__ if hasattr(gguf, "__version__") else "?")
