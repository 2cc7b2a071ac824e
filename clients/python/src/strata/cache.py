"""A local, content-addressed chunk cache.

Layout: ``<dir>/chunks/<first 2 hex>/<64 hex>``, one file per chunk, named by its BLAKE3-256 id.
A chunk is written to a temporary file and renamed into place, so a reader never sees half a
chunk; every read is verified against the id (a damaged file is deleted and fetched again), so the
cache can never return wrong bytes. Size is bounded by ``max_bytes``: :meth:`trim` removes the
least recently used chunks (by mtime, refreshed on every hit).

Default directory: ``$STRATA_CACHE_DIR``, else ``$XDG_CACHE_HOME/strata/sdk``, else
``~/.cache/strata/sdk``.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import blake3


def chunk_id(data) -> bytes:
    return blake3.blake3(data).digest()


def default_cache_dir() -> Path:
    d = os.environ.get("STRATA_CACHE_DIR")
    if d:
        return Path(d)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "strata" / "sdk"


class ChunkCache:
    def __init__(self, directory: str | os.PathLike | None = None, max_bytes: int = 20 << 30):
        self.dir = Path(directory) if directory else default_cache_dir()
        self.max_bytes = max_bytes
        self.hits = 0
        self.misses = 0
        self.hit_bytes = 0
        self._lock = threading.Lock()
        self._written = 0

    def _path(self, cid: bytes) -> Path:
        h = cid.hex()
        return self.dir / "chunks" / h[:2] / h

    def get_into(self, cid: bytes, buf: memoryview) -> bool:
        """Reads the chunk into ``buf`` (exactly its length) and verifies it; False if absent or bad."""
        p = self._path(cid)
        try:
            with open(p, "rb", buffering=0) as f:
                n = f.readinto(buf)
                if n != buf.nbytes or f.read(1):
                    raise OSError("wrong length")
        except OSError:
            with self._lock:
                self.misses += 1
            return False
        if chunk_id(buf) != cid:
            try:
                p.unlink()
            except OSError:
                pass
            with self._lock:
                self.misses += 1
            return False
        try:
            os.utime(p)
        except OSError:
            pass
        with self._lock:
            self.hits += 1
            self.hit_bytes += buf.nbytes
        return True

    def has(self, cid: bytes) -> bool:
        return self._path(cid).exists()

    def put(self, cid: bytes, data) -> None:
        """Stores a chunk the caller has verified (best effort: a full disk is not an error)."""
        p = self._path(cid)
        if p.exists():
            return
        try:
            p.parent.mkdir(parents=True, exist_ok=True)
            tmp = p.with_name(f".{p.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            with open(tmp, "wb", buffering=0) as f:
                f.write(data)
            os.replace(tmp, p)
            with self._lock:
                self._written += memoryview(data).nbytes
        except OSError:
            pass

    def size(self) -> int:
        total = 0
        root = self.dir / "chunks"
        if root.exists():
            for d in root.iterdir():
                for f in d.iterdir():
                    try:
                        total += f.stat().st_size
                    except OSError:
                        pass
        return total

    def trim(self) -> None:
        """Removes least recently used chunks until the cache holds at most ``max_bytes``."""
        root = self.dir / "chunks"
        if not root.exists():
            return
        files = []
        total = 0
        for d in root.iterdir():
            for f in d.iterdir():
                try:
                    st = f.stat()
                except OSError:
                    continue
                files.append((st.st_mtime, st.st_size, f))
                total += st.st_size
        if total <= self.max_bytes:
            return
        files.sort()
        for _, size, f in files:
            if total <= self.max_bytes:
                break
            try:
                f.unlink()
                total -= size
            except OSError:
                pass

    def maybe_trim(self) -> None:
        with self._lock:
            w, self._written = self._written, 0
        if w:
            self.trim()
