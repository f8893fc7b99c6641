"""The decision table: every policy decision, compact enough that agreement, outcome and reason
fit at 120 columns. The chosen action's Q, the best valid Q, V and the advantage have columns;
the full Q vector of the row under the cursor is on the details line below (``DecisionPanel``).

Rows are keyed by ``DecisionRecord.key``. An update only adds the new rows at the bottom and
removes those that fell out of the store's bounded window; it never clears (a table cleared and
rebuilt every tick jumped its cursor to row 0 and burned CPU). Only a new filter rebuilds it.

The table follows new rows until the user moves the cursor; ``following`` then turns False
until End (or ``follow()``).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.reactive import reactive
from textual.widgets import DataTable

from training.records import DecisionRecord
from widgets.glyphs import ACTION_SHORT, action_short, fmt_signed, truncate
from widgets.model import StoreView

LANE_W = 12
COLUMNS: tuple[tuple[str, str], ...] = (
    ("ep·e", "when"), ("lane", "lane"), ("action", "action"), ("Q", "q"), ("best Q", "best"),
    ("V", "value"), ("adv", "advantage"), ("heur", "reference"), ("outcome", "outcome"),
    ("reason → result", "reason"),
)  # fmt: skip


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


def decision_cells(decision: DecisionRecord, shadow: bool) -> tuple[Text, ...]:
    """The cells of one row, in ``COLUMNS`` order."""
    lane = Text(truncate(decision.lane, LANE_W))
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


def reason_text(decision: DecisionRecord) -> Text:
    """What the policy said and what became of it: the last column, in full."""
    if not decision.executed and decision.outcome.startswith("shadow"):
        return Text(f"advice: {decision.reason}", style="italic")
    if decision.executed:
        t = Text(decision.reason)
        t.append(f" → {decision.outcome}", style="green")
        return t
    t = Text("REFUSED ", style="bold red")
    t.append(decision.outcome)
    t.append(f" ({decision.reason})", style="dim")
    return t


def q_vector_text(decision: DecisionRecord) -> Text:
    """Every action's Q: the chosen one reversed, masked (invalid) ones dim in parentheses."""
    t = Text("Q ", style="bold")
    if decision.q_values is None:
        t.append(f"— ({decision.policy}: rules, no Q-values)", style="dim")
        return t
    for a, label in enumerate(ACTION_SHORT):
        if a >= len(decision.q_values):
            break
        value = fmt_signed(decision.q_values[a])
        masked = a < len(decision.action_mask) and not decision.action_mask[a]
        t.append(f"{label} ", style="dim" if masked else "")
        if masked:
            t.append(f"({value})", style="dim")
        else:
            t.append(value, style="bold reverse" if a == decision.action else "")
        t.append("  ")
    if decision.probabilities is not None and 0 <= decision.action < len(decision.probabilities):
        t.append(f"p(chosen) {decision.probabilities[decision.action]:.2f}", style="dim")
    return t


