"""Reading files of a commit: parallel HTTP range requests straight into destination buffers,
with the local chunk cache in front.

A file is read through its manifest (chunk ids and lengths, so chunk offsets): chunks the cache
holds are read from it, the others are fetched with ``Range`` requests covering runs of
consecutive chunks (up to ``run_bytes`` each, ``workers`` in parallel). Every chunk is checked
against its BLAKE3 id before it is trusted or cached. A chunk that lies wholly inside one
destination buffer (always the case for tensor-aligned files the SDK writes) is read in place;
others go through a small bounce buffer.
"""
from __future__ import annotations

import bisect
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from .cache import ChunkCache, chunk_id
from .client import Client
from .errors import IntegrityError


@dataclass
class Chunk:
    cid: bytes
    start: int
    end: int


class RemoteFile:
    """One file of one commit (``rev`` should be a commit id so that every read sees the same bytes)."""

    def __init__(self, client: Client, repo: str, rev: str, path: str, size: int, cache: ChunkCache | None,
                 verify: bool = True, workers: int = 4, run_bytes: int = 16 << 20):
        self.client, self.repo, self.rev, self.path, self.size = client, repo, rev, path, size
        self.cache, self.verify, self.workers, self.run_bytes = cache, verify, workers, run_bytes
        self._chunks: list[Chunk] | None = None
        self._starts: list[int] = []

    @property
    def chunks(self) -> list[Chunk]:
        if self._chunks is None:
            off, out = 0, []
            for cid, n in self.client.manifest(self.repo, self.path, self.rev):
                out.append(Chunk(cid, off, off + n))
                off += n
            if off != self.size:
                raise IntegrityError(f"{self.path}: manifest covers {off} bytes, the tree says {self.size}")
            self._chunks = out
            self._starts = [c.start for c in out]
        return self._chunks

    def read(self, start: int, end: int) -> bytes:
        buf = bytearray(max(0, end - start))
        self.read_into([(start, memoryview(buf))])
        return bytes(buf)

    def read_into(self, targets: list[tuple[int, memoryview]]) -> dict:
        """Fills each (file offset, buffer) with the file's bytes there. Returns transfer counts."""
        targets = sorted(((o, mv.cast("B") if mv.format != "B" else mv) for o, mv in targets if mv.nbytes),
                         key=lambda x: x[0])
        if not targets:
            return {"network_bytes": 0, "cache_bytes": 0}
        chunks = self.chunks
        t_starts = [o for o, _ in targets]
        plan = []  # (chunk, direct buffer or None, scatter list)
        lo_index = max(0, bisect.bisect_right(self._starts, targets[0][0]) - 1)
        for c in chunks[lo_index:]:
            if c.start >= targets[-1][0] + targets[-1][1].nbytes:
                break
            # targets overlapping [c.start, c.end)
            i = max(0, bisect.bisect_right(t_starts, c.start) - 1)
            pieces = []
            while i < len(targets) and targets[i][0] < c.end:
                o, mv = targets[i]
                a, b = max(o, c.start), min(o + mv.nbytes, c.end)
                if a < b:
                    pieces.append((a, b, o, mv))
                i += 1
            if not pieces:
                continue
            a, b, o, mv = pieces[0]
            if len(pieces) == 1 and a == c.start and b == c.end:
                plan.append((c, mv[a - o:b - o], None))
            else:
                plan.append((c, None, pieces))
        stats = {"network_bytes": 0, "cache_bytes": 0}

        def scatter(c, data, pieces):
            for a, b, o, mv in pieces:
                mv[a - o:b - o] = data[a - c.start:b - c.start]

        # runs of consecutive chunks, each handled by one worker: cache first, then one range
        # request per stretch of chunks the cache lacks
        runs, cur, cur_bytes = [], [], 0
        for item in plan:
            c = item[0]
            if cur and (cur[-1][0].end != c.start or cur_bytes + (c.end - c.start) > self.run_bytes):
                runs.append(cur)
                cur, cur_bytes = [], 0
            cur.append(item)
            cur_bytes += c.end - c.start
        if cur:
            runs.append(cur)

        def fetch(stretch):
            checks = self.verify or self.cache is not None  # every chunk of the stretch is hashed below
            self.client.read_range_into(self.repo, self.path, self.rev, stretch[0][0].start, [b for _, b, _ in stretch],
                                        verify_ids=checks)
            for c, buf, pieces in stretch:
                if checks:
                    if chunk_id(buf) != c.cid:
                        raise IntegrityError(f"{self.repo}@{self.rev}:{self.path}: bytes {c.start}-{c.end} "
                                             f"do not hash to chunk {c.cid.hex()}")
                    if self.cache is not None:
                        self.cache.put(c.cid, buf)
                if pieces:
                    scatter(c, buf, pieces)

        def do_run(run):
            net = cached = 0
            stretch = []
            for c, direct, pieces in run:
                buf = direct if direct is not None else memoryview(bytearray(c.end - c.start))
                if self.cache is not None and self.cache.get_into(c.cid, buf):
                    cached += c.end - c.start
                    if pieces:
                        scatter(c, buf, pieces)
                    if stretch:
                        fetch(stretch)
                        stretch = []
                else:
                    stretch.append((c, buf, pieces))
                    net += c.end - c.start
            if stretch:
                fetch(stretch)
            return net, cached

        if len(runs) <= 1 or self.workers <= 1:
            results = [do_run(r) for r in runs]
        else:
            with ThreadPoolExecutor(min(self.workers, len(runs)), thread_name_prefix="strata-read") as ex:
                results = list(ex.map(do_run, runs))
        for net, cached in results:
            stats["network_bytes"] += net
            stats["cache_bytes"] += cached
        return stats
