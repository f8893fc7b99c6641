"""A policy decision and what became of it."""

from __future__ import annotations

from typing import Annotated

import msgspec

from training.records.base import ACTION_NAMES
from training.seeds.bounds import ActionIndex, Count, SlotIndex, Text, items

Numbers = Annotated[tuple[float, ...], items()]


class DecisionRecord(msgspec.Struct, frozen=True, gc=False):
    """One policy decision and what became of it."""

    lane: Text
    epoch: Count
    policy: Text
    action: ActionIndex
    target_slot: SlotIndex | None
    reason: Text
    action_mask: Annotated[tuple[bool, ...], items()]
    executed: bool
    outcome: Text  # why it was refused, or what it did
    q_values: Numbers | None = None  # None for the heuristic
    value: float | None = None
    advantage: float | None = None
    probabilities: Numbers | None = None
    features: Numbers | None = None
    z_scores: Numbers | None = None
    # Plan-format models carry no statistics: range-widths beyond esper-lite's range instead.
    range_excess: Numbers | None = None
    reference_action: ActionIndex | None = None  # the heuristic's choice on the same state
    reference_reason: Text | None = None  # and its reason (None in records written before it)
    # Shadow mode: what the other policies chose on this same state (never executed).
    shadow: Annotated[tuple[DecisionRecord, ...], items(8)] = ()
    episode: Count = 0

    @property
    def key(self) -> str:
        """Unique within a run: one decision per lane, episode and epoch."""
        return f"{self.episode}:{self.lane}:{self.epoch}"

    @property
    def action_name(self) -> str:
        return (
            ACTION_NAMES[self.action] if 0 <= self.action < len(ACTION_NAMES) else str(self.action)
        )

    @property
    def agrees(self) -> bool | None:
        return None if self.reference_action is None else self.reference_action == self.action
