import torch

import strata


def received(client):
    return client.transfer_stats()["chunk_bytes_received"]


def test_one_changed_tensor_of_100_sends_about_1_percent(client, ckpt, repo):
    g = torch.Generator().manual_seed(7)
    state = {f"layer{i}.weight": torch.randn(512, 512, generator=g) for i in range(100)}  # 100 x 1 MiB
    total = sum(t.numel() * t.element_size() for t in state.values())
    r0 = received(client)
    first = ckpt.save(state, f"{repo}@run-1", step=1).result()
    r1 = received(client)
    assert r1 - r0 >= total  # the first checkpoint sends everything
    assert first.bytes_sent >= total
    state["layer42.weight"][0, 0] += 1.0  # one tensor of 100 changes
    second = ckpt.save(state, f"{repo}@run-1", step=2).result()
    r2 = received(client)
    sent = r2 - r1
    assert second.tensors_changed == 1
    assert sent <= 0.015 * total, f"sent {sent} of {total} bytes"
    assert sent >= (1 << 20)  # and it did send the changed tensor
    back = strata.load_state_dict(f"{repo}@run-1", client=client, cache=False)
    assert torch.equal(back["layer42.weight"], state["layer42.weight"])
    # the commit chain: step 2's parent is step 1
    c2 = client.commit(repo, "run-1")
    assert c2["parents"][0] == first.commit and c2["step"] == 2


def test_new_process_dedups_at_chunk_level(client, repo):
    """A fresh Checkpointer (no digests in memory) still sends only chunks the server lacks."""
    state = {f"t{i}": torch.randn(1 << 18) for i in range(20)}  # 20 MiB
    with_cp = strata.Checkpointer(client)
    with_cp.save(state, f"{repo}@main").result()
    with_cp.close()
    state["t0"][5] = 0.0
    r1 = received(client)
    fresh = strata.Checkpointer(client)
    res = fresh.save(state, f"{repo}@main").result()
    fresh.close()
    assert res.tensors_changed == 20  # nothing known in this process
    assert received(client) - r1 <= (1 << 20) + 65536  # but only the changed slice + header went


def test_saved_checkpoints_carry_tensor_tables_so_the_server_stores_deltas(client, ckpt, repo):
    """The manifest names every tensor (version 2), so compaction stores training updates as deltas."""
    g = torch.Generator().manual_seed(11)
    state = {"w": (torch.randn(1024, 1024, generator=g) * 0.02).to(torch.bfloat16),
             "master": torch.randn(1024, 512, generator=g) * 0.02}
    ckpt.save(state, f"{repo}@run", step=1).result()
    for step in (2, 3):
        state["master"] -= 1e-4 * torch.sign(torch.randn(1024, 512, generator=g))
        state["w"] = state["master"].repeat(1, 2).to(torch.bfloat16)
        ckpt.save(state, f"{repo}@run", step=step).result()
    report = client.request("POST", "/admin/compact").json()
    assert report["tensor_chunks"] > 0 and report["delta_chunks"] > 0, report
    stats = client.get_json(f"/repos/{repo}/stats")
    assert "delta" in stats["by_codec"] and "float" in stats["by_codec"], stats
    assert stats["stored_bytes"] < 0.8 * stats["unique_bytes"], stats
    back = strata.load_state_dict(f"{repo}@run", client=client, cache=False)
    assert torch.equal(back["master"], state["master"]) and torch.equal(back["w"], state["w"])
