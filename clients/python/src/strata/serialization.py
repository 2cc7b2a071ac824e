"""State dicts <-> one safetensors file, without pickle.

A nested state dict (model, optimizer, scheduler, RNG states, plain Python values) is split into

- its tensors, stored as the tensors of a safetensors file under dotted names
  (``model.layer.weight``, ``optimizer.state.0.exp_avg``), and
- its structure and every non-tensor value, stored as JSON in the header's ``__metadata__``
  under ``strata.structure`` (tagged values: dict keys keep their types, tuples stay tuples,
  non-finite floats, dtypes, devices, ``torch.Size``, bytes, numpy arrays).

The file is a valid safetensors file (readable by the ``safetensors`` library for the dtypes it
knows); the tensors' data regions are contiguous, in state-dict order.

Chunking (docs/chunking.md, "tensor-aligned"): the header (8-byte length + JSON) is one chunk when
it is at most 1 MiB, else 1 MiB slices; each tensor's data is cut into 1 MiB slices from its first
byte (the last slice shorter). An unchanged tensor therefore always gives the same chunk ids.
"""
from __future__ import annotations

import base64
import json
import math
import struct
from dataclasses import dataclass, field

import torch

from .errors import SerializationError

FORMAT = "strata-state/1"
SLICE = 1 << 20

# torch dtype <-> safetensors dtype name (the non-standard names are Strata's; the safetensors
# library refuses them, Strata reads them back bit-exact).
_DTYPES: dict[torch.dtype, str] = {
    torch.bool: "BOOL", torch.uint8: "U8", torch.int8: "I8", torch.int16: "I16", torch.int32: "I32",
    torch.int64: "I64", torch.float16: "F16", torch.bfloat16: "BF16", torch.float32: "F32",
    torch.float64: "F64", torch.complex64: "C64", torch.complex128: "C128",
}
for _name, _st in (("uint16", "U16"), ("uint32", "U32"), ("uint64", "U64"),
                   ("float8_e4m3fn", "F8_E4M3"), ("float8_e5m2", "F8_E5M2"),
                   ("float8_e4m3fnuz", "F8_E4M3FNUZ"), ("float8_e5m2fnuz", "F8_E5M2FNUZ"),
                   ("float8_e8m0fnu", "F8_E8M0"), ("complex32", "C32")):
    if hasattr(torch, _name):
        _DTYPES[getattr(torch, _name)] = _st
_BY_NAME = {v: k for k, v in _DTYPES.items()}


def dtype_name(dt: torch.dtype) -> str:
    try:
        return _DTYPES[dt]
    except KeyError:
        raise SerializationError(f"dtype {dt} is not supported") from None


def dtype_of(name: str) -> torch.dtype:
    try:
        return _BY_NAME[name]
    except KeyError:
        raise SerializationError(f"unknown dtype {name!r} in a Strata state file") from None


def tensor_bytes(t: torch.Tensor) -> torch.Tensor:
    """A flat uint8 view of a contiguous CPU tensor's bytes (0-d and empty tensors included)."""
    if t.numel() == 0:
        return torch.empty(0, dtype=torch.uint8)
    return t.reshape(-1).view(torch.uint8)


def as_buffer(t: torch.Tensor) -> memoryview:
    """A writable memoryview of a contiguous CPU tensor's bytes."""
    b = tensor_bytes(t)
    if b.numel() == 0:
        return memoryview(bytearray(0))
    return memoryview(b.numpy()).cast("B")


# ---- structure ------------------------------------------------------------------------------


@dataclass
class Flattened:
    structure: object  # JSON-able tree with {"t": name} leaves for tensors
    tensors: dict[str, torch.Tensor] = field(default_factory=dict)  # name -> tensor (as given)


def _key_part(k) -> str:
    return str(k)


