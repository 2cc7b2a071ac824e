"""HTTP client for the Strata REST API (docs/api.md) and its dedup-aware transfer protocol.

Standard library only for the transport (``http.client``): responses are read with ``readinto``
straight into caller-provided buffers (tensor memory), request bodies are sent from memoryviews
without joining them. One client is safe to use from many threads: each request takes a
connection from a small pool.
"""
from __future__ import annotations

import http.client
import json as _json
import os
import random
import socket
import struct
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

from .errors import StrataConnectionError, StrataError, error_for

API = "/api/v1"
DEFAULT_URL = "http://127.0.0.1:8470"
#: Statuses worth retrying: the server is busy, restarting or behind a proxy that gave up.
TRANSIENT_STATUS = frozenset({500, 502, 503, 504})
_TRANSPORT_ERRORS = (ConnectionError, socket.timeout, TimeoutError, http.client.HTTPException, OSError)


def config_file() -> Path:
    """Where ``strata login`` keeps url and token: $STRATA_CONFIG_DIR or ~/.config/strata."""
    d = os.environ.get("STRATA_CONFIG_DIR")
    return Path(d, "config.properties") if d else Path.home() / ".config" / "strata" / "config.properties"


def read_properties(path: Path) -> dict[str, str]:
    """A small reader for java.util.Properties files (key=value / key: value, # comments, escapes)."""
    out: dict[str, str] = {}
    try:
        text = path.read_text(encoding="latin-1")
    except OSError:
        return out
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] in "#!":
            continue
        key, val, i, esc = [], None, 0, False
        buf = key
        while i < len(line):
            c = line[i]
            if esc:
                buf.append({"t": "\t", "n": "\n", "r": "\r", "f": "\f"}.get(c, c))
                esc = False
            elif c == "\\":
                esc = True
            elif val is None and c in "=:":
                val = []
                buf = val
                i += 1
                while i < len(line) and line[i] in " \t":
                    i += 1
                continue
            else:
                buf.append(c)
            i += 1
        out["".join(key).strip()] = "".join(val or [])
    return out


def resolve_credentials(url: str | None = None, token: str | None = None) -> tuple[str, str | None]:
    """Argument, then $STRATA_URL / $STRATA_TOKEN, then the CLI's config (url=, token=)."""
    cfg = None
    if url is None:
        url = os.environ.get("STRATA_URL")
    if url is None:
        cfg = read_properties(config_file())
        url = cfg.get("url", DEFAULT_URL)
    if token is None:
        token = os.environ.get("STRATA_TOKEN")
    if token is None:
        if cfg is None:
            cfg = read_properties(config_file())
        token = cfg.get("token")
    return url.rstrip("/"), token


@dataclass
class Response:
    status: int
    headers: http.client.HTTPMessage
    data: bytes

    def json(self):
        return _json.loads(self.data) if self.data else None


@dataclass
class RetryPolicy:
    """Exponential backoff with jitter: ``attempts`` tries in all, waits base·2^k capped at ``max_wait``."""
    attempts: int = 5
    base: float = 0.25
    max_wait: float = 8.0

    def wait(self, k: int) -> float:
        return min(self.max_wait, self.base * (2 ** k)) * (0.5 + random.random() / 2)


def parse_spec(spec: str, default_rev: str | None = "main") -> tuple[str, str | None]:
    """``owner/name[@rev]`` -> (repo, rev)."""
    if "@" in spec:
        repo, rev = spec.split("@", 1)
    else:
        repo, rev = spec, default_rev
    if repo.count("/") != 1 or not all(repo.split("/")):
        raise ValueError(f"not a repository name 'owner/name[@rev]': {spec!r}")
    return repo, rev


def q(s: str) -> str:
    return urllib.parse.quote(s, safe="")


def qpath(p: str) -> str:
    return urllib.parse.quote(p, safe="/")


