"""The vectorised gradient telemetry (docs/architecture.md, "Gradient telemetry")."""

import math

import pytest
import torch
from torch import nn

from training.seeds.gradients import EpochGradientTelemetry, SeedGradientCollector, tensor_norms

CPU = torch.device("cpu")


def seeded_linear(seed: int, scale: float = 1.0) -> nn.Module:
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Linear(6, 5), nn.ReLU(), nn.Linear(5, 3))
    for p in m.parameters():
        p.grad = torch.randn_like(p) * scale
    return m


def test_norm_equals_clip_grad_norm_total():
    m = seeded_linear(0)
    expected = torch.nn.utils.clip_grad_norm_(m.parameters(), max_norm=float("inf"))
    stats = SeedGradientCollector().collect(m.parameters())
    assert stats["gradient_norm"] == pytest.approx(expected.item(), rel=1e-6)


def test_global_norm_is_not_divided_by_tensor_count():
    m = nn.Linear(10, 10)
    for p in m.parameters():
        p.grad = torch.full_like(p, 1.0)
    stats = SeedGradientCollector().collect(m.parameters())
    assert stats["gradient_norm"] == pytest.approx(math.sqrt(110))


def test_huge_gradients_give_a_finite_float64_norm():
    m = nn.Linear(10, 10)
    for p in m.parameters():
        p.grad = torch.full_like(p, 1e19)
    assert torch.isinf(torch.stack(torch._foreach_norm([p.grad for p in m.parameters()]))).all()
    stats = SeedGradientCollector().collect(m.parameters())
    assert math.isfinite(stats["gradient_norm"])
    # 1e19 in float32
    assert stats["gradient_norm"] == pytest.approx(1e19 * math.sqrt(110), rel=1e-6)
    assert stats["has_exploding"] is True


def test_only_overflowed_tensors_are_recomputed():
    grads = [torch.full((100,), 1e19), torch.tensor([3.0, 4.0])]
    norms = tensor_norms(grads)
    assert norms.dtype == torch.float64
    assert norms[1].item() == 5.0
    assert norms[0].item() == pytest.approx(1e20, rel=1e-6)


def test_nan_gradients_are_exploding_with_health_zero():
    m = seeded_linear(1)
    next(m.parameters()).grad[0, 0] = float("nan")
    stats = SeedGradientCollector().collect(m.parameters())
    assert stats["has_exploding"] is True
    assert stats["gradient_health"] == 0.0


def test_no_gradients_are_reported_as_not_measured():
    stats = SeedGradientCollector().collect(nn.Linear(2, 2).parameters())
    assert stats["measured"] is False


def test_several_seeds_are_measured_in_one_foreach_call(monkeypatch):
    seeds = {i: list(seeded_linear(i, scale=i + 1).parameters()) for i in range(3)}
    calls = []
    real = torch._foreach_norm

    def counting(*args, **kwargs):
        calls.append(len(args[0]))
        return real(*args, **kwargs)

    monkeypatch.setattr(torch, "_foreach_norm", counting)
    telemetry = EpochGradientTelemetry(seeds, CPU)
    telemetry.accumulate()
    assert calls == [12]  # 3 seeds x 4 tensors, one call
    monkeypatch.setattr(torch, "_foreach_norm", real)
    stats = telemetry.materialize()
    for i, params in seeds.items():
        expected = SeedGradientCollector().collect(params)["gradient_norm"]
        assert stats[i].gradient_norm == pytest.approx(expected, rel=1e-9)
        assert stats[i].measured


def test_epoch_statistics_average_batches_and_latch_flags():
    m = nn.Linear(4, 4)
    params = list(m.parameters())
    telemetry = EpochGradientTelemetry({"seed": params}, CPU)
    norms = []
    for batch in range(4):
        for p in params:
            p.grad = torch.full_like(p, float(batch + 1))
        norms.append(SeedGradientCollector().collect(params)["gradient_norm"])
        if batch == 1:
            params[0].grad[0, 0] = float("inf")  # one short-lived explosion
        telemetry.accumulate()
    stats = telemetry.materialize()["seed"]
    assert stats.batches == 4 and stats.nonfinite_batches == 1
    assert stats.has_exploding is True  # latched although three batches were fine
    assert stats.gradient_health == 0.0
    assert stats.gradient_norm == pytest.approx((norms[0] + norms[2] + norms[3]) / 3)


def test_inactive_groups_are_not_measured():
    a, b = seeded_linear(0), seeded_linear(1)
    telemetry = EpochGradientTelemetry({"a": list(a.parameters()), "b": list(b.parameters())}, CPU)
    telemetry.accumulate((True, False))
    telemetry.accumulate((True, False))
    stats = telemetry.materialize()
    assert stats["a"].batches == 2
    assert stats["b"].batches == 0 and not stats["b"].measured


def test_per_batch_path_never_reads_back_to_the_host(monkeypatch):
    seeds = {i: list(seeded_linear(i).parameters()) for i in range(3)}
    telemetry = EpochGradientTelemetry(seeds, CPU)
    reads = []
    for name in ("item", "tolist", "cpu", "numpy"):
        real = getattr(torch.Tensor, name)

        def spy(self, *args, _real=real, _name=name, **kwargs):
            reads.append(_name)
            return _real(self, *args, **kwargs)

        monkeypatch.setattr(torch.Tensor, name, spy)
    for _ in range(20):
        telemetry.accumulate()
    assert reads == []
    telemetry.materialize()
    assert reads == ["cpu", "tolist"]  # one transfer per epoch
