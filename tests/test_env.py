"""One controlled run: determinism, learning, the lifecycle rules and refusals in the env."""

import os
import sys

import pytest
import torch

from training.env.actions import Action, Command, CommandType
from training.env.data import DataConfig, load_task
from training.env.environment import EnvConfig, MorphogeneticEnv
from training.seeds.lifecycle import SeedStage


@pytest.fixture(scope="module")
def tiny_task():
    return load_task(DataConfig(preset="tiny", seed=3))


def make_env(tiny_task, **overrides) -> MorphogeneticEnv:
    cfg = EnvConfig(preset="tiny", seed=3, max_epochs=12, **overrides)
    return MorphogeneticEnv(cfg, tiny_task)


def grow_to_blending(env: MorphogeneticEnv):
    env.train_epoch()
    assert env.apply(Action.GERMINATE_CONV).executed
    env.train_epoch()  # GERMINATED -> TRAINING at the start of this epoch
    outcome = env.apply(Action.ADVANCE)
    assert outcome.executed, outcome.reason
    return env.model.slot(0)


def test_same_seed_gives_identical_numbers(tiny_task):
    runs = []
    for _ in range(2):
        env = make_env(tiny_task)
        losses = []
        for action in (Action.GERMINATE_NORM, Action.WAIT, Action.ADVANCE):
            r = env.train_epoch()
            losses.append((r.train_loss, r.val_loss, r.val_accuracy))
            env.apply(action)
        losses.append(env.train_epoch().train_loss)
        runs.append(losses)
    assert runs[0] == runs[1]


def test_tiny_preset_learns_above_chance(tiny_task):
    env = make_env(tiny_task)
    results = [env.train_epoch() for _ in range(6)]
    assert max(r.val_accuracy for r in results) > 25.0  # chance is 10 %
    assert results[-1].train_loss < results[0].train_loss


def test_germinated_seed_starts_training_next_epoch(tiny_task):
    env = make_env(tiny_task)
    env.train_epoch()
    out = env.apply(Action.GERMINATE_ATTENTION)
    assert out.executed and out.slot == 0
    assert env.model.slot(0).stage is SeedStage.GERMINATED
    assert env.observe().seed_stage == SeedStage.GERMINATED
    env.train_epoch()
    assert env.model.slot(0).stage is SeedStage.TRAINING


def test_blending_ramps_per_batch_then_shadows_then_probation(tiny_task):
    env = make_env(tiny_task)
    slot = grow_to_blending(env)
    assert slot.stage is SeedStage.BLENDING and slot.alpha == 0.0
    alphas = []
    for _ in range(env.config.lifecycle.blend_epochs):
        env.train_epoch()
        alphas.append(slot.alpha)
    assert alphas[0] > 0.0 and alphas == sorted(alphas)
    assert slot.stage is SeedStage.SHADOWING and slot.alpha == 1.0
    refused = env.apply(Action.ADVANCE)
    assert not refused.executed and "advances by itself" in refused.reason
    for _ in range(env.config.lifecycle.shadow_epochs):
        env.train_epoch()
    assert slot.stage is SeedStage.PROBATIONARY


def test_fossilize_gate_is_kept_whatever_the_outcome(tiny_task):
    env = make_env(tiny_task)
    slot = grow_to_blending(env)
    while slot.stage is not SeedStage.PROBATIONARY:
        env.train_epoch()
    outcome = env.apply(Action.ADVANCE)
    gate = slot.state.last_gate
    assert gate.gate == "G5 fossilize"
    assert outcome.executed == gate.passed
    if outcome.executed:
        assert slot.stage is SeedStage.FOSSILIZED
        assert slot.index not in env.seed_optimizers  # released, joined the host's optimizer
    else:
        assert "not > 0" in outcome.reason and slot.stage is SeedStage.PROBATIONARY


