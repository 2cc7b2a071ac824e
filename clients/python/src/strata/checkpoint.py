"""save_checkpoint / load_state_dict: PyTorch state dicts to and from Strata commits.

Save pipeline (one :class:`Checkpointer` per process by default):

1. **Snapshot** (caller's thread): every tensor is copied into a host-memory arena (pinned when a
   source is on a GPU). Arenas are pooled and reused, so a steady checkpoint loop does not pay
   page faults on fresh memory. After this the caller may mutate its tensors freely.
2. **Background** (one worker thread, saves committed in order): lay out a safetensors file,
   hash its tensor-aligned chunks (BLAKE3) and the file (SHA-256) in parallel, compare each
   tensor's chunk ids with the previous checkpoint of the branch, ask the server which chunks of
   the changed tensors it lacks, send those, store the manifest, commit (compare-and-set on the
   branch head).

At most ``max_in_flight`` saves are snapshotted but not yet committed; the next save waits for
one to finish, so host memory stays below ``max_in_flight`` × the state dict's size.
"""
from __future__ import annotations

import ctypes
import functools
import hashlib
import os
import sys
import threading
import time
import json
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field

import blake3
import torch

from . import serialization as ser
from .cache import ChunkCache, chunk_id
from .client import DTYPE_CODES, Client, ManifestTensor, parse_spec
from .errors import InvalidRequestError, NotFoundError, SerializationError, StrataError
from .reader import RemoteFile
from .upload import missing_batches

DEFAULT_PATH = "checkpoint.safetensors"
STRUCTURE_KEY = "strata.structure"
FORMAT_KEY = "strata.format"
BATCH_BYTES = 16 << 20
ALIGN = 64


def _progress(total: int, desc: str, enabled: bool | None):
    """A tqdm bar for long transfers, only on a terminal (or when asked)."""
    if enabled is None:
        enabled = total >= (256 << 20) and sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


# ---- snapshot ---------------------------------------------------------------------------------


class _ArenaPool:
    """Reusable host buffers for snapshots (one per save in flight)."""

    def __init__(self):
        self._free: list[torch.Tensor] = []
        self._lock = threading.Lock()

    def take(self, nbytes: int, pinned: bool) -> torch.Tensor:
        with self._lock:
            best = None
            for a in self._free:
                if a.numel() >= nbytes and a.is_pinned() == pinned and (best is None or a.numel() < best.numel()):
                    best = a
            if best is not None:
                self._free.remove(best)
                return best
        return torch.empty(max(nbytes, 1), dtype=torch.uint8, pin_memory=pinned)

    def give(self, arena: torch.Tensor, keep: int):
        with self._lock:
            self._free.append(arena)
            self._free.sort(key=lambda a: -a.numel())
            del self._free[keep:]


_COPY_THREADS = min(4, os.cpu_count() or 1)
_copy_executor: ThreadPoolExecutor | None = None


def _copy_pool() -> ThreadPoolExecutor:
    global _copy_executor
    if _copy_executor is None:
        _copy_executor = ThreadPoolExecutor(_COPY_THREADS, thread_name_prefix="strata-snapshot")
    return _copy_executor


_PIECE = 4 << 20


def _arena_view(arena: torch.Tensor, off: int, n: int, dtype, shape) -> torch.Tensor:
    return arena[off:off + n].view(dtype).view(shape)


def _copy_pieces(arena: torch.Tensor, off: int, n: int, src: torch.Tensor) -> list:
    """Copies ``src`` (``n`` bytes) into ``arena`` at ``off``, as a list of callables for any thread.

    A contiguous CPU ``src`` is copied with the C library's memcpy (``ctypes.memmove``, which
    releases the GIL) in pieces of at most 4 MiB, so that copy threads share the work evenly even
    when one of them loses its core for a while, and without making a tensor view first: for the
    bench's 328 MB state it moved the bytes ~20 % faster than ``Tensor.copy_``'s vectorised loop
    (bench/sdk_bench.py). Anything else (strided, conjugated, on a device) is one ``copy_``."""
    if src.device.type == "cpu" and src.is_contiguous() and not src.is_conj() and not src.is_neg():
        d, s_ = arena.data_ptr() + off, src.data_ptr()
        return [lambda a=a: ctypes.memmove(d + a, s_ + a, min(_PIECE, n - a)) for a in range(0, n, _PIECE)]
    dst = _arena_view(arena, off, n, src.dtype, tuple(src.shape))
    return [lambda: dst.copy_(src)]


