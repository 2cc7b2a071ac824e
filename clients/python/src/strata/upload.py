"""Uploading whole files (fsspec writes, torch.distributed.checkpoint shards) with the push protocol.

Files are cut into fixed 1 MiB chunks (the tensor-aligned rule without tensors); only chunks the
server reports missing are sent. Content-defined chunking (docs/chunking.md) is not implemented in
Python: a file written here dedups against itself and other SDK writes, not against CLI pushes of
the same bytes with shifted boundaries.
"""
from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor

from .cache import chunk_id
from .client import Client
from .errors import NotFoundError

SLICE = 1 << 20
BATCH = 16 << 20


def missing_batches(client: Client, repo: str, upload_id: str, items, batch_bytes: int = BATCH) -> list[list]:
    """The (chunk id, memoryview) items the server lacks, each id once, grouped into batches of
    about ``batch_bytes`` (one POST of chunk frames each)."""
    missing = client.missing(repo, upload_id, [cid for cid, _ in items]) if items else set()
    todo, seen = [], set()
    for cid, mv in items:
        if cid in missing and cid not in seen:
            seen.add(cid)
            todo.append((cid, mv))
    batches, cur, cur_n = [], [], 0
    for item in todo:
        cur.append(item)
        cur_n += item[1].nbytes
        if cur_n >= batch_bytes:
            batches.append(cur)
            cur, cur_n = [], 0
    if cur:
        batches.append(cur)
    return batches


def upload_blob(client: Client, repo: str, upload_id: str, data, pieces: list[tuple[int, int]] | None = None,
                threads: int = 2) -> dict:
    """Sends the chunks of ``data`` (bytes-like) the server lacks and stores its manifest.

    ``pieces``: optional [(start, end)] regions each cut into 1 MiB slices from its own start (for
    tensor-aligned layouts); by default the whole buffer. Returns {"size", "sha256", "manifest_id"}.
    """
    mv = memoryview(data).cast("B")
    n = mv.nbytes
    spans = []
    for a, b in (pieces or [(0, n)]):
        spans += [(i, min(i + SLICE, b)) for i in range(a, b, SLICE)]
    with ThreadPoolExecutor(max(1, threads)) as ex:
        sha_f = ex.submit(lambda: hashlib.sha256(mv).hexdigest())
        ids = list(ex.map(lambda s: chunk_id(mv[s[0]:s[1]]), spans, chunksize=16))
        batches = missing_batches(client, repo, upload_id, [(cid, mv[a:b]) for cid, (a, b) in zip(ids, spans)])
        list(ex.map(lambda bt: client.send_chunks(repo, upload_id, bt), batches))
        manifest_id = client.put_manifest(repo, upload_id, [(cid, b - a) for cid, (a, b) in zip(ids, spans)])
        return {"size": n, "sha256": sha_f.result(), "manifest_id": manifest_id}


def head_of(client: Client, repo: str, branch: str) -> str | None:
    try:
        return client.commit(repo, branch)["id"]
    except NotFoundError:
        return None


def commit_files(client: Client, repo: str, branch: str, files: dict[str, bytes], *, deletes=(),
                 message: str = "", metadata: dict | None = None, create_repo: bool = True) -> dict:
    """One commit on ``branch`` with ``files`` (path -> bytes-like) added or replaced, ``deletes`` removed."""
    if create_repo:
        client.ensure_repo(repo)
    upload_id = client.start_upload(repo)
    try:
        entries = []
        for path, data in files.items():
            r = upload_blob(client, repo, upload_id, data)
            entries.append({"path": path, **r})
        body = {"upload_id": upload_id, "branch": branch, "parent": head_of(client, repo, branch),
                "message": message or "write " + ", ".join(list(files)[:3] + list(deletes)[:3]),
                "files": entries, "deletes": list(deletes)}
        if metadata:
            body["metadata"] = metadata
        return client.create_commit(repo, body)
    finally:
        client.end_upload(repo, upload_id)
