"""What the decision table shows of a decision: its columns (with their labels and the
priority by which they are kept in a narrow table), the cells of one row, the best valid action
the Q-values name, and the filter that picks which decisions are shown."""

from __future__ import annotations

import math
from dataclasses import dataclass

from rich.text import Text

from training.records import DecisionRecord
from widgets.glyphs import action_short, fmt_signed

COLUMNS: tuple[tuple[str, str], ...] = (
    ("ep·e", "when"),
    ("lane", "lane"),
    ("action", "action"),
    ("Q", "q"),
    ("best Q", "best"),
    ("V", "value"),
    ("adv", "advantage"),
    ("heur", "reference"),
    ("outcome", "outcome"),
    ("reason → result", "reason"),
)
LABELS = dict((key, label) for label, key in COLUMNS)
PRIORITY = (
    "when",
    "lane",
    "action",
    "outcome",
    "q",
    "reference",
    "advantage",
    "value",
    "best",
    "reason",
)


@dataclass(frozen=True)
class DecisionFilter:
    """Which decisions the table shows: one lane or all, refused only, disagreements only."""

    lane: str | None = None
    refused_only: bool = False
    disagreements_only: bool = False

    def accepts(self, decision: DecisionRecord, shadow: bool = False) -> bool:
        if self.lane is not None and decision.lane != self.lane:
            return False
        if self.refused_only and (decision.executed or shadow):
            return False
        return not (self.disagreements_only and decision.agrees is not False)

    @property
    def active(self) -> bool:
        return self != DecisionFilter()

    def describe(self) -> str:
        parts = [f"lane {self.lane}" if self.lane else "all lanes"]
        if self.refused_only:
            parts.append("refused only")
        if self.disagreements_only:
            parts.append("disagreements only")
        return ", ".join(parts)


def best_valid(decision: DecisionRecord) -> int | None:
    """The valid action with the highest Q (what the plan's greedy masked argmax picks)."""
    q = decision.q_values
    if q is None:
        return None
    valid = [
        a
        for a in range(len(q))
        if a < len(decision.action_mask) and decision.action_mask[a] and math.isfinite(q[a])
    ]
    return max(valid, key=lambda a: q[a], default=None)


def _num(x: float | None) -> Text:
    return Text(fmt_signed(x), justify="right", style="" if x is not None else "dim")


def decision_cells(
    decision: DecisionRecord, shadow: bool, lane_label: str | None = None
) -> tuple[Text, ...]:
    """The cells of one row, in ``COLUMNS`` order; ``lane_label`` is the lane's name or code."""
    lane = Text(lane_label if lane_label is not None else decision.lane)
    if shadow:
        lane.append(" ⁝", style="italic dim")  # advice only, never executed
    action = Text(action_short(decision.action), style="bold")
    if decision.target_slot is not None:
        action.append(f" s{decision.target_slot}", style="dim")
    q = decision.q_values
    chosen = q[decision.action] if q is not None and 0 <= decision.action < len(q) else None
    best = best_valid(decision)
    if best is None or q is None:
        best_cell = Text("—", style="dim", justify="right")
    elif best == decision.action:
        best_cell = Text("= chosen", style="dim", justify="right")
    else:
        best_cell = Text(
            f"{action_short(best)} {fmt_signed(q[best])}", justify="right", style="yellow"
        )
    agrees = decision.agrees
    reference = Text(action_short(decision.reference_action))
    if agrees is not None:
        reference.append(" ✓" if agrees else " ✗", style="bold green" if agrees else "bold red")
    if shadow:
        outcome = Text("advice", style="italic dim")
        reason = Text(decision.reason, style="dim")
    elif decision.executed:
        outcome = Text("done", style="green")
        reason = Text(decision.reason, style="dim")
        reason.append(f" → {decision.outcome}")
    else:
        outcome = Text("REFUSED", style="bold red")
        reason = Text(decision.outcome, style="red")
        reason.append(f" ({decision.reason})", style="dim")
    return (
        Text(f"{decision.episode}·{decision.epoch}"),
        lane,
        action,
        _num(chosen),
        best_cell,
        _num(decision.value),
        _num(decision.advantage),
        reference,
        outcome,
        reason,
    )