def test_cull_embargo_reset_cycle_reuses_the_slot(tiny_task):
    env = make_env(tiny_task, slots=1)
    env.train_epoch()
    env.apply(Action.GERMINATE_CONV)
    env.train_epoch()
    assert env.apply(Action.CULL).executed
    assert env.model.slot(0).stage is SeedStage.CULLED
    assert env.seed_optimizers == {}
    assert not env.apply(Action.GERMINATE_CONV).executed  # the slot is not free yet
    seen = []
    while env.model.slot(0).state is not None:
        env.train_epoch()
        seen.append(env.model.slot(0).stage)
    assert seen == [SeedStage.EMBARGOED] * 2 + [SeedStage.RESETTING, SeedStage.DORMANT]
    again = env.apply(Action.GERMINATE_DEPTHWISE)
    assert again.executed and again.slot == 0


def test_invalid_and_refused_actions_change_nothing(tiny_task):
    env = make_env(tiny_task)
    env.train_epoch()

    def picture():
        return [
            (r.stage, r.seed_id, r.alpha, r.paused) for r in env.seed_records("L")
        ], env.model.available_slots()

    before = picture()
    for action, reason in (
        (9, "unknown action"),
        (Action.ADVANCE, "no live seed"),
        (Action.CULL, "no live seed"),
    ):
        outcome = env.apply(action)
        assert not outcome.executed and reason in outcome.reason
    assert picture() == before


def test_action_mask_follows_the_focus_seed(tiny_task):
    env = make_env(tiny_task, slots=1)
    env.train_epoch()
    mask = env.action_mask()
    assert (
        mask[Action.WAIT]
        and mask[Action.GERMINATE_CONV]
        and not mask[Action.ADVANCE]
        and not mask[Action.CULL]
    )
    env.apply(Action.GERMINATE_CONV)
    mask = env.action_mask()
    assert not mask[Action.GERMINATE_CONV] and mask[Action.CULL] and not mask[Action.ADVANCE]
    env.train_epoch()
    assert env.action_mask()[Action.ADVANCE]


class TestPausedSeed:
    def test_paused_seed_is_frozen_for_an_epoch(self, tiny_task):
        env = make_env(tiny_task)
        slot = grow_to_blending(env)
        env.train_epoch()
        out = env.apply_command(Command(CommandType.PAUSE_SEED, lane="L", slot=0))
        assert out.applied and out.reason == "paused the seed in slot0", out.reason
        again = env.apply_command(Command(CommandType.PAUSE_SEED, lane="L", slot=0))
        # no internal seed id
        assert not again.applied and again.reason == "the seed in slot0 is already paused"
        params = [p.detach().clone() for p in slot.seed.parameters()]
        alpha, in_stage = slot.alpha, slot.state.metrics.epochs_in_current_stage
        env.train_epoch()
        assert all(torch.equal(a, b) for a, b in zip(params, slot.seed.parameters(), strict=True))
        assert slot.alpha == alpha
        assert slot.state.metrics.epochs_in_current_stage == in_stage
        record = env.seed_records("L")[0]
        assert record.paused and not record.gradients_measured and record.gradient_batches == 0
        assert not record.has_vanishing  # not measured is never "vanishing"
        for action in (Action.ADVANCE, Action.CULL):
            refused = env.apply(action)
            assert (
                not refused.executed and refused.reason == "the seed in slot0 is paused by operator"
            )

    def test_resume_undoes_the_pause(self, tiny_task):
        env = make_env(tiny_task)
        slot = grow_to_blending(env)
        env.apply_command(Command(CommandType.PAUSE_SEED, lane="L", slot=0))
        env.train_epoch()
        assert env.apply_command(Command(CommandType.RESUME_SEED, lane="L", slot=0)).applied
        params = [p.detach().clone() for p in slot.seed.parameters()]
        env.train_epoch()
        assert slot.alpha > 0.0
        assert not all(
            torch.equal(a, b) for a, b in zip(params, slot.seed.parameters(), strict=True)
        )
        assert env.seed_records("L")[0].gradients_measured


