"""fsspec filesystem ``strata://owner/name@rev/path``.

Reading: ``rev`` is a branch, tag or commit (default ``main``); an open file is pinned to the commit
the revision named when it was opened, and reads are HTTP range requests (block-cached by fsspec).
Writing (``wb``): ``rev`` must be a branch; the bytes are buffered in a temporary file and, on
``close()``, become one commit on that branch that adds or replaces the file (other files stay).
``rm`` commits a deletion. Directories are implied by paths, as in object stores.
"""
from __future__ import annotations

import mmap
import tempfile

from fsspec.spec import AbstractBufferedFile, AbstractFileSystem

from .client import Client
from .errors import NotFoundError
from .upload import commit_files


def split(path: str) -> tuple[str, str, str]:
    """'owner/name@rev/a/b' -> ('owner/name', 'rev', 'a/b')."""
    path = path.strip("/")
    parts = path.split("/", 2)
    if len(parts) < 2:
        raise ValueError(f"not a strata path 'owner/name[@rev]/path': {path!r}")
    owner, name = parts[0], parts[1]
    rest = parts[2] if len(parts) > 2 else ""
    rev = "main"
    if "@" in name:
        name, rev = name.split("@", 1)
        # a branch name may contain '/': 'lab/x@release/v1/file' is ambiguous; '@rev' runs to the
        # first '/', so use the commit id or a '/'-free name for such branches.
    return f"{owner}/{name}", rev, rest


class StrataFileSystem(AbstractFileSystem):
    protocol = "strata"
    root_marker = ""

    def __init__(self, url: str | None = None, token: str | None = None, client: Client | None = None, **kw):
        super().__init__(**kw)
        self.client = client or Client(url, token)

    @classmethod
    def _strip_protocol(cls, path):
        if isinstance(path, list):
            return [cls._strip_protocol(p) for p in path]
        path = str(path)
        if path.startswith("strata://"):
            path = path[len("strata://"):]
        return path.rstrip("/")

    def _tree(self, repo, rev):
        return self.client.tree(repo, rev)

    def ls(self, path, detail=True, **kwargs):
        path = self._strip_protocol(path)
        repo, rev, sub = split(path)
        prefix = f"{repo}@{rev}" if "@" in path.split("/", 2)[1] else repo
        tree = self._tree(repo, rev)["files"]
        sub = sub.strip("/")
        out, dirs = [], set()
        for f in tree:
            p = f["path"]
            if sub and p == sub:
                return [self._entry(prefix, f)] if detail else [f"{prefix}/{p}"]
            if sub and not p.startswith(sub + "/"):
                continue
            rest = p[len(sub) + 1:] if sub else p
            if "/" in rest:
                d = rest.split("/", 1)[0]
                if d not in dirs:
                    dirs.add(d)
                    name = f"{prefix}/{sub + '/' if sub else ''}{d}"
                    out.append({"name": name, "size": 0, "type": "directory"})
            else:
                out.append(self._entry(prefix, f))
        if sub and not out:
            raise FileNotFoundError(path)
        return out if detail else [e["name"] for e in out]

    @staticmethod
    def _entry(prefix, f):
        return {"name": f"{prefix}/{f['path']}", "size": f["size"], "type": "file", "sha256": f["sha256"]}

    def info(self, path, **kwargs):
        path = self._strip_protocol(path)
        repo, rev, sub = split(path)
        try:
            files = self._tree(repo, rev)["files"]
        except NotFoundError as e:
            raise FileNotFoundError(path) from e
        if not sub:
            return {"name": path, "size": 0, "type": "directory"}
        for f in files:
            if f["path"] == sub:
                return {"name": path, "size": f["size"], "type": "file", "sha256": f["sha256"]}
        if any(f["path"].startswith(sub + "/") for f in files):
            return {"name": path, "size": 0, "type": "directory"}
        raise FileNotFoundError(path)

    def _open(self, path, mode="rb", block_size=None, autocommit=True, cache_options=None, **kwargs):
        path = self._strip_protocol(path)
        if "r" in mode:
            return StrataReadFile(self, path, mode, block_size=block_size or 4 << 20, cache_options=cache_options)
        if "w" in mode:
            return StrataWriteFile(self, path, **kwargs)
        raise ValueError(f"mode {mode!r} is not supported (rb, wb)")

    def cat_file(self, path, start=None, end=None, **kwargs):
        path = self._strip_protocol(path)
        repo, rev, sub = split(path)
        try:
            if start is None and end is None:
                return self.client.read_file(repo, sub, rev)
            if (start or 0) < 0 or (end is not None and end < 0):
                size = self.info(path)["size"]
                start = size + start if start is not None and start < 0 else start
                end = size + end if end is not None and end < 0 else end
            return self.client.read_file(repo, sub, rev, start or 0, end)
        except NotFoundError as e:
            raise FileNotFoundError(path) from e

    def pipe_file(self, path, value, **kwargs):
        path = self._strip_protocol(path)
        repo, rev, sub = split(path)
        commit_files(self.client, repo, rev, {sub: value}, message=kwargs.get("message", ""))

    def rm_file(self, path):
        path = self._strip_protocol(path)
        repo, rev, sub = split(path)
        self.info(path)
        commit_files(self.client, repo, rev, {}, deletes=[sub], message=f"delete {sub}", create_repo=False)

    def _rm(self, path):
        self.rm_file(path)

    def rm(self, path, recursive=False, maxdepth=None):
        paths = path if isinstance(path, list) else [path]
        for p in paths:
            if self.isdir(p):
                if not recursive:
                    raise IsADirectoryError(p)
                files = [x for x in self.find(p)]
                if files:
                    repo, rev, _ = split(self._strip_protocol(p))
                    subs = [split(self._strip_protocol(x))[2] for x in files]
                    commit_files(self.client, repo, rev, {}, deletes=subs, message=f"delete {len(subs)} files",
                                 create_repo=False)
            else:
                self.rm_file(p)

    def mkdir(self, path, create_parents=True, **kwargs):
        pass  # directories are implied by files

    def makedirs(self, path, exist_ok=False):
        pass