class DecisionTable(DataTable):
    """Keyed, bounded, append-at-the-bottom. The cursor stays on its record across updates and
    follows new rows while ``following``."""

    BINDINGS = [Binding("end", "follow", "Follow new rows")]

    following: reactive[bool] = reactive(True)
    row_filter: reactive[DecisionFilter] = reactive(DecisionFilter, always_update=True)

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._rows: dict[str, DecisionRecord] = {}  # row key -> record, in table order
        self._decisions: tuple[DecisionRecord, ...] | None = None
        self._view: StoreView | None = None

    def on_mount(self) -> None:
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        """Columns need the app (to measure labels), so they are added on mount."""
        if not self.columns:
            for label, key in COLUMNS:
                self.add_column(label, key=key)

    def row_key_at(self, index: int) -> str | None:
        """The key of the row at ``index`` (e.g. the cursor row), or None."""
        if not 0 <= index < self.row_count:
            return None
        return self.coordinate_to_cell_key(Coordinate(index, 0)).row_key.value

    def decision_at(self, index: int) -> DecisionRecord | None:
        key = self.row_key_at(index)
        return None if key is None else self._rows.get(key)

    @property
    def cursor_decision(self) -> DecisionRecord | None:
        return self.decision_at(self.cursor_row)

    # ------------------------------------------------------------------ the user moves
    def _stop_following(self) -> None:
        self.following = False

    def action_cursor_up(self) -> None:
        self._stop_following()
        super().action_cursor_up()

    def action_cursor_down(self) -> None:
        self._stop_following()
        super().action_cursor_down()

    def action_page_up(self) -> None:
        self._stop_following()
        super().action_page_up()

    def action_page_down(self) -> None:
        self._stop_following()
        super().action_page_down()

    def action_scroll_top(self) -> None:
        self._stop_following()
        super().action_scroll_top()

    def on_click(self) -> None:
        self._stop_following()

    def action_scroll_home(self) -> None:
        self._stop_following()
        super().action_scroll_home()

    def action_follow(self) -> None:
        """End: back to the newest row, and follow new ones again."""
        self.follow()

    def action_scroll_end(self) -> None:
        self.follow()

    def action_scroll_bottom(self) -> None:
        self.follow()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """End is offered (in the footer) only while following is paused."""
        return not self.following if action == "follow" else True

    def watch_following(self) -> None:
        self.refresh_bindings()

    def follow(self) -> None:
        self.following = True
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    # ------------------------------------------------------------------ data
    def watch_row_filter(self) -> None:
        """A new filter: the one rebuild (a user's action, never a tick)."""
        self.clear()
        self._rows.clear()
        self._decisions = None
        if self._view is not None:
            self.update_view(self._view)
        if self.following and self.row_count:
            self.move_cursor(row=self.row_count - 1)

    def update_view(self, view: StoreView) -> None:
        self._view = view
        decisions = view.decisions
        if decisions is self._decisions:
            return
        self._decisions = decisions
        self._ensure_columns()
        shadows = {id(s) for d in decisions for s in d.shadow}
        wanted = self.row_filter
        if wanted.active:
            decisions = tuple(d for d in decisions if wanted.accepts(d, id(d) in shadows))
        cursor_key = self.row_key_at(self.cursor_row)
        top = int(self.scroll_y)
        keep, new = self._match(decisions)
        gone = [key for key in self._rows if key not in keep]
        removed_above = sum(1 for key in gone if self.get_row_index(key) < top)
        for key in gone:
            self.remove_row(key)
            del self._rows[key]
        for key, decision in new:
            self.add_row(*decision_cells(decision, id(decision) in shadows), key=key)
            self._rows[key] = decision
        if not self.row_count:
            return
        if self.following:
            self.move_cursor(row=self.row_count - 1)
            return
        if removed_above:
            self.scroll_to(y=max(0, top - removed_above), animate=False, immediate=True)
        # The cursor's record, or the oldest row left when its record fell out of the window.
        row = self.get_row_index(cursor_key) if cursor_key in keep else 0
        self.move_cursor(row=row, scroll=False)

    def _match(
        self, decisions: Sequence[DecisionRecord]
    ) -> tuple[set[str], list[tuple[str, DecisionRecord]]]:
        """Pair each decision with the row that shows it already, or give it a new key.

        Keys are unique within a run; a file holding two runs repeats them, so a repeat gets a
        ``#n`` suffix instead of raising DuplicateKey.
        """
        keep: set[str] = set()
        taken: set[str] = set()
        new: list[tuple[str, DecisionRecord]] = []
        for decision in decisions:
            base, n = decision.key, 1
            while True:
                key = base if n == 1 else f"{base}#{n}"
                n += 1
                if key in taken:
                    continue
                shown = self._rows.get(key)
                if shown is None:
                    new.append((key, decision))
                elif shown is decision or shown == decision:
                    keep.add(key)
                else:
                    continue
                taken.add(key)
                break
        return keep, new
