"""Gradients bound to one bucketed buffer (CPU): same numbers, fewer kernels, same training."""

import math

import pytest
import torch
from torch import nn

from training.env.actions import Action, Command, CommandType
from training.env.data import DataConfig, load_task
from training.env.environment import EnvConfig, MorphogeneticEnv
from training.seeds.grad_buffer import CALL_COST_VALUES, GradientBuffer, plan_buckets
from training.seeds.gradients import EpochGradientTelemetry

CPU = torch.device("cpu")


def conv_seed(seed: int, scale: float = 1.0) -> nn.Module:
    torch.manual_seed(seed)
    m = nn.Sequential(nn.Conv2d(4, 8, 3), nn.BatchNorm2d(8), nn.ReLU(), nn.Conv2d(8, 4, 1))
    for p in m.parameters():
        p.grad = torch.randn_like(p) * scale
    return m


def test_bucket_plan_covers_every_tensor_once_and_pads_only_where_cheap():
    sizes = [288, 8, 8, 8, 32, 4, 288, 100_000, 8]
    plan = plan_buckets(sizes)
    assert sorted(i for _, rows in plan for i in rows) == list(range(len(sizes)))
    for length, rows in plan:
        assert all(sizes[i] <= length for i in rows)
    assert len(plan) < len(set(sizes))  # small classes merged
    big = next(rows for length, rows in plan if length == 100_000)
    assert big == [7]  # padding six small tensors to 100k values would cost more than a call
    assert 6 * 100_000 > CALL_COST_VALUES


def test_binding_keeps_gradients_and_makes_them_views_of_one_buffer():
    m = conv_seed(0)
    params = list(m.parameters())
    before = [p.grad.clone() for p in params]
    buffer = GradientBuffer(params)
    buffer.bind()
    start = buffer.flat.data_ptr()
    end = start + buffer.flat.numel() * buffer.flat.element_size()
    for p, old in zip(params, before, strict=True):
        assert torch.equal(p.grad, old)
        assert start <= p.grad.data_ptr() < end
    out = torch.empty(len(params))
    buffer.norms(out)
    expected = [torch.linalg.vector_norm(p.grad).item() for p in buffer.params]
    assert out.tolist() == pytest.approx(expected, rel=1e-6)
    buffer.release()
    assert all(p.grad is None for p in params)


def test_backward_accumulates_into_the_buffer_and_padding_stays_zero():
    m, ref = conv_seed(1), conv_seed(1)
    x = torch.randn(5, 4, 6, 6)
    buffer = GradientBuffer(list(m.parameters()))
    buffer.bind()
    buffer.zero_()
    m(x).square().sum().backward()
    ref.zero_grad(set_to_none=True)
    ref(x).square().sum().backward()
    for p, q in zip(m.parameters(), ref.parameters(), strict=True):
        assert torch.equal(p.grad, q.grad)
    # everything in the buffer beyond the views is padding, still zero
    assert float(buffer.flat.abs().sum()) == pytest.approx(
        sum(float(p.grad.abs().sum()) for p in m.parameters())
    )


def test_a_gradient_set_to_none_while_bound_is_pointed_back_at_the_buffer():
    m = conv_seed(2)
    x = torch.randn(3, 4, 6, 6)
    telemetry = EpochGradientTelemetry({"seed": list(m.parameters())}, CPU)
    telemetry.bind()
    m.zero_grad(set_to_none=True)  # e.g. an optimizer's zero_grad, or a seed joining the host's
    telemetry.bind()  # same active set: nothing to rebind
    telemetry.zero_grad()
    for _ in range(2):  # two batches: a loose gradient would accumulate across them
        telemetry.zero_grad()
        m(x).square().sum().backward()
    telemetry.accumulate()
    got = telemetry.materialize()["seed"].gradient_norm
    assert all(
        p.grad is not None
        and p.grad.untyped_storage().data_ptr()
        == telemetry._bound.buffer.flat.untyped_storage().data_ptr()
        for p in m.parameters()
    )  # noqa: SLF001
    m.zero_grad(set_to_none=True)
    m(x).square().sum().backward()
    assert got == pytest.approx(
        torch.nn.utils.clip_grad_norm_(m.parameters(), float("inf")).item(), rel=1e-5
    )


def test_parameters_of_another_dtype_keep_the_per_tensor_path():
    m = nn.Linear(4, 3).double()
    for p in m.parameters():
        p.grad = torch.ones_like(p)
    telemetry = EpochGradientTelemetry({"seed": list(m.parameters())}, CPU)
    telemetry.bind()  # nothing to bind: the buffer is float32 only
    assert telemetry.bound_ids == frozenset()
    telemetry.accumulate()
    assert telemetry.materialize()["seed"].gradient_norm == pytest.approx(math.sqrt(15))


