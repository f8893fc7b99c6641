"""The policy protocol: every controller decides from the same observation and action mask."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from training.env.actions import Action
from training.env.signals import TrainingSnapshot


@dataclass(frozen=True)
class Decision:
    """A policy's choice and why. The optional fields are filled where the policy has them."""

    action: Action
    reason: str
    target_slot: int | None = None
    q_values: tuple[float, ...] | None = None  # every action's Q, masked ones included
    value: float | None = None  # V(s)
    advantage: float | None = None  # Q(s, a) - V(s) of the chosen action
    probabilities: tuple[float, ...] | None = None  # the policy's masked action distribution
    features: tuple[float, ...] | None = None  # the input vector the policy saw
    z_scores: tuple[float, ...] | None = None  # features under the checkpoint's normalisation
    # A plan-format model (no normaliser): how far each input lies beyond esper-lite's range.
    range_excess: tuple[float, ...] | None = None


@runtime_checkable
class Policy(Protocol):
    name: str
    kind: str  # "heuristic" or "iql"

    def decide(self, observation: TrainingSnapshot, action_mask: Sequence[bool]) -> Decision: ...

    def reset(self) -> None: ...


def target_for(action: Action, observation: TrainingSnapshot) -> int | None:
    """The slot an action would touch: the focus seed for ADVANCE/CULL, None otherwise (the env
    picks the first dormant slot for GERMINATE and reports it)."""
    if action in (Action.ADVANCE, Action.CULL):
        return observation.focus_slot
    return None


def allowed(action: Action, action_mask: Sequence[bool]) -> bool:
    return 0 <= int(action) < len(action_mask) and bool(action_mask[int(action)])
