import os
import subprocess
import sys
from pathlib import Path

import torch
import torch.distributed.checkpoint as dcp

import strata
from strata.dcp import StrataReader
from conftest import free_port

HERE = Path(__file__).parent


def run_ranks(server, repo, mode="full"):
    port = free_port()
    procs = []
    for rank in range(2):
        env = dict(os.environ, RANK=str(rank), WORLD_SIZE="2", LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1",
                   MASTER_PORT=str(port), OMP_NUM_THREADS="1", PYTHONPATH=str(HERE))
        procs.append(subprocess.Popen([sys.executable, str(HERE / "dcp_worker.py"), server.url, server.token, repo,
                                       mode], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True))
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out[-4000:]
    return outs


def test_failed_rank_leaves_no_commit(server, client, repo):
    outs = run_ranks(server, repo, "fail-rank-1")
    assert all("save failed" in o for o in outs), outs
    import pytest
    with pytest.raises(strata.NotFoundError):
        client.commit(repo, "main")


def test_two_process_gloo_dcp_save_async_save_load(server, client, repo):
    run_ranks(server, repo)
    # one commit per save, each holding both ranks' shards and the metadata
    log = client.log(repo, "main")
    assert [c["step"] for c in log] == [2, 1]
    files = sorted(f["path"] for f in client.tree(repo, "main")["files"])
    assert files == [".metadata", "__0_0.distcp", "__1_0.distcp"]
    # resharding on load: one process without a process group reads the full tensors
    from dcp_worker import full_state
    target = {"model": {"w": torch.zeros(64, 1024), "emb": torch.zeros(300, 512, dtype=torch.bfloat16)},
              "extra": {"step": torch.tensor(0), "note": ""}}
    dcp.load(target, storage_reader=StrataReader(f"{repo}@main", client=client), no_dist=True)
    ref = full_state(2.0)
    assert torch.equal(target["model"]["w"], ref["w"]) and torch.equal(target["model"]["emb"], ref["emb"])
    assert target["extra"]["step"].item() == 7 and target["extra"]["note"] == "hello"
