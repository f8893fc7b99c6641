"""The decision pane: every policy decision with the Q-value of every action, V, advantage, the
heuristic's choice on the same state, agreement, and whether it was executed or refused (why).

Rows are keyed by ``DecisionRecord.key``. An update only adds the new rows at the bottom and
removes those that fell out of the store's bounded window; it never clears. A table cleared
and rebuilt every tick jumped its cursor to row 0 and burned CPU.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.widgets import DataTable

from training.records import DecisionRecord, StoreView
from widgets.glyphs import ACTION_SHORT, action_short, fmt_signed, truncate

OUTCOME_WIDTH = 48
COLUMNS: tuple[tuple[str, str], ...] = (
    ("epoch", "epoch"), ("lane", "lane"), ("action", "action"),
    *((label, f"q{i}") for i, label in enumerate(ACTION_SHORT)),
    ("V", "value"), ("adv", "advantage"), ("heur", "reference"), ("agree", "agree"),
    ("outcome", "outcome"), ("reason", "reason"),
)  # fmt: skip


def _q_cell(decision: DecisionRecord, action: int) -> Text:
    """A Q-value: the chosen one highlighted, masked (invalid) actions dim in parentheses."""
    if decision.q_values is None or action >= len(decision.q_values):
        return Text("—", style="dim", justify="right")
    text = fmt_signed(decision.q_values[action])
    masked = action < len(decision.action_mask) and not decision.action_mask[action]
    if masked:
        return Text(f"({text})", style="dim", justify="right")
    if action == decision.action:
        return Text(text, style="bold reverse", justify="right")
    return Text(text, justify="right")


def decision_cells(decision: DecisionRecord, shadow: bool) -> tuple[Text | str, ...]:
    """The cells of one row, in ``COLUMNS`` order."""
    lane = Text(decision.lane)
    if shadow:
        lane.append(" shadow", style="italic dim")
    agrees = decision.agrees
    agree = (Text("—", style="dim") if agrees is None
             else Text("✓", style="bold green") if agrees else Text("✗", style="bold red"))  # fmt: skip
    outcome = Text("executed: " if decision.executed else "refused: ",
                   style="green" if decision.executed else "bold red")  # fmt: skip
    outcome.append(truncate(decision.outcome, OUTCOME_WIDTH))
    action = Text(action_short(decision.action), style="bold")
    if decision.target_slot is not None:
        action.append(f" s{decision.target_slot}", style="dim")
    return (
        f"{decision.epoch} (ep {decision.episode})", lane,
        action,
        *(_q_cell(decision, a) for a in range(len(ACTION_SHORT))),
        Text(fmt_signed(decision.value), justify="right"),
        Text(fmt_signed(decision.advantage), justify="right"),
        Text(action_short(decision.reference_action)), agree, outcome,
        Text(truncate(decision.reason, OUTCOME_WIDTH), style="dim"),
    )  # fmt: skip


class DecisionTable(DataTable):
    """Keyed, bounded, append-at-the-bottom. The cursor stays on its record across updates and
    follows new rows only when it was on the last one."""

    def __init__(self, *, name: str | None = None, id: str | None = None,
                 classes: str | None = None) -> None:  # fmt: skip
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._rows: dict[str, DecisionRecord] = {}  # row key -> record, in table order
        self._decisions: tuple[DecisionRecord, ...] | None = None

    def on_mount(self) -> None:
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        """Columns need the app (to measure labels), so they are added on mount, not in
        ``__init__``."""
        if not self.columns:
            for label, key in COLUMNS:
                self.add_column(label, key=key)

    def row_key_at(self, index: int) -> str | None:
        """The key of the row at ``index`` (e.g. the cursor row), or None."""
        if not 0 <= index < self.row_count:
            return None
        return self._row_locations.get_key(index).value

    def update_view(self, view: StoreView) -> None:
        decisions = view.decisions
        if decisions is self._decisions:
            return
        self._decisions = decisions
        self._ensure_columns()
        had_rows = self.row_count > 0
        cursor_key = self.row_key_at(self.cursor_row)
        follow = not had_rows or self.cursor_row >= self.row_count - 1
        top = int(self.scroll_y)
        keep, new = self._match(decisions)
        gone = [key for key in self._rows if key not in keep]
        removed_above = sum(1 for key in gone if self.get_row_index(key) < top)
        for key in gone:
            self.remove_row(key)
            del self._rows[key]
        shadows = {id(s) for d in decisions for s in d.shadow}
        for key, decision in new:
            self.add_row(*decision_cells(decision, id(decision) in shadows), key=key)
            self._rows[key] = decision
        if not self.row_count:
            return
        if follow:
            self.move_cursor(row=self.row_count - 1)
            return
        if removed_above:
            self.scroll_to(y=max(0, top - removed_above), animate=False, immediate=True)
        # The cursor's record, or the oldest row left when its record fell out of the window.
        row = self.get_row_index(cursor_key) if cursor_key in keep else 0
        self.move_cursor(row=row, scroll=False)

    def _match(self, decisions: Sequence[DecisionRecord]
               ) -> tuple[set[str], list[tuple[str, DecisionRecord]]]:  # fmt: skip
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
