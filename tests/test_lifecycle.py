"""Stages, every valid and invalid transition, and the stage helpers."""

import itertools

import pytest

from training.seeds.lifecycle import (
    VALID_TRANSITIONS,
    SeedStage,
    is_active_stage,
    is_failure_stage,
    is_terminal_stage,
    is_valid_transition,
)
from training.seeds.slot import InvalidTransitionError, SeedState

EXPECTED = {
    (SeedStage.UNKNOWN, SeedStage.DORMANT),
    (SeedStage.DORMANT, SeedStage.GERMINATED),
    (SeedStage.GERMINATED, SeedStage.TRAINING),
    (SeedStage.GERMINATED, SeedStage.CULLED),
    (SeedStage.TRAINING, SeedStage.BLENDING),
    (SeedStage.TRAINING, SeedStage.CULLED),
    (SeedStage.BLENDING, SeedStage.SHADOWING),
    (SeedStage.BLENDING, SeedStage.CULLED),
    (SeedStage.SHADOWING, SeedStage.PROBATIONARY),
    (SeedStage.SHADOWING, SeedStage.CULLED),
    (SeedStage.PROBATIONARY, SeedStage.FOSSILIZED),
    (SeedStage.PROBATIONARY, SeedStage.CULLED),
    (SeedStage.CULLED, SeedStage.EMBARGOED),
    (SeedStage.EMBARGOED, SeedStage.RESETTING),
    (SeedStage.RESETTING, SeedStage.DORMANT),
}
ALL_PAIRS = list(itertools.product(SeedStage, SeedStage))


def test_stage_values_are_the_plans():
    assert [s.value for s in SeedStage] == list(range(11))
    assert SeedStage.FOSSILIZED == 7 and SeedStage.RESETTING == 10


def test_transition_table_is_exactly_the_expected_set():
    table = {(a, b) for a, targets in VALID_TRANSITIONS.items() for b in targets}
    assert table == EXPECTED


@pytest.mark.parametrize(("src", "dst"), sorted(EXPECTED))
def test_valid_transition(src, dst):
    assert is_valid_transition(src, dst)
    state = SeedState(seed_id="s", blueprint_id="norm", stage=src)
    state.transition(dst, epoch=3, reason="test")
    assert state.stage is dst
    assert state.transitions[-1].from_stage == src  # read before the update


@pytest.mark.parametrize(("src", "dst"), [p for p in ALL_PAIRS if p not in EXPECTED])
def test_invalid_transition_is_refused_with_a_message(src, dst):
    assert not is_valid_transition(src, dst)
    state = SeedState(seed_id="s", blueprint_id="norm", stage=src)
    with pytest.raises(InvalidTransitionError, match=f"from {src.name} to {dst.name}"):
        state.transition(dst, epoch=3, reason="test")
    assert state.stage is src
    assert state.transitions == []


def test_blending_cannot_jump_to_fossilized():
    assert not is_valid_transition(SeedStage.BLENDING, SeedStage.FOSSILIZED)


def test_unknown_ints_are_never_valid():
    assert not is_valid_transition(4, 42)
    assert not is_valid_transition(-1, 1)


def test_helpers():
    assert [s for s in SeedStage if is_terminal_stage(s)] == [SeedStage.FOSSILIZED]
    assert [s for s in SeedStage if is_failure_stage(s)] == [
        SeedStage.CULLED,
        SeedStage.EMBARGOED,
        SeedStage.RESETTING,
    ]
    assert [s for s in SeedStage if is_active_stage(s)] == [
        SeedStage.TRAINING,
        SeedStage.BLENDING,
        SeedStage.SHADOWING,
        SeedStage.PROBATIONARY,
        SeedStage.FOSSILIZED,
    ]


def test_unknown_stage_is_falsy_so_code_must_compare_explicitly():
    assert not SeedStage.UNKNOWN  # the reason the code never writes `if stage:`


def test_transition_resets_stage_clock_and_records_history():
    state = SeedState(seed_id="s", blueprint_id="norm", stage=SeedStage.TRAINING)
    state.metrics.record_accuracy(50.0)
    state.metrics.record_accuracy(60.0)
    assert state.metrics.epochs_in_current_stage == 2
    state.transition(SeedStage.BLENDING, epoch=5, reason="advance")
    assert state.metrics.epochs_in_current_stage == 0
    assert state.metrics.accuracy_at_stage_start == 60.0
    assert state.metrics.accuracy_at_blend_start == 60.0
    assert state.stage_history[-1][0] is SeedStage.BLENDING
    assert state.previous_stage is SeedStage.TRAINING