class Client:
    """A Strata server, signed in with a bearer token (see :func:`resolve_credentials`)."""

    def __init__(self, url: str | None = None, token: str | None = None, *, retry: RetryPolicy | None = None,
                 timeout: float = 300.0, pool_size: int = 8):
        self.url, self.token = resolve_credentials(url, token)
        u = urllib.parse.urlsplit(self.url)
        if u.scheme not in ("http", "https"):
            raise ValueError(f"unsupported URL {self.url!r}")
        self._scheme, self._host, self._port = u.scheme, u.hostname, u.port
        self._base = u.path.rstrip("/")
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self._pool: list[http.client.HTTPConnection] = []
        self._pool_lock = threading.Lock()
        self._pool_size = pool_size
        self.bytes_sent = 0  # chunk bytes this client sent (frames' payloads)
        self.bytes_received = 0  # file bytes this client read from the server

    # ---- transport -------------------------------------------------------------------------

    def _conn(self) -> http.client.HTTPConnection:
        with self._pool_lock:
            if self._pool:
                return self._pool.pop()
        cls = http.client.HTTPSConnection if self._scheme == "https" else http.client.HTTPConnection
        c = cls(self._host, self._port, timeout=self.timeout)
        c.connect()
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        for opt, size in ((socket.SO_RCVBUF, 4 << 20), (socket.SO_SNDBUF, 4 << 20)):
            try:
                c.sock.setsockopt(socket.SOL_SOCKET, opt, size)
            except OSError:
                pass
        return c

    def _release(self, c: http.client.HTTPConnection, reusable: bool):
        if reusable:
            with self._pool_lock:
                if len(self._pool) < self._pool_size:
                    self._pool.append(c)
                    return
        c.close()

    def close(self):
        with self._pool_lock:
            for c in self._pool:
                c.close()
            self._pool.clear()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def _headers(self, extra=None):
        h = {"Accept": "application/json"}
        if self.token:
            h["Authorization"] = "Bearer " + self.token
        if extra:
            h.update(extra)
        return h

    def _target(self, path: str, query: dict | None) -> str:
        t = self._base + API + path
        if query:
            t += "?" + urllib.parse.urlencode({k: (str(v).lower() if isinstance(v, bool) else v)
                                               for k, v in query.items() if v is not None})
        return t

    def _send(self, method, target, headers, body):
        """One try: returns (conn, HTTPResponse). ``body`` is bytes, or a list of buffers."""
        c = self._conn()
        try:
            if isinstance(body, (list, tuple)):
                c.putrequest(method, target, skip_accept_encoding=True)
                for k, v in headers.items():
                    c.putheader(k, v)
                c.putheader("Content-Length", str(sum(memoryview(b).nbytes for b in body)))
                c.endheaders()
                for b in body:
                    c.sock.sendall(b)
            else:
                c.request(method, target, body=body, headers=headers)
            return c, c.getresponse()
        except BaseException:
            c.close()
            raise

    def request(self, method: str, path: str, *, query: dict | None = None, json=None, body=None,
                headers: dict | None = None, ok: Sequence[int] = (200, 201, 204, 206), retry: bool = True,
                into: Iterable[memoryview] | None = None) -> Response:
        """Sends a request, retrying transport failures and 5xx with backoff.

        With ``into``, the (2xx) body is read straight into those buffers, in order, and
        ``Response.data`` is empty.
        """
        h = self._headers(headers)
        if json is not None:
            body = _json.dumps(json, separators=(",", ":"), allow_nan=False).encode()
            h["Content-Type"] = "application/json"
        elif body is not None:
            h["Content-Type"] = "application/octet-stream"
        target = self._target(path, query)
        attempts = self.retry.attempts if retry else 1
        last: Exception | None = None
        for k in range(attempts):
            if k:
                time.sleep(self.retry.wait(k - 1))
            try:
                c, r = self._send(method, target, h, body)
            except _TRANSPORT_ERRORS as e:
                last = e
                continue
            try:
                if r.status in ok and into is not None:
                    total = 0
                    for mv in into:
                        n, size = 0, mv.nbytes
                        while n < size:
                            got = r.readinto(mv[n:])
                            if not got:
                                raise http.client.IncompleteRead(b"", size - n)
                            n += got
                        total += size
                    extra = r.read()
                    if extra:
                        raise StrataError(f"{method} {target}: {len(extra)} more bytes than expected")
                    self.bytes_received += total
                    self._release(c, not r.will_close)
                    return Response(r.status, r.headers, b"")
                data = r.read()
                self._release(c, not r.will_close)
            except _TRANSPORT_ERRORS as e:
                c.close()
                last = e
                continue
            if r.status in ok:
                return Response(r.status, r.headers, data)
            if r.status in TRANSIENT_STATUS and k + 1 < attempts:
                last = self._error(method, target, r.status, data)
                continue
            raise self._error(method, target, r.status, data)
        if isinstance(last, StrataError):
            raise last
        raise StrataConnectionError(f"{method} {self.url}{target}: server unreachable after {attempts} "
                                    f"attempt(s): {last!r}") from last

    @staticmethod
    def _error(method, target, status, data) -> StrataError:
        code, msg = None, data.decode("utf-8", "replace")[:500]
        try:
            e = _json.loads(data)["error"]
            code, msg = e.get("code"), e.get("message", msg)
        except Exception:
            pass
        return error_for(status, code, f"{method} {target.split('?')[0]}: {status} {code or ''}: {msg}".replace("  ", " "),
                         body=data)

    def get_json(self, path, **query):
        return self.request("GET", path, query=query or None).json()

    # ---- identity and repositories ---------------------------------------------------------

    def whoami(self) -> dict:
        return self.get_json("/auth/whoami")

    def health(self) -> dict:
        return self.get_json("/health")

    def repo(self, repo: str) -> dict:
        return self.get_json(f"/repos/{repo}")

    def create_repo(self, repo: str, description: str = "", visibility: str | None = None) -> dict:
        body = {"name": repo, "description": description}
        if visibility:
            body["visibility"] = visibility
        return self.request("POST", "/repos", json=body).json()

    def ensure_repo(self, repo: str) -> None:
        from .errors import ConflictError, NotFoundError
        try:
            self.repo(repo)
        except NotFoundError:
            try:
                self.create_repo(repo)
            except ConflictError:
                pass

    def refs(self, repo: str) -> list[dict]:
        return self.get_json(f"/repos/{repo}/refs")

    def branches(self, repo: str) -> list[str]:
        return [r["name"] for r in self.refs(repo) if r["kind"] == "branch"]

    def create_ref(self, repo: str, name: str, kind: str = "branch", from_rev: str = "main") -> dict:
        return self.request("POST", f"/repos/{repo}/refs", json={"name": name, "kind": kind, "from": from_rev}).json()

    def commit(self, repo: str, rev: str = "main") -> dict:
        return self.get_json(f"/repos/{repo}/commit", rev=rev)

    def log(self, repo: str, rev: str = "main", limit: int | None = None) -> list[dict]:
        return self.get_json(f"/repos/{repo}/log", rev=rev, limit=limit)

    def tree(self, repo: str, rev: str = "main") -> dict:
        return self.get_json(f"/repos/{repo}/tree", rev=rev)

    def lineage(self, repo: str, rev: str = "main") -> dict:
        return self.get_json(f"/repos/{repo}/lineage", rev=rev)

    def find(self, repo: str, *, branch=None, step=None, latest=False, best=None, minimize=False,
             derived_from=None, limit=None) -> list[dict]:
        return self.get_json(f"/repos/{repo}/find", branch=branch, step=step, latest=True if latest else None,
                             best=best, min=True if minimize else None, derived_from=derived_from, limit=limit)

    def diff(self, repo: str, from_rev: str, to_rev: str) -> dict:
        return self.get_json(f"/repos/{repo}/diff", **{"from": from_rev, "to": to_rev})

    def transfer_stats(self) -> dict:
        return self.get_json("/admin/transfer-stats")

    # ---- reading ---------------------------------------------------------------------------

    def manifest(self, repo: str, path: str, rev: str) -> list[tuple[bytes, int]]:
        """The file's chunk list: [(32-byte id, length)] (docs/format.md, "Manifest")."""
        data = self.request("GET", f"/repos/{repo}/manifest/{qpath(path)}", query={"rev": rev}).data
        return decode_manifest(data)

    def read_file(self, repo: str, path: str, rev: str, start: int | None = None, end: int | None = None) -> bytes:
        """The file's bytes, or bytes [start, end) of it."""
        headers = None
        if start is not None:
            if end is not None and end <= start:
                return b""
            headers = {"Range": f"bytes={start}-{'' if end is None else end - 1}"}
        r = self.request("GET", f"/repos/{repo}/files/{qpath(path)}", query={"rev": rev}, headers=headers)
        self.bytes_received += len(r.data)
        return r.data

    def read_range_into(self, repo: str, path: str, rev: str, start: int, buffers: Sequence[memoryview],
                        verify_ids: bool = False) -> None:
        """Reads bytes [start, start + Σ len(buffers)) of a file straight into ``buffers``.

        ``verify_ids=True`` promises that the caller hashes every chunk of the range against its id
        (``X-Strata-Verify: client``): the server then checks only its stored checksums instead of
        hashing the chunks a second time (docs/api.md, "Reading")."""
        n = sum(b.nbytes for b in buffers)
        if n == 0:
            return
        headers = {"Range": f"bytes={start}-{start + n - 1}"}
        if verify_ids:
            headers["X-Strata-Verify"] = "client"
        self.request("GET", f"/repos/{repo}/files/{qpath(path)}", query={"rev": rev},
                     headers=headers, ok=(206,), into=buffers)

    # ---- the push protocol -----------------------------------------------------------------

    def start_upload(self, repo: str) -> str:
        return self.request("POST", f"/repos/{repo}/uploads").json()["upload_id"]

    def end_upload(self, repo: str, upload_id: str) -> None:
        try:
            self.request("DELETE", f"/repos/{repo}/uploads/{upload_id}", retry=False)
        except StrataError:
            pass

    def missing(self, repo: str, upload_id: str, ids: Sequence[bytes]) -> set[bytes]:
        out: set[bytes] = set()
        ids = list(dict.fromkeys(ids))
        for i in range(0, len(ids), 50_000):
            r = self.request("POST", f"/repos/{repo}/uploads/{upload_id}/missing",
                             json={"ids": [x.hex() for x in ids[i:i + 50_000]]}).json()
            out.update(bytes.fromhex(x) for x in r["missing"])
        return out

    def send_chunks(self, repo: str, upload_id: str, chunks: Sequence[tuple[bytes, memoryview]]) -> dict:
        """One batch of raw chunk frames (docs/api.md, "Chunk frames"), sent from the buffers as they are."""
        parts: list = []
        total = 0
        for cid, data in chunks:
            n = memoryview(data).nbytes
            parts.append(cid + struct.pack(">BII", 0, n, n))
            parts.append(data)
            total += n
        r = self.request("POST", f"/repos/{repo}/uploads/{upload_id}/chunks", body=parts).json()
        self.bytes_sent += total
        return r

    def put_manifest(self, repo: str, upload_id: str, chunks: Sequence[tuple[bytes, int]],
                     tensors: Sequence["ManifestTensor"] = ()) -> str:
        return self.request("POST", f"/repos/{repo}/uploads/{upload_id}/manifests",
                            body=encode_manifest(chunks, tensors)).json()["manifest_id"]

    def create_commit(self, repo: str, body: dict) -> dict:
        return self.request("POST", f"/repos/{repo}/commits", json=body, retry=False).json()