def flatten(state) -> Flattened:
    """Splits ``state`` into a JSON structure and named tensors (aliases of one tensor stored once)."""
    tensors: dict[str, torch.Tensor] = {}
    seen: dict[tuple, str] = {}

    def tensor_leaf(t: torch.Tensor, path: list[str]):
        if t.is_sparse or t.layout != torch.strided:
            raise SerializationError(f"{'.'.join(path)}: only strided (dense) tensors are supported, not {t.layout}")
        key = (t.device.type, t.device.index, t.data_ptr(), t.dtype, tuple(t.shape), tuple(t.stride())) \
            if t.numel() else None
        if key is not None and key in seen:
            return {"t": seen[key]}
        name = ".".join(path) or "tensor"
        base, n = name, 1
        while name in tensors:
            name = f"{base}#{n}"
            n += 1
        tensors[name] = t
        if key is not None:
            seen[key] = name
        leaf = {"t": name}
        if isinstance(t, torch.nn.Parameter):
            leaf["param"] = True
            leaf["grad"] = t.requires_grad
        return leaf

    def enc(v, path):
        if isinstance(v, torch.Tensor):
            return tensor_leaf(v.detach() if not isinstance(v, torch.nn.Parameter) else v, path)
        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, int):
            return v if -(1 << 63) <= v < (1 << 63) else {"int": str(v)}
        if isinstance(v, float):
            return v if math.isfinite(v) else {"float": repr(v)}
        if isinstance(v, dict):
            items = []
            for k, x in v.items():
                items.append([enc_key(k, path), enc(x, path + [_key_part(k)])])
            out = {"dict": items}
            if type(v) is not dict:
                out["ordered"] = True
            return out
        if isinstance(v, torch.Size):
            return {"size": list(v)}
        if isinstance(v, tuple):
            return {"tuple": [enc(x, path + [str(i)]) for i, x in enumerate(v)]}
        if isinstance(v, list):
            return {"list": [enc(x, path + [str(i)]) for i, x in enumerate(v)]}
        if isinstance(v, torch.dtype):
            return {"dtype": str(v).removeprefix("torch.")}
        if isinstance(v, torch.device):
            return {"device": str(v)}
        if isinstance(v, (bytes, bytearray)):
            return {"bytes": base64.b64encode(bytes(v)).decode()}
        if isinstance(v, complex):
            return {"complex": [repr(v.real), repr(v.imag)]}
        mod = type(v).__module__
        if mod == "numpy":
            import numpy as np
            if isinstance(v, np.ndarray):
                return {"ndarray": tensor_leaf(torch.from_numpy(np.ascontiguousarray(v)), path)["t"]}
            if isinstance(v, np.generic):
                return {"npscalar": str(v.dtype), "value": enc(v.item(), path)}
        if isinstance(v, set | frozenset):
            return {"set": [enc(x, path) for x in sorted(v, key=repr)], "frozen": isinstance(v, frozenset)}
        raise SerializationError(f"{'.'.join(path) or 'state'}: cannot store a {type(v).__qualname__} "
                                 f"without pickle (tensors, numbers, strings, None, lists, tuples, dicts, "
                                 f"dtypes, devices, bytes and numpy arrays are supported)")

    def enc_key(k, path):
        if isinstance(k, (str, bool, int, float)) or k is None or isinstance(k, tuple):
            return enc(k, path)
        raise SerializationError(f"{'.'.join(path)}: dict key {k!r} of type {type(k).__qualname__} is not supported")

    return Flattened(enc(state, []), tensors)


