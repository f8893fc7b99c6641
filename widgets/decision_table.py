"""The decision table: every policy decision, one row each. It shows the columns that fit its
width, chosen by priority (when, lane, action, outcome, Q, the heuristic's choice, advantage, V,
best Q, reason); the decision pane beside or under it (``DecisionPanel``) tells the row under
the cursor in full, so a column left out is never lost. Each column is as wide as its content.

What a row says, and the filter, are ``widgets.decision_rows``.

Rows are keyed by ``DecisionRecord.key``. An update only adds the new rows at the bottom and
removes those that fell out of the store's bounded window; it never clears (a table cleared and
rebuilt every tick jumped its cursor to row 0 and burned CPU). Only a new filter rebuilds it.

The table follows new rows until the user moves the cursor; ``following`` then turns False
until End (or ``follow()``).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.cells import cell_len
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.reactive import reactive
from textual.widgets import DataTable

from training.records import DecisionRecord
from widgets.decision_rows import COLUMNS, LABELS, PRIORITY, DecisionFilter, decision_cells
from widgets.labels import lane_labels
from widgets.model import StoreView

LANE_W = 12  # a lane name longer than this: the table uses every lane's two-letter code
CELL_PADDING = 2  # DataTable's cell padding, one each side


class DecisionTable(DataTable):
    """Keyed, bounded, append-at-the-bottom. The cursor stays on its record across updates and
    follows new rows while ``following``."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Seed detail"),
        Binding("end", "follow", "Follow new rows"),
    ]

    following: reactive[bool] = reactive(True)
    row_filter: reactive[DecisionFilter] = reactive(DecisionFilter, always_update=True)

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes, cursor_type="row", zebra_stripes=True)
        self._rows: dict[str, DecisionRecord] = {}  # row key -> record, in table order
        self._shadow: set[str] = set()  # row keys of shadow-mode advice
        self._decisions: tuple[DecisionRecord, ...] | None = None
        self._view: StoreView | None = None
        self._shown: tuple[str, ...] = tuple(key for _, key in COLUMNS)  # column keys, in order
        self._widths: dict[str, int] = {key: cell_len(label) for label, key in COLUMNS}
        self._lane_labels: dict[str, str] = {}
        self._enter_offered = False  # what the footer was last told about enter

    def on_mount(self) -> None:
        self._ensure_columns()

    def _ensure_columns(self) -> None:
        """Columns need the app (to measure labels), so they are added on mount."""
        if not self.columns:
            for key in self._shown:
                self.add_column(LABELS[key], key=key)

    # ------------------------------------------------------------------ columns by width
    @property
    def shown_columns(self) -> tuple[str, ...]:
        return self._shown

    def column_width(self, key: str) -> int:
        """Cells a column takes: its widest content (label included) and the cell padding."""
        return self._widths[key] + CELL_PADDING

    def columns_for(self, width: int) -> tuple[str, ...]:
        """The columns that fit in ``width`` cells, taken by priority, in display order."""
        room = width - 1  # the vertical scrollbar
        chosen: set[str] = set()
        for key in PRIORITY:
            need = self.column_width(key)
            if need <= room:
                chosen.add(key)
                room -= need
            elif key in ("when", "lane", "action"):
                chosen.add(key)  # the row must still say what it is
                room -= need
        return tuple(key for _, key in COLUMNS if key in chosen)

    def width_of(self, keys: tuple[str, ...]) -> int:
        return sum(self.column_width(key) for key in keys) + 1

    def set_columns(self, keys: tuple[str, ...]) -> None:
        """Show these columns (a user's resize or maximise: the one other rebuild)."""
        keys = tuple(key for _, key in COLUMNS if key in keys)
        if keys == self._shown:
            return
        self._shown = keys
        self._rebuild()

    def _rebuild(self) -> None:
        """Every row again, with the columns and lane labels of now; the cursor keeps its row."""
        cursor_key = self.row_key_at(self.cursor_row)
        rows = list(self._rows.items())
        self.clear(columns=True)
        self._rows.clear()
        for key in self._shown:
            self.add_column(LABELS[key], key=key)
        for key, decision in rows:
            self._add(key, decision, key in self._shadow)
        if not self.row_count:
            return
        if self.following or cursor_key not in self._rows:
            self.move_cursor(row=self.row_count - 1)
        else:
            self.move_cursor(row=self.get_row_index(cursor_key))
        # DataTable measures the new rows when its own message queue runs dry; a rebuild called
        # from the panel's resize leaves it no message, so the columns kept their labels' widths
        # and the view stayed on the first rows until the next decision came (a minute, live).
        # This message gets it measured, then keeps a following table on its newest row.
        self.call_after_refresh(self._keep_newest_in_sight)

    def _add(self, key: str, decision: DecisionRecord, shadow: bool) -> None:
        cells = dict(
            zip(
                (k for _, k in COLUMNS),
                decision_cells(decision, shadow, self._lane_labels.get(decision.lane)),
                strict=True,
            )
        )
        for column, cell in cells.items():
            width = cell_len(cell.plain)
            if width > self._widths[column]:
                self._widths[column] = width
        self.add_row(*(cells[k] for k in self._shown), key=key)
        self._rows[key] = decision
        if shadow:
            self._shadow.add(key)
        else:
            self._shadow.discard(key)

    def on_resize(self) -> None:
        """A following table keeps the newest row in sight whatever the new height."""
        if self.following and self.row_count:
            self.call_after_refresh(self._keep_newest_in_sight)

    def _keep_newest_in_sight(self) -> None:
        if self.following and self.row_count:  # still following when the layout is done
            self.move_cursor(row=self.row_count - 1)
            self.scroll_to(y=self.max_scroll_y, animate=False, immediate=True)

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
        """End is offered (in the footer) only while following is paused; enter only on a
        decision that acted on a seed (it opens that seed)."""
        if action == "follow":
            return not self.following
        if action == "select_cursor":
            decision = self.cursor_decision
            return decision is not None and decision.target_slot is not None
        return True

    def watch_cursor_coordinate(self, old: Coordinate, new: Coordinate) -> None:
        super().watch_cursor_coordinate(old, new)
        decision = self.cursor_decision
        names_seed = decision is not None and decision.target_slot is not None
        if names_seed != self._enter_offered and self.has_focus:  # the footer shows enter, or not
            self._enter_offered = names_seed
            self.refresh_bindings()

    def on_focus(self) -> None:
        decision = self.cursor_decision
        self._enter_offered = decision is not None and decision.target_slot is not None

    def watch_following(self) -> None:
        self.refresh_bindings()

    def follow(self) -> None:
        self.following = True
        if self.row_count:
            self.move_cursor(row=self.row_count - 1)

    # ------------------------------------------------------------------ data
    def watch_row_filter(self) -> None:
        """A new filter: a rebuild (a user's action, never a tick)."""
        self.clear()
        self._rows.clear()
        self._shadow.clear()
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
        labels = lane_labels([lane.name for lane in view.lanes], LANE_W)
        if labels != self._lane_labels:
            self._lane_labels = labels
            if self._rows:
                self._rebuild()
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
            self._shadow.discard(key)
        for key, decision in new:
            self._add(key, decision, id(decision) in shadows)
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
