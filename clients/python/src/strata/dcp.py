"""torch.distributed.checkpoint storage for Strata: one DCP checkpoint = one Strata commit.

Mapping:

- ``checkpoint_id`` is ``owner/name@branch`` for saves and ``owner/name@rev`` for loads.
- The coordinator opens one upload session in ``prepare_global_plan`` and hands its id to every
  rank through the plans (``SavePlan.storage_data``); sessions belong to the user, so every rank
  must use a token of the same user.
- Each rank, in ``write_data``, lays its write items out in one file ``__<rank>_0.distcp``
  (tensors as raw bytes, each starting a new 1 MiB chunk run, byte items as they are), sends the
  chunks the server lacks and stores the file's manifest, all in parallel with the other ranks.
- In ``finish`` the coordinator stores ``.metadata`` (DCP's own pickled ``Metadata``, as
  FileSystemWriter writes it; the server never unpickles anything) and makes one commit holding
  every rank's file and the metadata (``replace_all``), with compare-and-set on the branch head.
  No commit exists until all shards are in; a failed rank leaves nothing visible.
- Loading pins the revision to a commit id at ``reset`` and reads each item with HTTP ranges
  (through the local chunk cache).
"""
from __future__ import annotations

import dataclasses
import io
import pickle
import uuid
from torch.futures import Future

import torch
from torch.distributed.checkpoint.metadata import Metadata, MetadataIndex, StorageMeta
from torch.distributed.checkpoint.planner import (LoadItemType, LoadPlan, LoadPlanner, SavePlan, SavePlanner,
                                                  WriteItemType)
from torch.distributed.checkpoint.storage import StorageReader, StorageWriter, WriteResult

try:
    from torch.distributed.checkpoint._sharded_tensor_utils import narrow_tensor_by_index  # noqa
except ImportError:  # pragma: no cover
    from torch.distributed._shard._utils import narrow_tensor_by_index

from . import serialization as ser
from .cache import ChunkCache
from .checkpoint import _resolve_cache
from .client import Client, parse_spec
from .errors import NotFoundError
from .reader import RemoteFile
from .upload import SLICE, head_of, upload_blob

METADATA_FILE = ".metadata"


