import torch
import pytest

import strata

DTYPES = [torch.bool, torch.uint8, torch.int8, torch.int16, torch.int32, torch.int64, torch.float16,
          torch.bfloat16, torch.float32, torch.float64, torch.complex64, torch.complex128]
for name in ("uint16", "uint32", "uint64", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
             "float8_e8m0fnu"):
    if hasattr(torch, name):
        DTYPES.append(getattr(torch, name))


def random_tensor(dtype, shape, g):
    """Every bit pattern possible: random bytes viewed as the dtype (NaNs and denormals included)."""
    n = 1
    for s in shape:
        n *= s
    esize = torch.empty(0, dtype=dtype).element_size()
    raw = torch.randint(0, 256, (n * esize,), dtype=torch.uint8, generator=g)
    if dtype == torch.bool:
        raw = raw % 2
    return raw.view(dtype).reshape(shape)


def bits(t):
    t = t.contiguous()
    return t.reshape(-1).view(torch.uint8) if t.numel() else torch.empty(0, dtype=torch.uint8)


def assert_bit_exact(a, b):
    assert a.dtype == b.dtype and a.shape == b.shape, (a.dtype, b.dtype, a.shape, b.shape)
    assert torch.equal(bits(a), bits(b))


def test_all_dtypes_bit_exact(client, ckpt, repo):
    g = torch.Generator().manual_seed(1)
    state = {}
    for dt in DTYPES:
        name = str(dt).removeprefix("torch.")
        state[name] = random_tensor(dt, (3, 257), g)
        state[name + "_scalar"] = random_tensor(dt, (), g)
        state[name + "_empty"] = torch.empty((0, 4), dtype=dt)
    h = ckpt.save(state, f"{repo}@main", step=1)
    res = h.result()
    assert res.commit and res.tensors == len(state)
    back = strata.load_state_dict(f"{repo}@main", client=client)
    assert set(back) == set(state)
    for k in state:
        assert_bit_exact(state[k], back[k])


def test_noncontiguous_and_shared_storage(client, ckpt, repo):
    base = torch.arange(0, 4096, dtype=torch.float32).reshape(64, 64)
    emb = torch.randn(100, 16)
    state = {
        "transposed": base.t(),
        "strided": base[::3, 1::2],
        "view_a": base[:8],
        "view_b": base[4:12],  # overlaps view_a in one storage
        "expanded": torch.tensor([1.0, 2.0]).expand(5, 2),
        "emb": emb,
        "tied": emb,  # the same tensor twice (tied weights)
    }
    ckpt.save(state, f"{repo}@main").result()
    back = strata.load_state_dict(f"{repo}@main", client=client)
    for k, v in state.items():
        assert_bit_exact(v.contiguous(), back[k])
    assert back["tied"] is back["emb"]


