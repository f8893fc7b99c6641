"""The decisions panel: the decision table and, beside it (or under it in a narrow terminal), the
pane that tells the decision under the cursor in full (``widgets.decision_why``).

Width is shared by one rule: the pane keeps at least ``WHY_MIN`` columns; the table takes the
columns that fit in the rest, by priority, and the title says which columns are left to the
pane. Maximised (``m``), the table shows every column. Stacked, the pane gets every row the
table's header and two rows leave, so the reason of the newest decision is always on screen.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.containers import Container, Vertical, VerticalScroll
from textual.widgets import DataTable

from training.records import DecisionRecord
from widgets.decision_rows import COLUMNS, DecisionFilter
from widgets.decision_table import DecisionTable
from widgets.decision_why import DecisionWhy
from widgets.model import StoreView
from widgets.panel import Titled

WHY_MIN = 46  # the pane's narrowest side-by-side width: Q bars in two columns
SIDE_MIN = 100  # narrower panels stack the pane under the table
TABLE_MIN_ROWS = 3  # header and two rows, when stacked
HIDDEN_NAMES = {"q": "Q", "best": "best Q", "value": "V", "advantage": "adv", "reference": "heuristic",
                "outcome": "outcome", "reason": "reason"}  # fmt: skip


class DecisionPanel(Vertical, Titled):
    """The table, its follow state, filter and left-out columns in the title, and the pane."""

    PANEL_TITLE = "Decisions"
    ALLOW_MAXIMIZE = True

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._view: StoreView | None = None
        self._side = True
        self._layout_key: tuple = ()

    def compose(self) -> ComposeResult:
        with Container(id="decision-body", classes="-side"):
            yield DecisionTable(id="decisions")
            with VerticalScroll(id="why-scroll"):
                yield DecisionWhy(id="decision-why")

    @property
    def table(self) -> DecisionTable:
        return self.query_one(DecisionTable)

    @property
    def why(self) -> DecisionWhy:
        return self.query_one(DecisionWhy)

    @property
    def side_by_side(self) -> bool:
        return self._side

    def on_mount(self) -> None:
        self.watch(self.table, "following", self._state_changed, init=False)
        self.watch(self.table, "row_filter", self._state_changed, init=False)
        self.retitle()

    def _state_changed(self) -> None:
        self.retitle()
        self._show_why()

    # ------------------------------------------------------------------ title
    def panel_state(self) -> Text:
        table = self.table
        t = (
            Text("following", style="green")
            if table.following
            else Text("following paused: End resumes", style="bold yellow")
        )
        wanted: DecisionFilter = table.row_filter
        if wanted.active:
            t.append(" · ", style="dim")
            t.append(f"filter: {wanted.describe()} (/ changes)", style="bold cyan")
        hidden = [
            HIDDEN_NAMES[key]
            for _, key in COLUMNS
            if key not in table.shown_columns and key in HIDDEN_NAMES
        ]
        if hidden:
            t.append(" · ", style="dim")
            t.append(f"{', '.join(hidden)}: in the pane {'→' if self._side else '↓'}", style="dim")
        return t

    # ------------------------------------------------------------------ data
    def update_view(self, view: StoreView) -> None:
        self._view = view
        widths = tuple(self.table.column_width(key) for _, key in COLUMNS[:-1])
        self.table.update_view(view)
        if widths != tuple(self.table.column_width(key) for _, key in COLUMNS[:-1]):
            self.relayout()  # a wider lane name or number: the columns that fit may change
        self._show_why()

    @on(DataTable.RowHighlighted, "#decisions")
    def _row_highlighted(self) -> None:
        self._show_why()

    def _show_why(self) -> None:
        table = self.table
        decision = table.cursor_decision
        empty = (
            "no decision matches the filter (/ changes it)"
            if table.row_filter.active
            else "no decisions yet"
        )
        self.why.show(decision, self._view, self._is_shadow(decision), empty)

    def _is_shadow(self, decision: DecisionRecord | None) -> bool:
        if decision is None or self._view is None:
            return False
        return decision.outcome.startswith("shadow") and not decision.executed

    # ------------------------------------------------------------------ layout
    def on_resize(self) -> None:
        self.relayout()

    def relayout(self) -> None:
        """Pick the table's columns and put the pane beside or under it, for this size."""
        width, height = self.content_size.width, self.content_size.height
        if width <= 0:
            return
        table = self.table
        maximised = self.has_class("-maximized")
        if maximised:
            keys = tuple(key for _, key in COLUMNS)
        elif width >= SIDE_MIN:
            keys = table.columns_for(width - WHY_MIN - 1)
        else:
            keys = table.columns_for(width)
        side = width >= SIDE_MIN and width - table.width_of(keys) - 1 >= WHY_MIN
        key = (width, height, keys, side, maximised)
        if key == self._layout_key:
            return
        self._layout_key = key
        self._side = side
        body = self.query_one("#decision-body")
        body.set_class(side, "-side")
        body.set_class(not side, "-stacked")
        table.set_columns(keys)
        why = self.query_one("#why-scroll")
        if side:
            table.styles.width = table.width_of(keys)
            why.styles.max_height = None
        else:
            table.styles.width = "1fr"
            why.styles.max_height = max(2, height - TABLE_MIN_ROWS)
        self.retitle()