class StrataReadFile(AbstractBufferedFile):
    def __init__(self, fs: StrataFileSystem, path, mode="rb", **kw):
        repo, rev, sub = split(path)
        try:
            commit = fs.client.commit(repo, rev)["id"]
            files = {f["path"]: f for f in fs.client.tree(repo, commit)["files"]}
        except NotFoundError as e:
            raise FileNotFoundError(path) from e
        if sub not in files:
            raise FileNotFoundError(path)
        self.repo, self.rev, self.sub = repo, commit, sub
        super().__init__(fs, path, mode, size=files[sub]["size"], **kw)

    def _fetch_range(self, start, end):
        end = min(end, self.size)
        if start >= end:
            return b""
        return self.fs.client.read_file(self.repo, self.sub, self.rev, start, end)


class StrataWriteFile:
    """A writable file: buffered in a temporary file, committed on close()."""

    def __init__(self, fs: StrataFileSystem, path, message: str | None = None, **kw):
        self.fs, self.path, self.message = fs, path, message
        self.repo, self.branch, self.sub = split(path)
        if not self.sub:
            raise ValueError(f"{path}: no file path after the repository")
        self._f = tempfile.TemporaryFile()
        self.closed = False
        self.commit = None

    def write(self, data):
        return self._f.write(data)

    def writable(self):
        return True

    def readable(self):
        return False

    def seekable(self):
        return False

    def tell(self):
        return self._f.tell()

    def flush(self):
        pass

    def close(self):
        if self.closed:
            return
        self.closed = True
        try:
            self._f.flush()
            size = self._f.seek(0, 2)
            if size:
                with mmap.mmap(self._f.fileno(), size, access=mmap.ACCESS_READ) as m:
                    mv = memoryview(m)
                    try:
                        self.commit = commit_files(self.fs.client, self.repo, self.branch, {self.sub: mv},
                                                   message=self.message or f"write {self.sub}")
                    finally:
                        mv.release()
            else:
                self.commit = commit_files(self.fs.client, self.repo, self.branch, {self.sub: b""},
                                           message=self.message or f"write {self.sub}")
        finally:
            self._f.close()

    def discard(self):
        self.closed = True
        self._f.close()

    def __enter__(self):
        return self

    def __exit__(self, exc_type, *a):
        if exc_type is None:
            self.close()
        else:
            self.discard()