def test_nested_state_roundtrip_without_pickle(client, ckpt, repo):
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    sched = torch.optim.lr_scheduler.StepLR(opt, step_size=10, gamma=0.5)
    for _ in range(3):
        opt.zero_grad()
        model(torch.randn(5, 8)).sum().backward()
        opt.step()
        sched.step()
    import random
    state = {"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
             "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
             "epoch": 3, "best": float("inf"), "name": "run", "flags": (True, None), "dtype": torch.bfloat16,
             "raw": b"\x00\xff", "big": 1 << 70, "frozen": {1, 2}}
    ckpt.save(state, f"{repo}@main", step=3).result()
    back = strata.load_state_dict(f"{repo}@main", client=client)
    assert back["epoch"] == 3 and back["best"] == float("inf") and back["name"] == "run"
    assert back["flags"] == (True, None) and back["dtype"] is torch.bfloat16 and back["raw"] == b"\x00\xff"
    assert back["big"] == 1 << 70 and back["frozen"] == {1, 2}
    assert back["rng"]["python"] == random.getstate() or back["rng"]["python"] == state["rng"]["python"]
    assert_bit_exact(back["rng"]["torch"], state["rng"]["torch"])
    # optimizer state keeps its int keys and loads into a fresh optimizer
    assert set(back["optimizer"]["state"]) == set(state["optimizer"]["state"])
    model2 = torch.nn.Sequential(torch.nn.Linear(8, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    model2.load_state_dict(back["model"])
    opt2 = torch.optim.AdamW(model2.parameters(), lr=1e-3)
    opt2.load_state_dict(back["optimizer"])
    sched2 = torch.optim.lr_scheduler.StepLR(opt2, step_size=10, gamma=0.5)
    sched2.load_state_dict(back["scheduler"])
    for k, v in state["optimizer"]["state"][0].items():
        assert_bit_exact(v, opt2.state_dict()["state"][0][k])
    assert sched2.last_epoch == sched.last_epoch


def test_unpicklable_value_is_refused(ckpt, repo):
    with pytest.raises(strata.SerializationError, match="without pickle"):
        ckpt.save({"f": object()}, f"{repo}@main")


def test_mutation_after_save_returns(client, ckpt, repo):
    t = torch.zeros(10 << 20)  # 40 MiB: the multi-threaded snapshot path
    state = {"w": t, "nested": {"b": torch.ones(10)}}
    h = ckpt.save(state, f"{repo}@main")
    # training goes on right away
    t.add_(5.0)
    state["nested"]["b"].mul_(0)
    h.result()
    back = strata.load_state_dict(f"{repo}@main", client=client)
    assert torch.equal(back["w"], torch.zeros(10 << 20))
    assert torch.equal(back["nested"]["b"], torch.ones(10))


def test_lazy_single_tensor_reads_only_its_range(client, ckpt, repo):
    state = {f"layer{i}": torch.randn(256, 1024) for i in range(8)}  # 1 MiB each
    ckpt.save(state, f"{repo}@main").result()
    r = strata.open_checkpoint(f"{repo}@main", client=client, cache=False)
    assert sorted(r.keys()) == sorted(state)
    before = client.bytes_received
    t = r.get_tensor("layer5")
    assert torch.equal(t, state["layer5"])
    assert client.bytes_received - before == (1 << 20)


def test_cache_makes_reload_free_and_next_checkpoint_cheap(client, ckpt, repo, tmp_path):
    cache = strata.ChunkCache(tmp_path / "c")
    state = {f"t{i}": torch.randn(1 << 18) for i in range(10)}  # 10 x 1 MiB
    ckpt.save(state, f"{repo}@main", step=1).result()
    r = strata.open_checkpoint(f"{repo}@main", client=client, cache=cache)
    r.state_dict()
    assert r.stats["network_bytes"] >= 10 << 20
    r2 = strata.open_checkpoint(f"{repo}@main", client=client, cache=cache)
    back = r2.state_dict()
    assert r2.stats["network_bytes"] == 0 and r2.stats["cache_bytes"] >= 10 << 20
    state["t3"] = state["t3"] + 1
    ckpt.save(state, f"{repo}@main", step=2).result()
    r3 = strata.open_checkpoint(f"{repo}@main", client=client, cache=cache)
    back = r3.state_dict()
    assert torch.equal(back["t3"], state["t3"])
    assert r3.stats["network_bytes"] <= (1 << 20) + 65536  # the changed tensor and the header


def test_load_cli_style_plain_safetensors(client, repo):
    """A safetensors file pushed by other tools (no Strata structure, arbitrary chunking) loads too."""
    import struct, json, hashlib
    from strata.cache import chunk_id
    a = torch.randn(1000, 300)
    b = torch.arange(77, dtype=torch.int16)
    hdr = {"a": {"dtype": "F32", "shape": [1000, 300], "data_offsets": [0, a.numel() * 4]},
           "b": {"dtype": "I16", "shape": [77], "data_offsets": [a.numel() * 4, a.numel() * 4 + 154]}}
    hj = json.dumps(hdr).encode()
    data = struct.pack("<Q", len(hj)) + hj + a.numpy().tobytes() + b.numpy().tobytes()
    client.ensure_repo(repo)
    up = client.start_upload(repo)
    cuts = list(range(0, len(data), 70001)) + [len(data)]  # odd boundaries crossing tensors
    chunks = [(chunk_id(data[x:y]), memoryview(data)[x:y]) for x, y in zip(cuts, cuts[1:])]
    client.send_chunks(repo, up, chunks)
    mid = client.put_manifest(repo, up, [(c, m.nbytes) for c, m in chunks])
    client.create_commit(repo, {"upload_id": up, "branch": "main", "parent": None, "message": "plain",
                                "files": [{"path": "model.safetensors", "size": len(data),
                                           "sha256": hashlib.sha256(data).hexdigest(), "manifest_id": mid}]})
    back = strata.load_state_dict(f"{repo}@main", client=client, cache=False)
    assert torch.equal(back["a"], a) and torch.equal(back["b"], b)
    assert client.read_file(repo, "model.safetensors", "main") == data