class Snapshot:
    """The copies of a state's tensors, packed in one arena, and its structure. The tensor views of
    the arena are made on first use (by the uploader, after the save call returned): making 300 of
    them took ~2 ms of the caller's stall."""

    def __init__(self, structure, layout: list, arena: torch.Tensor | None, nbytes: int):
        self.structure = structure
        self.layout = layout  # (name, dtype, shape, arena offset, bytes)
        self.arena = arena
        self.nbytes = nbytes

    @functools.cached_property
    def tensors(self) -> dict[str, torch.Tensor]:
        """name -> contiguous CPU copy."""
        return {name: _arena_view(self.arena, off, n, dtype, shape) if n else torch.empty(shape, dtype=dtype)
                for name, dtype, shape, off, n in self.layout}


def snapshot(state, pool: _ArenaPool | None = None) -> Snapshot:
    """Copies every tensor of ``state`` to host memory (the values at the moment of the call)."""
    fl = ser.flatten(state)
    layout = []
    copies = []
    total = 0
    on_gpu = False
    for name, t in fl.tensors.items():
        ser.dtype_name(t.dtype)
        n = t.numel() * t.element_size()
        layout.append((name, t.dtype, tuple(t.shape), total, n))
        if n:
            copies.append((n, total, t.detach()))
        total += -(-n // ALIGN) * ALIGN
        on_gpu = on_gpu or t.device.type == "cuda"
    pinned = on_gpu and torch.cuda.is_available()
    arena = (pool.take(total, pinned) if pool else torch.empty(max(total, 1), dtype=torch.uint8, pin_memory=pinned))
    if pinned:
        for n, off, src in copies:
            _arena_view(arena, off, n, src.dtype, tuple(src.shape)).copy_(src, non_blocking=True)
    else:
        # host-to-host copies release the GIL: the copy threads take pieces from one queue
        pieces = [p for n, off, src in sorted(copies, key=lambda c: -c[0]) for p in _copy_pieces(arena, off, n, src)]
        if total < (32 << 20) or _COPY_THREADS < 2:
            for p in pieces:
                p()
        else:
            nxt = iter(pieces)
            lock = threading.Lock()

            def run(_):
                while True:
                    with lock:
                        p = next(nxt, None)
                    if p is None:
                        return
                    p()

            list(_copy_pool().map(run, range(_COPY_THREADS)))
    if pinned:
        torch.cuda.synchronize()
    return Snapshot(fl.structure, layout, arena, total)


def _load_madvise():
    if not sys.platform.startswith("linux"):
        return None
    try:
        fn = ctypes.CDLL(None, use_errno=True).madvise
        fn.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int]
        return fn
    except (OSError, AttributeError):
        return None


_madvise = _load_madvise()
_MADV_HUGEPAGE = 14
_HUGE = 2 << 20