def unflatten(structure, tensors: dict[str, torch.Tensor]):
    import collections

    def dec(v):
        if v is None or isinstance(v, (bool, int, float, str)):
            return v
        if isinstance(v, dict):
            if "t" in v:
                t = tensors[v["t"]]
                if v.get("param"):
                    t = torch.nn.Parameter(t, requires_grad=v.get("grad", True))
                return t
            if "dict" in v:
                d = collections.OrderedDict() if v.get("ordered") else {}
                for k, x in v["dict"]:
                    d[dec(k)] = dec(x)
                return d
            if "list" in v:
                return [dec(x) for x in v["list"]]
            if "tuple" in v:
                return tuple(dec(x) for x in v["tuple"])
            if "size" in v:
                return torch.Size(v["size"])
            if "int" in v:
                return int(v["int"])
            if "float" in v:
                return float(v["float"])
            if "dtype" in v:
                return getattr(torch, v["dtype"])
            if "device" in v:
                return torch.device(v["device"])
            if "bytes" in v:
                return base64.b64decode(v["bytes"])
            if "complex" in v:
                return complex(float(v["complex"][0]), float(v["complex"][1]))
            if "ndarray" in v:
                return tensors[v["ndarray"]].numpy()
            if "npscalar" in v:
                import numpy as np
                return np.dtype(v["npscalar"]).type(dec(v["value"]))
            if "set" in v:
                s = [dec(x) for x in v["set"]]
                return frozenset(s) if v.get("frozen") else set(s)
        raise SerializationError(f"unknown value in a Strata state structure: {v!r}")

    # Parameters wrapping one tensor several times must stay one object (tied weights).
    cache: dict[int, object] = {}
    orig = dec

    def dec_cached(v):
        if isinstance(v, dict) and "t" in v and v.get("param"):
            key = v["t"]
            if key not in cache:
                cache[key] = orig(v)
            return cache[key]
        return orig(v)

    dec = dec_cached  # noqa: F811 (closures above call the cached one)
    return dec(structure)


# ---- file layout -----------------------------------------------------------------------------


@dataclass
class TensorEntry:
    name: str
    dtype: str
    shape: list[int]
    start: int  # absolute offset in the file
    end: int


@dataclass
class Layout:
    header: bytes  # the 8-byte length and the JSON header, padded
    entries: list[TensorEntry]
    metadata: dict[str, str]

    @property
    def size(self) -> int:
        return self.entries[-1].end if self.entries else len(self.header)

    def chunk_spans(self) -> list[tuple[int, int]]:
        """The file's chunk boundaries, [(start, end)], by the tensor-aligned rule."""
        spans = []
        h = len(self.header)
        if h <= SLICE:
            spans.append((0, h))
        else:
            spans += [(i, min(i + SLICE, h)) for i in range(0, h, SLICE)]
        for e in self.entries:
            spans += [(i, min(i + SLICE, e.end)) for i in range(e.start, e.end, SLICE)]
        return spans


def build_layout(tensors: dict[str, tuple[torch.dtype, tuple, int]], metadata: dict[str, str]) -> Layout:
    """``tensors``: name -> (dtype, shape, nbytes), in file order."""
    header = {"__metadata__": metadata} if metadata else {}
    off = 0
    rel = []
    for name, (dt, shape, nbytes) in tensors.items():
        header[name] = {"dtype": dtype_name(dt), "shape": list(shape), "data_offsets": [off, off + nbytes]}
        rel.append((name, dtype_name(dt), list(shape), off, off + nbytes))
        off += nbytes
    hj = json.dumps(header, separators=(",", ":"), ensure_ascii=False).encode()
    hj += b" " * (-(len(hj) + 8) % 8)
    head = struct.pack("<Q", len(hj)) + hj
    base = len(head)
    return Layout(head, [TensorEntry(n, d, s, base + a, base + b) for n, d, s, a, b in rel], metadata)


def parse_header(head: bytes) -> Layout:
    """``head``: at least the 8-byte length and the JSON header."""
    (n,) = struct.unpack_from("<Q", head, 0)
    if n > 100 << 20 or len(head) < 8 + n:
        raise SerializationError("not a safetensors header")
    h = json.loads(head[8:8 + n])
    meta = h.pop("__metadata__", None) or {}
    base = 8 + n
    entries = [TensorEntry(k, v["dtype"], v["shape"], base + v["data_offsets"][0], base + v["data_offsets"][1])
               for k, v in h.items()]
    entries.sort(key=lambda e: e.start)
    return Layout(bytes(head[:base]), entries, meta)
