"""The huge-page hint for loaded tensors never reaches outside the tensor's bytes."""
import torch

import strata.checkpoint as ck


def test_hint_covers_only_whole_pages_inside_the_tensor(monkeypatch):
    calls = []
    monkeypatch.setattr(ck, "_madvise", lambda start, n, advice: calls.append((start, n, advice)) or 0)
    for numel in (4 << 20, (6 << 20) + 123, 9_000_001):
        t = torch.empty(numel, dtype=torch.uint8)
        ck._huge_pages(t)
        start, n, advice = calls.pop()
        assert advice == 14  # MADV_HUGEPAGE
        assert start % 4096 == 0
        assert t.data_ptr() <= start and start + n <= t.data_ptr() + numel
        assert n > numel - 4096
    ck._huge_pages(torch.empty((4 << 20) - 1, dtype=torch.uint8))  # under 4 MiB: no hint
    ck._huge_pages(torch.empty(0))
    assert calls == []


def test_the_real_madvise_binding_accepts_the_call_and_values_survive():
    # ctypes raises here if the binding's argument types are wrong; THP off makes it a no-op
    t = torch.empty(3 << 20, dtype=torch.float32)
    ck._huge_pages(t)
    t.copy_(torch.arange(3 << 20, dtype=torch.float32))
    assert torch.equal(t, torch.arange(3 << 20, dtype=torch.float32))