def _huge_pages(t: torch.Tensor):
    """Asks Linux to back a fresh large host tensor with transparent huge pages before its bytes
    are written. Filling 2 GiB of new memory otherwise takes ~524k page faults, which cost more
    than the bytes' network copy (measured in bench/sdk_bench.py: ~0.9 s against ~0.4 s to fill
    2 GiB here); PyTorch offers the same for all its allocations with THP_MEM_ALLOC_ENABLE=1. Only
    whole 2 MiB pages inside the tensor are affected; a refusal (THP off, not Linux) changes nothing."""
    n = t.numel() * t.element_size()
    if _madvise is None or n < 2 * _HUGE:
        return
    start = -(-t.data_ptr() // 4096) * 4096
    end = t.data_ptr() + n
    if end > start:
        _madvise(start, end - start, _MADV_HUGEPAGE)


# ---- handle -----------------------------------------------------------------------------------


@dataclass
class SaveResult:
    repo: str
    branch: str
    commit: str
    path: str
    step: int | None
    file_bytes: int
    tensors: int
    tensors_changed: int
    chunks: int
    chunks_sent: int
    bytes_sent: int
    seconds: float
    snapshot_seconds: float


class CheckpointHandle:
    """What :func:`save_checkpoint` returns: a future of the :class:`SaveResult`."""

    def __init__(self, future: Future, snapshot_seconds: float, owner: "Checkpointer | None" = None):
        self._future = future
        self._owner = owner
        self.snapshot_seconds = snapshot_seconds

    def result(self, timeout: float | None = None) -> SaveResult:
        """Waits for the commit; raises what the upload raised (then the next save does not)."""
        try:
            return self._future.result(timeout)
        except BaseException as e:
            if self._owner is not None:
                self._owner._reported(e)
            raise

    wait = result

    def done(self) -> bool:
        return self._future.done()

    def exception(self, timeout: float | None = None):
        return self._future.exception(timeout)

    @property
    def commit(self) -> str:
        return self.result().commit

    def add_done_callback(self, fn):
        self._future.add_done_callback(lambda f: fn(self))


class Checkpointer:
    """Saves checkpoints of one or many branches in the background (see the module docstring)."""

    def __init__(self, client: Client | None = None, *, max_in_flight: int = 2, hash_threads: int = 2,
                 upload_threads: int = 3, progress: bool | None = None):
        self.client = client or Client()
        self.max_in_flight = max(1, max_in_flight)
        self._slots = threading.BoundedSemaphore(self.max_in_flight)
        self._worker = ThreadPoolExecutor(1, thread_name_prefix="strata-save")
        self._hashers = ThreadPoolExecutor(max(1, hash_threads), thread_name_prefix="strata-hash")
        self._uploaders = ThreadPoolExecutor(max(1, upload_threads), thread_name_prefix="strata-upload")
        self._pool = _ArenaPool()
        self._heads: dict[tuple[str, str], str | None] = {}
        self._prev: dict[tuple[str, str], dict[str, tuple[int, tuple]]] = {}
        self._repos_ok: set[str] = set()
        self._pending_error: BaseException | None = None
        self._lock = threading.Lock()
        self.progress = progress

    # -- public ----------------------------------------------------------------------------------

    def save(self, state, spec: str, *, step: int | None = None, metrics: dict | None = None,
             config=None, datasets=None, lineage: list | None = None, metadata: dict | None = None,
             message: str | None = None, path: str = DEFAULT_PATH, blocking: bool = False) -> CheckpointHandle:
        with self._lock:
            err, self._pending_error = self._pending_error, None
        if err is not None:
            raise StrataError(f"an earlier background save failed: {err}") from err
        repo, branch = parse_spec(spec)
        self._slots.acquire()
        try:
            t0 = time.perf_counter()
            snap = snapshot(state, self._pool)
            t_snap = time.perf_counter() - t0
        except BaseException:
            self._slots.release()
            raise
        meta = dict(metadata or {})
        if config is not None:
            meta["config"] = config
        if datasets is not None:
            meta["datasets"] = datasets
        job = dict(repo=repo, branch=branch, step=step, metrics=metrics, meta=meta, lineage=lineage,
                   message=message, path=path)
        fut = self._worker.submit(self._run, snap, job, t_snap)
        h = CheckpointHandle(fut, t_snap, self)
        fut.add_done_callback(self._done)
        if blocking:
            h.result()
        return h

    def wait(self):
        """Waits for every save submitted so far; raises the first failure not yet reported."""
        self._worker.submit(lambda: None).result()
        with self._lock:
            err, self._pending_error = self._pending_error, None
        if err is not None:
            raise err

    def close(self):
        self._worker.shutdown(wait=True)
        self._hashers.shutdown()
        self._uploaders.shutdown()

    # -- background ------------------------------------------------------------------------------

    def _reported(self, exc):
        with self._lock:
            if self._pending_error is exc:
                self._pending_error = None

    def _done(self, fut: Future):
        exc = fut.exception()
        if exc is not None:
            with self._lock:
                if self._pending_error is None:
                    self._pending_error = exc

    def _run(self, snap: Snapshot, job: dict, t_snap: float) -> SaveResult:
        try:
            return self._upload(snap, job, t_snap)
        finally:
            if snap.arena is not None:
                self._pool.give(snap.arena, self.max_in_flight)
            self._slots.release()

    def _head(self, repo: str, branch: str) -> str | None:
        key = (repo, branch)
        if key not in self._heads:
            if repo not in self._repos_ok:
                self.client.ensure_repo(repo)
                self._repos_ok.add(repo)
            try:
                self._heads[key] = self.client.commit(repo, branch)["id"]
            except NotFoundError:
                self._heads[key] = None
        return self._heads[key]

    def _upload(self, snap: Snapshot, job: dict, t_snap: float) -> SaveResult:
        t0 = time.perf_counter()
        c = self.client
        repo, branch, path = job["repo"], job["branch"], job["path"]
        key = (repo, branch)
        metadata = {FORMAT_KEY: ser.FORMAT,
                    STRUCTURE_KEY: json.dumps(snap.structure, separators=(",", ":"), allow_nan=False)}
        layout = ser.build_layout({n: (t.dtype, tuple(t.shape), t.numel() * t.element_size())
                                   for n, t in snap.tensors.items()}, metadata)
        views = {n: ser.as_buffer(t) for n, t in snap.tensors.items()}
        header_mv = memoryview(layout.header)

        # file SHA-256 on one thread while the chunk ids are computed on the others
        def sha():
            h = hashlib.sha256(layout.header)
            for e in layout.entries:
                h.update(views[e.name])
            return h.hexdigest()

        sha_f = self._uploaders.submit(sha)
        # chunk ids: header chunks, then per tensor its 1 MiB slices
        pieces: list[tuple[str | None, memoryview]] = []
        hl = len(layout.header)
        for a in range(0, hl, ser.SLICE if hl > ser.SLICE else hl):
            pieces.append((None, header_mv[a:a + (ser.SLICE if hl > ser.SLICE else hl)]))
        for e in layout.entries:
            mv = views[e.name]
            for a in range(0, mv.nbytes, ser.SLICE):
                pieces.append((e.name, mv[a:a + ser.SLICE]))

        def hash_group(group):
            return [chunk_id(mv) for _, mv in group]

        groups = [pieces[i:i + 64] for i in range(0, len(pieces), 64)]
        ids: list[bytes] = [x for g in self._hashers.map(hash_group, groups) for x in g]
        per_tensor: dict[str, list[bytes]] = {}
        for (name, _), cid in zip(pieces, ids):
            if name is not None:
                per_tensor.setdefault(name, []).append(cid)
        # tensor digests (their chunk-id lists) against the previous checkpoint of this branch
        prev = self._prev.get(key, {})
        digests = {e.name: (e.end - e.start, tuple(per_tensor.get(e.name, ()))) for e in layout.entries}
        head = self._head(repo, branch)
        unchanged = {n for n, d in digests.items() if prev.get(n) == d} if head is not None else set()
        known = {cid for n in unchanged for cid in digests[n][1]}
        to_ask = [(cid, mv) for (name, mv), cid in zip(pieces, ids) if name not in unchanged or cid not in known]
        manifest = [(cid, mv.nbytes) for (_, mv), cid in zip(pieces, ids)]
        table = manifest_tensors(layout, pieces, ids)

        sent_bytes = 0
        sent_chunks = 0
        upload_id = None
        last_exc = None
        for attempt in range(3):  # resumable: a lost session is replaced, chunks already stored are not resent
            try:
                if upload_id is None:
                    upload_id = c.start_upload(repo)
                batches = missing_batches(c, repo, upload_id, to_ask, BATCH_BYTES)
                bar = _progress(sum(mv.nbytes for b in batches for _, mv in b), f"save {repo}@{branch}", self.progress)

                def send(batch):
                    c.send_chunks(repo, upload_id, batch)
                    n = sum(mv.nbytes for _, mv in batch)
                    if bar is not None:
                        bar.update(n)
                    return n

                try:
                    for n in self._uploaders.map(send, batches):
                        sent_bytes += n
                finally:
                    if bar is not None:
                        bar.close()
                sent_chunks += sum(len(b) for b in batches)
                manifest_id = c.put_manifest(repo, upload_id, manifest, table)
                break
            except NotFoundError as e:  # the session was lost (server restart): start a new one
                last_exc, upload_id = e, None
            except InvalidRequestError as e:
                # The manifest names chunks the repository no longer holds (e.g. collected after a
                # retention rule expired the commit our digests came from): offer every chunk.
                if len(to_ask) == len(pieces):
                    raise
                last_exc, unchanged = e, set()
                to_ask = [(cid, mv) for (_, mv), cid in zip(pieces, ids)]
        else:
            raise last_exc  # type: ignore[misc]

        size = layout.size
        body = {"upload_id": upload_id, "branch": branch, "parent": head,
                "message": job["message"] or (f"checkpoint step {job['step']}" if job["step"] is not None
                                              else "checkpoint"),
                "files": [{"path": path, "size": size, "sha256": sha_f.result(), "manifest_id": manifest_id}]}
        if job["step"] is not None:
            body["step"] = int(job["step"])
        if job["metrics"]:
            body["metrics"] = {k: float(v) for k, v in job["metrics"].items()}
        meta = dict(job["meta"])
        meta["strata_sdk"] = {"format": ser.FORMAT, "path": path}
        body["metadata"] = meta
        if job["lineage"]:
            body["lineage"] = job["lineage"]
        try:
            commit = self._commit(repo, branch, body, manifest_id)
        except BaseException:
            self._heads.pop(key, None)  # learn the head again next time
            raise
        finally:
            c.end_upload(repo, upload_id)
        self._heads[key] = commit["id"]
        self._prev[key] = digests
        return SaveResult(repo=repo, branch=branch, commit=commit["id"], path=path, step=job["step"],
                          file_bytes=size, tensors=len(layout.entries),
                          tensors_changed=len(layout.entries) - len(unchanged), chunks=len(manifest),
                          chunks_sent=sent_chunks, bytes_sent=sent_bytes, seconds=time.perf_counter() - t0,
                          snapshot_seconds=t_snap)

    def _commit(self, repo, branch, body, manifest_id) -> dict:
        from .errors import StrataConnectionError
        try:
            return self.client.create_commit(repo, body)
        except StrataConnectionError:
            # The answer may have been lost after the commit was made: look before failing.
            try:
                head = self.client.commit(repo, branch)
                tree = self.client.tree(repo, head["id"])
                if (head.get("parents") or [None])[0] == body["parent"] and any(
                        f["manifest_id"] == manifest_id for f in tree["files"]) and head.get("message") == body["message"]:
                    return head
            except StrataError:
                pass
            raise


_default: Checkpointer | None = None
_default_lock = threading.Lock()


def default_checkpointer() -> Checkpointer:
    global _default
    with _default_lock:
        if _default is None:
            _default = Checkpointer()
        return _default


def save_checkpoint(state_dict, spec: str, *, step: int | None = None, metrics: dict | None = None,
                    config=None, datasets=None, lineage: list | None = None, metadata: dict | None = None,
                    message: str | None = None, path: str = DEFAULT_PATH, blocking: bool = False,
                    checkpointer: Checkpointer | None = None) -> CheckpointHandle:
    """Saves ``state_dict`` as a new commit on ``owner/name@branch`` (created if needed).

    Returns once the tensors are copied to host memory; the upload runs in the background (or
    before returning with ``blocking=True``). The handle's ``result()`` gives the commit or raises
    the upload's error; a failed background save is also raised by the next ``save_checkpoint``.
    """
    cp = checkpointer or default_checkpointer()
    return cp.save(state_dict, spec, step=step, metrics=metrics, config=config, datasets=datasets, lineage=lineage,
                   metadata=metadata, message=message, path=path, blocking=blocking)


# ---- load --------------------------------------------------------------------------------------


def _resolve_cache(cache) -> ChunkCache | None:
    if cache is True:
        return ChunkCache()
    if cache in (False, None):
        return None
    if isinstance(cache, ChunkCache):
        return cache
    return ChunkCache(cache)


class CheckpointReader:
    """A checkpoint file of one commit, opened lazily: the header is read, tensors on demand."""

    def __init__(self, spec: str, *, client: Client | None = None, path: str | None = None, cache=True,
                 verify: bool = True, workers: int = 8):
        self.client = client or Client()
        self.repo, rev = parse_spec(spec)
        self.commit = self.client.commit(self.repo, rev)
        self.commit_id = self.commit["id"]
        tree = self.client.tree(self.repo, self.commit_id)["files"]
        files = {f["path"]: f for f in tree}
        if path is None:
            path = (self.commit.get("metadata") or {}).get("strata_sdk", {}).get("path") \
                if isinstance(self.commit.get("metadata"), dict) else None
            if path is None:
                path = DEFAULT_PATH if DEFAULT_PATH in files else next(
                    (p for p in files if p.endswith(".safetensors")), None)
        if path not in files:
            raise NotFoundError(f"{self.repo}@{rev}: no file {path!r} in commit {self.commit_id[:12]}", status=404,
                                code="not_found")
        self.path = path
        self.cache = _resolve_cache(cache)
        self.file = RemoteFile(self.client, self.repo, self.commit_id, path, files[path]["size"], self.cache,
                               verify=verify, workers=workers)
        head = self.file.read(0, min(8, self.file.size))
        if len(head) < 8:
            raise SerializationError(f"{path}: not a safetensors file")
        n = int.from_bytes(head, "little")
        self.layout = ser.parse_header(head + self.file.read(8, 8 + n))
        self.entries = {e.name: e for e in self.layout.entries}
        s = self.layout.metadata.get(STRUCTURE_KEY)
        self.structure = json.loads(s) if s else None
        self.stats = {"network_bytes": 0, "cache_bytes": 0}

    def keys(self):
        return list(self.entries)

    def __contains__(self, name):
        return name in self.entries

    def _alloc(self, e: ser.TensorEntry, device) -> torch.Tensor:
        dt = ser.dtype_of(e.dtype)
        pin = device is not None and torch.device(device).type == "cuda" and torch.cuda.is_available()
        t = torch.empty(tuple(e.shape), dtype=dt, pin_memory=pin)
        if not pin:
            _huge_pages(t)
        return t

    def _fill(self, pairs: list[tuple[ser.TensorEntry, torch.Tensor]]):
        targets = [(e.start, ser.as_buffer(t)) for e, t in pairs if e.end > e.start]
        want = sum(e.end - e.start for e, _ in pairs)
        for e, t in pairs:
            if t.numel() * t.element_size() != e.end - e.start:
                raise SerializationError(f"{e.name}: header says {e.end - e.start} bytes for {e.shape} {e.dtype}")
        bar = _progress(want, f"load {self.repo}@{self.commit_id[:10]}", None)
        st = self.file.read_into(targets)
        if bar is not None:
            bar.update(want)
            bar.close()
        for k in st:
            self.stats[k] += st[k]

    def get_tensor(self, name: str, device="cpu") -> torch.Tensor:
        """One tensor, read with HTTP ranges (and the cache) only."""
        e = self.entries[name]
        t = self._alloc(e, device)
        self._fill([(e, t)])
        return t.to(device) if device not in (None, "cpu") else t

    def tensors(self, device="cpu") -> dict[str, torch.Tensor]:
        pairs = [(e, self._alloc(e, device)) for e in self.layout.entries]
        self._fill(pairs)
        out = {e.name: t for e, t in pairs}
        if device not in (None, "cpu"):
            out = {k: v.to(device, non_blocking=True) for k, v in out.items()}
        return out

    def state_dict(self, device="cpu"):
        tensors = self.tensors(device)
        if self.structure is None:  # a plain safetensors file (e.g. pushed with the CLI)
            return tensors
        return ser.unflatten(self.structure, tensors)

    def close(self):
        if self.cache is not None:
            self.cache.maybe_trim()


def open_checkpoint(spec: str, **kw) -> CheckpointReader:
    """Opens ``owner/name@rev`` lazily: ``.keys()``, ``.get_tensor(name)``, ``.state_dict()``."""
    return CheckpointReader(spec, **kw)


def load_state_dict(spec: str, device="cpu", *, client: Client | None = None, path: str | None = None,
                    cache=True, verify: bool = True, workers: int = 8):
    """Loads the state dict saved at ``owner/name@rev`` (branch, tag or commit; default ``main``)."""
    r = CheckpointReader(spec, client=client, path=path, cache=cache, verify=verify, workers=workers)
    try:
        return r.state_dict(device)
    finally:
        r.close()


def manifest_tensors(layout, pieces, ids) -> list:
    """The version-2 manifest tensor table: where each non-empty tensor's chunks are, and their digest."""
    first: dict[str, int] = {}
    count: dict[str, int] = {}
    for i, (name, _) in enumerate(pieces):
        if name is not None:
            first.setdefault(name, i)
            count[name] = count.get(name, 0) + 1
    table = []
    for e in layout.entries:
        if e.name not in first or e.dtype not in DTYPE_CODES:
            continue  # empty tensors have no chunks; dtypes without a code stay out of the table
        f, n = first[e.name], count[e.name]
        digest = blake3.blake3(b"".join(ids[f:f + n])).digest()
        table.append(ManifestTensor(e.name, e.dtype, tuple(e.shape), e.start, e.end - e.start, f, n, digest))
    return table
