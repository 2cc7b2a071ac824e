import fsspec
import pytest
import torch

import strata


def test_write_read_list_delete(server, repo, monkeypatch):
    monkeypatch.setenv("STRATA_URL", server.url)
    monkeypatch.setenv("STRATA_TOKEN", server.token)
    data = bytes(range(256)) * 20000  # ~5 MB, several chunks
    with fsspec.open(f"strata://{repo}@main/data/blob.bin", "wb") as f:
        f.write(data[:1000])
        f.write(data[1000:])
    fs = fsspec.filesystem("strata")
    fs.pipe_file(f"{repo}@main/notes/readme.txt", b"hello")
    with fsspec.open(f"strata://{repo}/data/blob.bin", "rb") as f:
        assert f.read() == data
        f.seek(123456)
        assert f.read(10) == data[123456:123466]
    assert fs.cat_file(f"{repo}@main/data/blob.bin", start=5, end=15) == data[5:15]
    assert fs.cat_file(f"strata://{repo}@main/notes/readme.txt") == b"hello"
    assert sorted(fs.ls(f"{repo}@main", detail=False)) == [f"{repo}@main/data", f"{repo}@main/notes"]
    info = fs.info(f"{repo}@main/data/blob.bin")
    assert info["size"] == len(data) and info["type"] == "file"
    assert fs.isdir(f"{repo}@main/data") and not fs.exists(f"{repo}@main/nope.bin")
    # the first write is an earlier commit: still readable by commit id
    first = client_log = strata.Client(server.url, server.token).log(repo, "main")[-1]["id"]
    assert fs.cat_file(f"{repo}@{first}/data/blob.bin") == data
    with pytest.raises(FileNotFoundError):
        fs.cat_file(f"{repo}@{first}/notes/readme.txt")
    fs.rm(f"{repo}@main/notes/readme.txt")
    assert not fs.exists(f"{repo}@main/notes/readme.txt")
    assert fs.exists(f"{repo}@main/data/blob.bin")


def test_torch_save_load_through_fsspec(server, repo):
    fs = strata.fs.StrataFileSystem(server.url, server.token)
    t = {"w": torch.randn(300, 300)}
    with fs.open(f"{repo}@main/model.pt", "wb") as f:
        torch.save(t, f)
    with fs.open(f"{repo}@main/model.pt", "rb") as f:
        back = torch.load(f, weights_only=True)
    assert torch.equal(back["w"], t["w"])
