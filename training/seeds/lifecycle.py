"""Seed lifecycle stages and the only transitions allowed between them (the plan's leyline)."""

from __future__ import annotations

from enum import IntEnum


class SeedStage(IntEnum):
    """Stage of a seed. Values are sparse ints 0..10: index tables by stage, never by ``value - 1``.

    ``UNKNOWN`` is 0 and therefore falsy; never test a stage with ``if stage:``.
    """

    UNKNOWN = 0
    DORMANT = 1
    GERMINATED = 2
    TRAINING = 3
    BLENDING = 4
    SHADOWING = 5
    PROBATIONARY = 6
    FOSSILIZED = 7
    CULLED = 8
    EMBARGOED = 9
    RESETTING = 10


VALID_TRANSITIONS: dict[SeedStage, tuple[SeedStage, ...]] = {
    SeedStage.UNKNOWN: (SeedStage.DORMANT,),
    SeedStage.DORMANT: (SeedStage.GERMINATED,),
    SeedStage.GERMINATED: (SeedStage.TRAINING, SeedStage.CULLED),
    SeedStage.TRAINING: (SeedStage.BLENDING, SeedStage.CULLED),
    SeedStage.BLENDING: (SeedStage.SHADOWING, SeedStage.CULLED),
    SeedStage.SHADOWING: (SeedStage.PROBATIONARY, SeedStage.CULLED),
    SeedStage.PROBATIONARY: (SeedStage.FOSSILIZED, SeedStage.CULLED),
    SeedStage.FOSSILIZED: (),
    SeedStage.CULLED: (SeedStage.EMBARGOED,),
    SeedStage.EMBARGOED: (SeedStage.RESETTING,),
    SeedStage.RESETTING: (SeedStage.DORMANT,),
}

# The stages a growing seed passes through on the way to joining the host, in order.
PIPELINE: tuple[SeedStage, ...] = (
    SeedStage.DORMANT,
    SeedStage.GERMINATED,
    SeedStage.TRAINING,
    SeedStage.BLENDING,
    SeedStage.SHADOWING,
    SeedStage.PROBATIONARY,
    SeedStage.FOSSILIZED,
)

_ACTIVE = frozenset(
    {
        SeedStage.TRAINING,
        SeedStage.BLENDING,
        SeedStage.SHADOWING,
        SeedStage.PROBATIONARY,
        SeedStage.FOSSILIZED,
    }
)
_FAILURE = frozenset({SeedStage.CULLED, SeedStage.EMBARGOED, SeedStage.RESETTING})
# Stages in which the slot holds a seed module that takes part in the forward pass.
_LIVE = frozenset({SeedStage.GERMINATED}) | _ACTIVE


def is_valid_transition(from_stage: SeedStage | int, to_stage: SeedStage | int) -> bool:
    """True only for the transitions in ``VALID_TRANSITIONS``; unknown ints are never valid."""
    try:
        src, dst = SeedStage(from_stage), SeedStage(to_stage)
    except ValueError:
        return False
    return dst in VALID_TRANSITIONS[src]


def is_terminal_stage(stage: SeedStage | int) -> bool:
    """A fossilized seed is part of the host for good: no transition leaves it."""
    return stage == SeedStage.FOSSILIZED


def is_active_stage(stage: SeedStage | int) -> bool:
    """The seed is being trained or contributes to the host (TRAINING .. FOSSILIZED)."""
    return stage in _ACTIVE


def is_failure_stage(stage: SeedStage | int) -> bool:
    """The seed was culled and its slot is on its way back to DORMANT."""
    return stage in _FAILURE


def is_live_stage(stage: SeedStage | int) -> bool:
    """The slot holds a seed module (GERMINATED .. FOSSILIZED)."""
    return stage in _LIVE


def stage_name(stage: SeedStage | int) -> str:
    """Name of a stage value, or ``STAGE_<n>`` for a value outside the enum."""
    try:
        return SeedStage(stage).name
    except ValueError:
        return f"STAGE_{int(stage)}"
