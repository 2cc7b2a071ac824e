"""One rank of the two-process DCP test (gloo): saves a sharded state dict, async-saves, loads."""
import os
import sys

import torch
import torch.distributed as dist
import torch.distributed.checkpoint as dcp
from torch.distributed.device_mesh import init_device_mesh
from torch.distributed.tensor import Shard, distribute_tensor

import strata
from strata.dcp import StrataReader, StrataWriter


def full_state(scale):
    g = torch.Generator().manual_seed(0)
    return {"w": torch.randn(64, 1024, generator=g) * scale,  # 256 KiB, sharded by rows
            "emb": torch.randn(300, 512, generator=g).to(torch.bfloat16) * scale,  # sharded
            "step": torch.tensor(7)}


def main():
    url, token, repo = sys.argv[1:4]
    mode = sys.argv[4] if len(sys.argv) > 4 else "full"
    dist.init_process_group("gloo")
    rank = dist.get_rank()
    mesh = init_device_mesh("cpu", (dist.get_world_size(),))
    client = strata.Client(url, token)

    def sharded(scale):
        f = full_state(scale)
        return {"model": {"w": distribute_tensor(f["w"], mesh, [Shard(0)]),
                          "emb": distribute_tensor(f["emb"], mesh, [Shard(0)])},
                "extra": {"step": f["step"], "note": "hello"}}

    state = sharded(1.0)
    if mode == "fail-rank-1":
        class Failing(StrataWriter):
            def write_data(self, plan, planner):
                if dist.get_rank() == 1:
                    raise OSError("disk on fire (rank 1)")
                return super().write_data(plan, planner)

        try:
            dcp.save(state, storage_writer=Failing(f"{repo}@main", client=client, step=1))
        except BaseException as e:  # CheckpointException is a BaseException; every rank sees it
            print(f"rank {rank} save failed: {type(e).__name__}", flush=True)
        else:
            raise SystemExit("the save should have failed")
        dist.barrier()
        dist.destroy_process_group()
        return
    dcp.save(state, storage_writer=StrataWriter(f"{repo}@main", client=client, step=1))
    # async save of the next checkpoint (the state is staged, training could go on)
    state2 = sharded(2.0)
    fut = dcp.async_save(state2, storage_writer=StrataWriter(f"{repo}@main", client=client, step=2))
    fut.result()
    dist.barrier()
    # load step 1 (by parent) and step 2 into zeroed sharded tensors
    for rev, scale in ((f"main~1", 1.0), ("main", 2.0)):
        target = sharded(0.0)
        target["extra"]["note"] = ""
        dcp.load(target, storage_reader=StrataReader(f"{repo}@{rev}", client=client))
        ref = sharded(scale)
        for k in ("w", "emb"):
            got, want = target["model"][k].to_local(), ref["model"][k].to_local()
            assert got.dtype == want.dtype and torch.equal(got, want), (rank, rev, k)
        assert target["extra"]["note"] == "hello"
    dist.barrier()
    dist.destroy_process_group()
    print(f"rank {rank} ok", flush=True)


if __name__ == "__main__":
    main()