def test_overflowing_gradients_give_finite_norms_when_bound():
    m = nn.Linear(10, 10)
    for p in m.parameters():
        p.grad = torch.full_like(p, 1e19)
    telemetry = EpochGradientTelemetry({"seed": list(m.parameters())}, CPU)
    telemetry.bind()
    telemetry.accumulate()
    stats = telemetry.materialize()["seed"]
    assert math.isfinite(stats.gradient_norm)
    assert stats.gradient_norm == pytest.approx(1e19 * math.sqrt(110), rel=1e-6)
    assert stats.has_exploding and stats.nonfinite_batches == 0


def test_bound_statistics_equal_the_per_tensor_path_in_a_few_kernels(monkeypatch):
    seeds = {i: list(conv_seed(i, scale=i + 1).parameters()) for i in range(12)}
    seeds[3][0].grad[0, 0, 0, 0] = float("nan")
    unbound = EpochGradientTelemetry(seeds, CPU)
    unbound.accumulate()
    expected = unbound.materialize()
    bound = EpochGradientTelemetry(seeds, CPU)
    bound.bind()
    calls = {"vector_norm": 0, "_foreach_norm": 0}
    for name, module in (("vector_norm", torch.linalg), ("_foreach_norm", torch)):
        real = getattr(module, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(module, name, counting)
    bound.accumulate()
    monkeypatch.undo()
    buckets = len(plan_buckets([p.numel() for ps in seeds.values() for p in ps]))
    assert calls == {"vector_norm": buckets, "_foreach_norm": 0}
    assert buckets <= 3  # 72 tensors of 4 sizes
    got = bound.materialize()
    for i in seeds:
        assert got[i].batches == expected[i].batches == 1
        assert got[i].nonfinite_batches == expected[i].nonfinite_batches
        assert got[i].gradient_health == pytest.approx(expected[i].gradient_health)
        assert got[i].gradient_norm == pytest.approx(expected[i].gradient_norm, rel=1e-6)
    assert got[3].has_exploding and got[3].gradient_health == 0.0


def test_binding_another_active_set_releases_the_groups_left_out():
    a, b = conv_seed(0), conv_seed(1)
    telemetry = EpochGradientTelemetry({"a": list(a.parameters()), "b": list(b.parameters())}, CPU)
    telemetry.bind((True, True))
    assert len(telemetry.bound_ids) == 12  # 2 seeds x 6 tensors
    telemetry.bind((True, False))
    assert all(p.grad is None for p in b.parameters())
    assert telemetry.bound_ids == frozenset(id(p) for p in a.parameters())
    telemetry.release()
    assert telemetry.bound_ids == frozenset()
    assert all(p.grad is None for p in a.parameters())


@pytest.fixture(scope="module")
def tiny_task():
    return load_task(DataConfig(preset="tiny", seed=5))


def _run(task, monkeypatch, bind: bool):
    if not bind:
        monkeypatch.setattr(EpochGradientTelemetry, "bind", lambda self, active=None: None)
    env = MorphogeneticEnv(EnvConfig(preset="tiny", seed=5, max_epochs=8), task)
    seen: list[bool] = []

    def hook(env, b):
        if b == 3:  # gradients of the previous batch are still there
            grads = [p.grad for p in env.model.host.parameters()]
            seen.append(
                all(g is not None for g in grads)
                and len({g.untyped_storage().data_ptr() for g in grads}) == 1
            )
            if env.epoch == 2:  # the third epoch trains: pause the seed halfway, rebinding
                assert env.apply_command(Command(CommandType.PAUSE_SEED, lane="L", slot=0)).applied
            if env.epoch == 3:  # something clears the host's gradients with the bound set unchanged
                env.host_optimizer.zero_grad(set_to_none=True)

    env.train_epoch(hook)
    env.apply(Action.GERMINATE_CONV)
    results = [env.train_epoch(hook) for _ in range(3)]
    monkeypatch.undo()
    state = {k: v.clone() for k, v in env.model.state_dict().items()}
    grads_left = [p for p in env.model.parameters() if p.grad is not None]
    return results, state, seen, grads_left


def test_training_is_bitwise_the_same_with_bound_gradients(tiny_task, monkeypatch):
    plain, plain_state, plain_seen, _ = _run(tiny_task, monkeypatch, bind=False)
    bound, bound_state, bound_seen, grads_left = _run(tiny_task, monkeypatch, bind=True)
    assert bound_seen == [True] * 4 and plain_seen == [False] * 4  # one buffer vs separate tensors
    assert grads_left == []  # released at the end of every epoch
    assert plain_state.keys() == bound_state.keys()
    for key in plain_state:
        assert torch.equal(plain_state[key], bound_state[key]), key
    for p, b in zip(plain, bound, strict=True):
        assert (p.train_loss, p.val_loss, p.val_accuracy) == (
            b.train_loss,
            b.val_loss,
            b.val_accuracy,
        )
        assert p.gradients.keys() == b.gradients.keys()
        for k in p.gradients:
            assert p.gradients[k].measured == b.gradients[k].measured
            assert b.gradients[k].gradient_norm == pytest.approx(
                p.gradients[k].gradient_norm, rel=1e-5
            )
