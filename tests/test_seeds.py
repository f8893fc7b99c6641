"""Blueprints, straight-through isolation, the alpha ramp and pausing a seed."""

import copy

import pytest
import torch
from torch.nn import functional as F

from training.seeds.blueprints import BLUEPRINTS, build_blueprint
from training.seeds.gates import LifecycleConfig
from training.seeds.host import HostCNN, MorphogeneticModel
from training.seeds.lifecycle import SeedStage
from training.seeds.slot import AlphaRamp, Refusal, SeedSlot

CPU = torch.device("cpu")


def make_model(slots: int = 3) -> MorphogeneticModel:
    torch.manual_seed(0)
    return MorphogeneticModel(HostCNN(width=0.5), slots)


def germinate(model: MorphogeneticModel, blueprint: str = "conv_enhance") -> SeedSlot:
    slot, _ = model.germinate(blueprint, epoch=1, init_seed=0)
    return slot


@pytest.mark.parametrize("blueprint", sorted(BLUEPRINTS))
@pytest.mark.parametrize("channels", [1, 3, 8, 13, 64])
def test_blueprints_keep_shape_for_any_channel_count(blueprint, channels):
    module = build_blueprint(blueprint, channels)
    x = torch.randn(2, channels, 6, 6)
    assert module(x).shape == x.shape


def test_unknown_blueprint_names_the_known_ones():
    with pytest.raises(ValueError, match="conv_enhance, attention, norm, depthwise"):
        build_blueprint("transformer", 8)


def test_training_seed_leaves_host_forward_and_gradients_exactly_unchanged():
    with_seed = make_model()
    without = copy.deepcopy(with_seed)
    slot = germinate(with_seed)
    slot.move(SeedStage.TRAINING, 2, "test", LifecycleConfig())
    x, y = torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,))
    out_a, out_b = with_seed(x), without(x)
    assert torch.equal(out_a, out_b)
    F.cross_entropy(out_a, y).backward()
    F.cross_entropy(out_b, y).backward()
    for (name, pa), pb in zip(
        with_seed.host.named_parameters(), without.host.parameters(), strict=True
    ):
        assert torch.equal(pa.grad, pb.grad), name
    seed_grad = torch.cat([p.grad.flatten() for p in slot.seed.parameters()])
    assert seed_grad.abs().sum() > 0


def test_blending_trains_jointly_and_changes_the_output():
    model = make_model()
    slot = germinate(model)
    cfg = LifecycleConfig()
    slot.move(SeedStage.TRAINING, 2, "t", cfg)
    slot.state.metrics.record_accuracy(10.0)
    slot.state.gradient_epochs = 1
    slot.move(SeedStage.BLENDING, 3, "t", cfg)
    slot.start_blending(4)
    for _ in range(2):
        slot.step_alpha()
    assert 0 < slot.alpha < 1
    x = torch.randn(4, 3, 32, 32)
    reference = copy.deepcopy(model)
    reference.slots[0].state.alpha = 0.0
    assert not torch.equal(model(x), reference(x))


class TestAlphaRamp:
    def test_starts_at_zero_is_monotone_and_reaches_one(self):
        ramp = AlphaRamp(30)
        values = [ramp.value] + [ramp.step() for _ in range(30)]
        assert values[0] == 0.0
        assert values[-1] == 1.0
        assert all(b >= a for a, b in zip(values, values[1:], strict=False))
        assert len(set(values)) == 31  # it really moves every batch

    def test_stays_at_one_past_the_end(self):
        ramp = AlphaRamp(3)
        for _ in range(10):
            ramp.step()
        assert ramp.value == 1.0

    def test_no_schedule_survives_blending(self):
        model = make_model()
        slot = germinate(model)
        cfg = LifecycleConfig()
        slot.move(SeedStage.TRAINING, 2, "t", cfg)
        slot.state.gradient_epochs = 1
        slot.state.metrics.record_accuracy(10.0)
        slot.move(SeedStage.BLENDING, 3, "t", cfg)
        slot.start_blending(2)
        slot.step_alpha()
        slot.step_alpha()
        assert slot.alpha == 1.0
        slot.move(SeedStage.SHADOWING, 4, "alpha reached 1", cfg)
        assert slot.ramp is None
        for _ in range(5):
            slot.step_alpha()
        assert slot.alpha == 1.0

    def test_rejects_an_empty_ramp(self):
        with pytest.raises(ValueError):
            AlphaRamp(0)


class TestPause:
    def test_paused_seed_refuses_policy_advance_and_cull(self):
        model = make_model()
        slot = germinate(model)
        slot.move(SeedStage.TRAINING, 2, "t", LifecycleConfig())
        slot.set_paused(True)
        with pytest.raises(Refusal, match="paused by operator"):
            model.advance(slot, 3)
        with pytest.raises(Refusal, match="paused by operator"):
            model.cull(slot, 3)
        assert slot.stage is SeedStage.TRAINING

    def test_pause_twice_is_refused(self):
        model = make_model()
        slot = germinate(model)
        slot.set_paused(True)
        with pytest.raises(Refusal, match="already paused"):
            slot.set_paused(True)

    def test_dormant_slot_cannot_be_paused(self):
        with pytest.raises(Refusal, match="DORMANT"):
            make_model().slot(1).set_paused(True)

    def test_operator_may_cull_a_paused_seed(self):
        model = make_model()
        slot = germinate(model)
        slot.set_paused(True)
        model.cull(slot, 2, by_operator=True)
        assert slot.stage is SeedStage.CULLED
        assert slot.seed is None and not slot.is_paused


def test_fossilized_seed_cannot_be_culled():
    model = make_model()
    slot = germinate(model)
    slot.state.stage = SeedStage.FOSSILIZED
    with pytest.raises(Refusal, match="FOSSILIZED and cannot be culled"):
        model.cull(slot, 9)
    with pytest.raises(Refusal, match="FOSSILIZED and cannot be culled"):
        model.cull(slot, 9, by_operator=True)
    assert slot.stage is SeedStage.FOSSILIZED


def test_focus_seed_is_the_earliest_live_non_fossilized_seed():
    model = make_model()
    first = germinate(model)
    second = germinate(model, "norm")
    assert model.focus_seed() is first
    first.state.stage = SeedStage.FOSSILIZED
    assert model.focus_seed() is second
    model.cull(second, 3)
    assert model.focus_seed() is None


def test_germinate_without_a_dormant_slot_is_refused():
    model = make_model(slots=1)
    germinate(model)
    with pytest.raises(Refusal, match="no DORMANT slot"):
        germinate(model)


def test_slots_outside_one_to_three_are_rejected():
    for n in (0, 4):
        with pytest.raises(ValueError, match="between 1 and 3"):
            MorphogeneticModel(HostCNN(), n)


def test_parameter_groups_are_separate():
    model = make_model()
    germinate(model)
    germinate(model, "attention")
    groups = model.parameter_groups()
    assert set(groups) == {"host", "slot0", "slot1"}
    ids = [id(p) for ps in groups.values() for p in ps]
    assert len(ids) == len(set(ids))