MANIFEST_MAGIC = 0x5354524D


# docs/format.md, "Manifest version 2": dtype codes of the tensor table
DTYPE_CODES = {"BF16": 1, "F16": 2, "F32": 3, "F64": 4, "I8": 5, "I16": 6, "I32": 7, "I64": 8, "U8": 9,
               "U16": 10, "U32": 11, "U64": 12, "BOOL": 13, "F8_E4M3": 14, "F8_E5M2": 15, "C64": 16, "C128": 17}


@dataclass(frozen=True)
class ManifestTensor:
    """One tensor of a version-2 manifest's table: its chunks are ``first .. first + count - 1``."""
    name: str
    dtype: str
    shape: tuple
    offset: int
    length: int
    first: int
    count: int
    digest: bytes  # BLAKE3-256 of the chunk ids, back to back


def encode_manifest(chunks: Sequence[tuple[bytes, int]], tensors: Sequence[ManifestTensor] = ()) -> bytes:
    """Version 1, or version 2 with a tensor table (the server's float and delta codecs use it)."""
    out = bytearray(struct.pack(">IBI", MANIFEST_MAGIC, 2 if tensors else 1, len(chunks)))
    for cid, n in chunks:
        out += cid
        out += struct.pack(">I", n)
    if tensors:
        out += struct.pack(">I", len(tensors))
        for t in tensors:
            name = t.name.encode("utf-8")
            out += struct.pack(">I", len(name)) + name
            out += struct.pack(">BB", DTYPE_CODES[t.dtype], len(t.shape))
            for d in t.shape:
                out += struct.pack(">Q", d)
            out += struct.pack(">QQII", t.offset, t.length, t.first, t.count) + t.digest
    return bytes(out)


def decode_manifest(data: bytes) -> list[tuple[bytes, int]]:
    magic, version, count = struct.unpack_from(">IBI", data, 0)
    # version 2 appends a tensor table after the chunk list, which readers of chunks skip
    if magic != MANIFEST_MAGIC or version not in (1, 2) or len(data) < 9 + 36 * count \
            or (version == 1 and len(data) != 9 + 36 * count):
        raise StrataError("malformed manifest")
    return [(data[9 + 36 * i: 41 + 36 * i], struct.unpack_from(">I", data, 41 + 36 * i)[0]) for i in range(count)]
