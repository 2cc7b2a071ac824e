"""The snapshot of an async save: every kind of tensor copied bit for bit, independent of the source."""
import torch

from strata.checkpoint import _ArenaPool, snapshot


def kinds():
    g = torch.Generator().manual_seed(7)
    big = torch.randn(3 << 20, generator=g)  # 12 MiB: together > 32 MiB, the multi-threaded path
    return {
        "f32": big,
        "bf16": torch.randn(4 << 20, generator=g).to(torch.bfloat16),
        "f16_2d": torch.randn(1024, 4096, generator=g).half(),
        "transposed": torch.randn(512, 256, generator=g).t(),  # strided: copied by copy_
        "sliced": big[1::3],
        "param": torch.nn.Parameter(torch.randn(1000, generator=g)),
        "bool": torch.rand(1001, generator=g) > 0.5,
        "int64": torch.randint(-(1 << 40), 1 << 40, (333,), generator=g),
        "complex_conj": torch.randn(64, dtype=torch.complex64, generator=g).conj(),
        "scalar": torch.tensor(3.5),
        "empty": torch.empty(0, 5),
    }


def test_snapshot_is_bit_exact_and_detached():
    state = kinds()
    expected = {k: v.detach().clone() for k, v in state.items()}
    pool = _ArenaPool()
    for round_ in range(2):  # the second round reuses the arena
        snap = snapshot(state, pool)
        with torch.no_grad():
            for v in state.values():
                if v.numel() and v.dtype != torch.bool and not v.is_complex():
                    v.add_(1)
        for k, want in expected.items():
            got = snap.tensors[k]
            assert got.dtype == want.dtype and got.shape == want.shape, k
            assert got.is_contiguous(), k
            assert torch.equal(got.resolve_conj(), want.resolve_conj()), k
            assert not got.requires_grad, k
        expected = {k: v.detach().clone() for k, v in state.items()}
        pool.give(snap.arena, 2)
