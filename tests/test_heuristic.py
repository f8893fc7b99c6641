"""The heuristic's rules on crafted signals."""

import pytest

from training.env.actions import Action
from training.env.signals import TrainingSnapshot
from training.policies.heuristic import HeuristicPolicy, HeuristicPolicyConfig
from training.seeds.lifecycle import SeedStage
from training.seeds.telemetry import SeedTelemetry

ALL = (True,) * 7


def obs(
    epoch=8,
    plateau=0,
    active=False,
    stage=1,
    in_stage=0,
    improvement=0.0,
    since_stage=0.0,
    available=3,
    paused=False,
    max_epochs=25,
) -> TrainingSnapshot:
    telemetry = SeedTelemetry(
        seed_id="s", stage=stage, accuracy_delta=since_stage, epochs_in_stage=in_stage
    )
    return TrainingSnapshot(
        epoch,
        epoch * 10,
        1.0,
        1.0,
        0.0,
        60.0,
        60.0,
        0.0,
        plateau,
        60.0,
        1.0,
        (1.0,) * 5,
        (60.0,) * 5,
        active,
        stage,
        in_stage,
        0.0,
        improvement,
        available,
        max_epochs=max_epochs,
        num_slots=3,
        focus_slot=0 if active else None,
        focus_paused=paused,
        seed_telemetry=telemetry,
    )


def decide(observation, mask=ALL, config=None):
    return HeuristicPolicy(config).decide(observation, mask)


def test_plateau_germinates():
    decision = decide(obs(plateau=3))
    assert decision.action is Action.GERMINATE_CONV and "plateau" in decision.reason


def test_still_improving_waits():
    assert decide(obs(plateau=1)).action is Action.WAIT


def test_no_germination_too_late_to_finish():
    assert decide(obs(epoch=20, plateau=5)).action is Action.WAIT


def test_blueprints_rotate_round_robin():
    policy = HeuristicPolicy()
    chosen = [policy.decide(obs(plateau=3), ALL).action for _ in range(5)]
    assert chosen == [
        Action.GERMINATE_CONV,
        Action.GERMINATE_ATTENTION,
        Action.GERMINATE_NORM,
        Action.GERMINATE_DEPTHWISE,
        Action.GERMINATE_CONV,
    ]


def test_improvement_while_training_advances():
    decision = decide(obs(active=True, stage=SeedStage.TRAINING, in_stage=2, since_stage=1.5))
    assert decision.action is Action.ADVANCE and decision.target_slot == 0


def test_decline_while_training_culls():
    assert (
        decide(obs(active=True, stage=SeedStage.TRAINING, in_stage=1, since_stage=-4.0)).action
        is Action.CULL
    )


def test_decline_while_blending_culls():
    assert (
        decide(obs(active=True, stage=SeedStage.BLENDING, improvement=-5.0)).action is Action.CULL
    )


@pytest.mark.parametrize(
    ("improvement", "expected"), [(1.2, Action.ADVANCE), (-0.3, Action.CULL), (0.0, Action.CULL)]
)
def test_probation_fossilizes_a_seed_that_helped_and_culls_one_that_did_not(improvement, expected):
    decision = decide(
        obs(active=True, stage=SeedStage.PROBATIONARY, in_stage=1, improvement=improvement)
    )
    assert decision.action is expected


def test_a_masked_choice_becomes_wait_with_a_reason():
    mask = (True, False, False, False, False, True, True)
    decision = decide(obs(plateau=3), mask)
    assert decision.action is Action.WAIT and "not allowed" in decision.reason


def test_a_paused_focus_seed_is_left_alone():
    assert (
        decide(
            obs(active=True, stage=SeedStage.TRAINING, in_stage=5, since_stage=3.0, paused=True)
        ).action
        is Action.WAIT
    )


@pytest.mark.parametrize("slots", [1, 2, 3])
def test_works_with_any_slot_count(slots):
    assert decide(obs(plateau=4, available=slots)).action.is_germinate()
    assert decide(obs(plateau=4, available=0)).action is Action.WAIT


def test_config_rejects_unknown_blueprints():
    with pytest.raises(ValueError, match="unknown blueprint"):
        HeuristicPolicyConfig(blueprints=("transformer",))
