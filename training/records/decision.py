"""A policy decision and what became of it."""

from __future__ import annotations

from dataclasses import dataclass

from training.records.base import ACTION_NAMES, opt_list, opt_tuple
from training.records.fields import conform


@dataclass(frozen=True)
class DecisionRecord:
    """One policy decision and what became of it."""

    lane: str
    epoch: int
    policy: str
    action: int
    target_slot: int | None
    reason: str
    action_mask: tuple[bool, ...]
    executed: bool
    outcome: str  # why it was refused, or what it did
    q_values: tuple[float, ...] | None = None  # None for the heuristic
    value: float | None = None
    advantage: float | None = None
    probabilities: tuple[float, ...] | None = None
    features: tuple[float, ...] | None = None
    z_scores: tuple[float, ...] | None = None
    # Plan-format models carry no statistics: range-widths beyond esper-lite's range instead.
    range_excess: tuple[float, ...] | None = None
    reference_action: int | None = None  # the heuristic's choice on the same state
    # Shadow mode: what the other policies chose on this same state (never executed).
    shadow: tuple[DecisionRecord, ...] = ()
    episode: int = 0

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

    def to_dict(self) -> dict:
        return {
            "lane": self.lane,
            "epoch": self.epoch,
            "policy": self.policy,
            "action": self.action,
            "target_slot": self.target_slot,
            "reason": self.reason,
            "action_mask": list(self.action_mask),
            "executed": self.executed,
            "outcome": self.outcome,
            "q_values": opt_list(self.q_values),
            "value": self.value,
            "advantage": self.advantage,
            "probabilities": opt_list(self.probabilities),
            "features": opt_list(self.features),
            "z_scores": opt_list(self.z_scores),
            "range_excess": opt_list(self.range_excess),
            "reference_action": self.reference_action,
            "shadow": [s.to_dict() for s in self.shadow],
            "episode": self.episode,
        }

    @classmethod
    def from_dict(cls, d: dict) -> DecisionRecord:
        d = conform(cls, d, nested=("shadow",))
        return cls(
            lane=d["lane"],
            epoch=int(d["epoch"]),
            policy=d["policy"],
            action=int(d["action"]),
            target_slot=d["target_slot"],
            reason=d["reason"],
            action_mask=tuple(bool(x) for x in d["action_mask"]),
            executed=bool(d["executed"]),
            outcome=d["outcome"],
            q_values=opt_tuple(d.get("q_values")),
            value=d.get("value"),
            advantage=d.get("advantage"),
            probabilities=opt_tuple(d.get("probabilities")),
            features=opt_tuple(d.get("features")),
            z_scores=opt_tuple(d.get("z_scores")),
            range_excess=opt_tuple(d.get("range_excess")),
            reference_action=d.get("reference_action"),
            shadow=tuple(DecisionRecord.from_dict(s) for s in d.get("shadow", ())),
            episode=int(d.get("episode", 0)),
        )