def _align(n: int) -> int:
    return -(-n // SLICE) * SLICE


class StrataWriter(StorageWriter):
    def __init__(self, checkpoint_id: str | None = None, *, client: Client | None = None, message: str | None = None,
                 step: int | None = None, metrics: dict | None = None, metadata: dict | None = None):
        super().__init__()
        self.client = client or Client()
        self.message, self.step, self.metrics, self.metadata = message, step, metrics, metadata
        self.repo = self.branch = None
        self.save_id = uuid.uuid4().hex
        if checkpoint_id:
            self.reset(checkpoint_id)

    def reset(self, checkpoint_id=None) -> None:
        if checkpoint_id:
            self.repo, self.branch = parse_spec(str(checkpoint_id))
        self.save_id = uuid.uuid4().hex
        self.upload_id = None
        self.is_coordinator = False

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool:
        try:
            parse_spec(str(checkpoint_id))
            return "@" in str(checkpoint_id)
        except ValueError:
            return False

    def set_up_storage_writer(self, is_coordinator: bool, *args, **kwargs) -> None:
        self.is_coordinator = is_coordinator
        self.rank = kwargs.get("rank")

    def prepare_local_plan(self, plan: SavePlan) -> SavePlan:
        return plan

    def prepare_global_plan(self, plans: list[SavePlan]) -> list[SavePlan]:
        self.client.ensure_repo(self.repo)
        upload_id = self.client.start_upload(self.repo)
        return [dataclasses.replace(p, storage_data={"upload_id": upload_id, "rank": i}) for i, p in enumerate(plans)]

    def write_data(self, plan: SavePlan, planner: SavePlanner) -> Future[list[WriteResult]]:
        info = plan.storage_data
        self.upload_id = info["upload_id"]
        path = f"__{info['rank']}_0.distcp"
        items = []
        total = 0
        for wi in plan.items:
            data = planner.resolve_data(wi)
            if wi.type == WriteItemType.BYTE_IO:
                buf = bytes(data.getbuffer())
                items.append((wi, memoryview(buf), None, None))
            else:
                t = data.detach().to("cpu").contiguous()
                items.append((wi, ser.as_buffer(t), ser.dtype_name(t.dtype), list(t.shape)))
        # items are packed back to back, each cut into 1 MiB chunks from its own first byte: an
        # unchanged tensor gives the same chunks in the next checkpoint wherever it lies in the file
        offsets = []
        for wi, mv, _, _ in items:
            offsets.append(total)
            total += mv.nbytes
        blob = bytearray(total)
        pieces = []
        for (wi, mv, _, _), off in zip(items, offsets):
            blob[off:off + mv.nbytes] = mv
            pieces.append((off, off + mv.nbytes))
        entry = upload_blob(self.client, self.repo, self.upload_id, blob, pieces)
        results = []
        for i, ((wi, mv, dt, shape), off) in enumerate(zip(items, offsets)):
            sd = {"file": path, "offset": off, "length": mv.nbytes, "dtype": dt, "shape": shape}
            if i == 0:
                sd["file_entry"] = {"path": path, **entry}
            results.append(WriteResult(index=wi.index, size_in_bytes=mv.nbytes, storage_data=sd))
        if not items:  # a rank with nothing to write still contributes an (empty) file
            results.append(WriteResult(index=MetadataIndex(f"__strata_empty_{info['rank']}"), size_in_bytes=0,
                                       storage_data={"file": path, "offset": 0, "length": 0,
                                                     "file_entry": {"path": path, **entry}}))
        fut: Future = Future()
        fut.set_result(results)
        return fut

    def finish(self, metadata: Metadata, results: list[list[WriteResult]]) -> None:
        files = {}
        storage = {}
        for wrs in results:
            for wr in wrs:
                sd = dict(wr.storage_data)
                fe = sd.pop("file_entry", None)
                if fe:
                    files[fe["path"]] = fe
                storage[wr.index] = sd
        metadata.storage_data = storage
        metadata.storage_meta = self.storage_meta()
        blob = pickle.dumps(metadata)
        try:
            files[METADATA_FILE] = {"path": METADATA_FILE, **upload_blob(self.client, self.repo, self.upload_id, blob)}
            body = {"upload_id": self.upload_id, "branch": self.branch, "parent": head_of(self.client, self.repo,
                                                                                          self.branch),
                    "message": self.message or f"dcp checkpoint ({len(files) - 1} shard files)",
                    "files": sorted(files.values(), key=lambda f: f["path"]), "replace_all": True,
                    "metadata": {**(self.metadata or {}), "strata_sdk": {"format": "torch-dcp", "save_id": self.save_id}}}
            if self.step is not None:
                body["step"] = int(self.step)
            if self.metrics:
                body["metrics"] = {k: float(v) for k, v in self.metrics.items()}
            self.commit = self.client.create_commit(self.repo, body)
        finally:
            self.client.end_upload(self.repo, self.upload_id)

    def storage_meta(self) -> StorageMeta | None:
        return StorageMeta(checkpoint_id=f"{self.repo}@{self.branch}", save_id=self.save_id)


class StrataReader(StorageReader):
    def __init__(self, checkpoint_id: str | None = None, *, client: Client | None = None, cache=True):
        super().__init__()
        self.client = client or Client()
        self.cache: ChunkCache | None = _resolve_cache(cache)
        self.storage_data = {}
        self.load_id = uuid.uuid4().hex
        self.repo = self.commit_id = None
        if checkpoint_id:
            self.reset(checkpoint_id)

    def reset(self, checkpoint_id=None) -> None:
        self.storage_data = {}
        self.load_id = uuid.uuid4().hex
        if checkpoint_id:
            self.repo, rev = parse_spec(str(checkpoint_id))
            self.commit_id = self.client.commit(self.repo, rev)["id"]
            self.files = {f["path"]: f for f in self.client.tree(self.repo, self.commit_id)["files"]}
            if METADATA_FILE not in self.files:
                raise NotFoundError(f"{checkpoint_id}: commit {self.commit_id[:12]} holds no DCP checkpoint "
                                    f"(no {METADATA_FILE})", status=404, code="not_found")

    @classmethod
    def validate_checkpoint_id(cls, checkpoint_id) -> bool:
        try:
            parse_spec(str(checkpoint_id))
            return True
        except ValueError:
            return False

    def _file(self, path) -> RemoteFile:
        return RemoteFile(self.client, self.repo, self.commit_id, path, self.files[path]["size"], self.cache)

    def read_metadata(self, *args, **kwargs) -> Metadata:
        f = self._file(METADATA_FILE)
        md = pickle.loads(f.read(0, f.size))
        if getattr(md, "storage_meta", None) is None:
            md.storage_meta = StorageMeta()
        md.storage_meta.load_id = self.load_id
        return md

    def set_up_storage_reader(self, metadata: Metadata, is_coordinator: bool, *args, **kwargs) -> None:
        self.storage_data = metadata.storage_data

    def prepare_local_plan(self, plan: LoadPlan) -> LoadPlan:
        return plan

    def prepare_global_plan(self, plans: list[LoadPlan]) -> list[LoadPlan]:
        return plans

    def read_data(self, plan: LoadPlan, planner: LoadPlanner) -> Future[None]:
        per_file: dict[str, list] = {}
        for req in plan.items:
            per_file.setdefault(self.storage_data[req.storage_index]["file"], []).append(req)
        for path, reqs in per_file.items():
            f = self._file(path)
            bufs = []
            for req in reqs:
                sd = self.storage_data[req.storage_index]
                if req.type == LoadItemType.BYTE_IO:
                    buf = bytearray(sd["length"])
                    bufs.append((req, sd, buf, None))
                else:
                    t = torch.empty(sd["shape"], dtype=ser.dtype_of(sd["dtype"]))
                    bufs.append((req, sd, None, t))
            f.read_into([(sd["offset"], memoryview(buf) if buf is not None else ser.as_buffer(t))
                         for req, sd, buf, t in bufs if sd["length"]])
            for req, sd, buf, t in bufs:
                if buf is not None:
                    planner.load_bytes(req, io.BytesIO(bytes(buf)))
                else:
                    src = narrow_tensor_by_index(t, req.storage_offsets, req.lengths)
                    target = planner.resolve_tensor(req).detach()
                    if target.size() != src.size():
                        raise AssertionError(f"{req.storage_index}: size {target.size()} vs {src.size()}")
                    target.copy_(src)
                    planner.commit_tensor(req, target)
        fut: Future = Future()
        fut.set_result(None)
        return fut