def test_operator_commands_are_refused_with_reasons(tiny_task):
    env = make_env(tiny_task)
    env.train_epoch()
    out = env.apply_command(Command(CommandType.PAUSE_SEED, lane="L", slot=1))
    assert not out.applied and "DORMANT" in out.reason
    out = env.apply_command(Command(CommandType.CULL, lane="L", slot=7))
    assert not out.applied and "no slot 7" in out.reason


def test_every_live_seed_is_synced_at_the_epoch_boundary(tiny_task):
    env = make_env(tiny_task)
    env.train_epoch()
    env.apply(Action.GERMINATE_CONV)
    env.train_epoch()
    env.apply(Action.GERMINATE_NORM)
    env.train_epoch()
    for slot in env.model.iter_live():
        assert slot.state.telemetry.epoch == env.epoch
        assert slot.state.telemetry.max_epochs == env.config.max_epochs
    first = env.model.slot(0).state.telemetry
    assert first.gradient_norm > 0 and first.stage == SeedStage.TRAINING


def test_no_focus_seed_observes_dormant_telemetry_not_zeros(tiny_task):
    env = make_env(tiny_task)
    env.train_epoch()
    snap = env.observe()
    assert snap.seed_telemetry is not None
    assert snap.seed_telemetry.epoch == 1 and snap.seed_telemetry.max_epochs == 12
    assert (
        snap.seed_telemetry.gradient_health == 1.0
        and snap.seed_telemetry.stage == SeedStage.DORMANT
    )


def test_reward_is_accuracy_change_minus_parameter_rent(tiny_task):
    env = make_env(tiny_task)
    first = env.train_epoch()
    env.apply(Action.GERMINATE_CONV)
    second = env.train_epoch()
    host, seeds = env.param_counts()
    rent = env.config.param_rent * seeds / host
    assert seeds > 0
    assert second.reward == pytest.approx(second.val_accuracy - first.val_accuracy - rent)


def test_epoch_reads_back_a_fixed_number_of_times(tiny_task, monkeypatch):
    """Nothing of ours reads a tensor back per batch: the count does not grow with the batch
    count. (torch's own Adam reads its CPU-resident step counters; those are not device syncs.)"""
    counts = []
    for batch_size in (160, 40):  # 2 and 8 batches per epoch
        task = load_task(DataConfig(preset="tiny", seed=3, batch_size=batch_size))
        env = MorphogeneticEnv(EnvConfig(preset="tiny", seed=3, batch_size=batch_size), task)
        env.train_epoch()
        env.apply(Action.GERMINATE_CONV)
        reads = []
        for name in ("item", "tolist", "cpu", "numpy"):
            real = getattr(torch.Tensor, name)

            def spy(self, *args, _real=real, _name=name, _reads=reads, **kwargs):
                caller = sys._getframe(1).f_code.co_filename
                if f"{os.sep}training{os.sep}" in caller:
                    _reads.append((_name, caller))
                return _real(self, *args, **kwargs)

            monkeypatch.setattr(torch.Tensor, name, spy)
        env.train_epoch()
        monkeypatch.undo()
        counts.append(len(reads))
    assert counts[0] == counts[1]
    # four transfers an epoch (cpu + tolist): train sums, validation, gradients, the last batch's
    # per-layer gradient stats (the legacy diagnostics)
    assert counts[0] == 8


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"max_epochs": 0}, "epochs must be at least 1"),
        ({"slots": 4}, "slots must be between 1 and 3"),
        ({"slots": 0}, "slots must be between 1 and 3"),
        ({"max_epochs": -3}, "epochs must be at least 1"),
    ],
)
def test_bad_configuration_is_rejected_with_a_sentence(overrides, message):
    with pytest.raises(ValueError, match=message):
        EnvConfig(**overrides)
