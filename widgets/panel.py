"""Titled dashboard panels. A panel's title says what it is, marks focus with ``▶`` (not only
by colour) and carries the panel's state: a scroll hint, following or paused, the filter.

``ScrollPanel`` holds one text panel and scrolls it when it does not fit; ``DecisionPanel``
holds the decision table and the details line for the row under the cursor.
"""

from __future__ import annotations

from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.reactive import reactive
from textual.widget import Widget
from textual.widgets import DataTable, Static

from widgets.decision_table import DecisionFilter, DecisionTable, q_vector_text, reason_text
from widgets.glyphs import changed, fit
from widgets.model import StoreView

FOCUS_MARK = "▶ "


def panel_title(title: str, focused: bool, state: Text | None = None) -> Text:
    t = Text(FOCUS_MARK if focused else "", style="bold reverse")
    t.append(title, style="bold")
    if state:
        t.append(" · ", style="dim")
        t.append_text(state)
    return t


class Titled(Widget):
    """A widget whose border title shows its name, focus and ``panel_state()``."""

    PANEL_TITLE = ""

    def panel_state(self) -> Text | None:
        return None

    _title: Text | None = None

    def retitle(self) -> None:
        """Set the title; an unchanged one is not set again (setting it repaints the panel)."""
        title = panel_title(self.PANEL_TITLE, self.has_focus_within, self.panel_state())
        if changed(self._title, title):
            self._title = title
            self.border_title = title

    def on_mount(self) -> None:
        self.retitle()

    def on_focus(self) -> None:
        self.retitle()

    def on_blur(self) -> None:
        self.retitle()

    def on_descendant_focus(self) -> None:
        self.retitle()

    def on_descendant_blur(self) -> None:
        self.retitle()


class ScrollPanel(VerticalScroll, Titled):
    """A focusable, scrolling frame around one text panel; the title says when more is below."""

    ALLOW_MAXIMIZE = True

    def __init__(self, child: Widget, title: str, *, id: str | None = None) -> None:
        super().__init__(child, id=id)
        self.PANEL_TITLE = title

    def panel_state(self) -> Text | None:
        below = self.max_scroll_y > 0 and not self.is_vertical_scroll_end
        beside = self.max_scroll_x > 0 and not self.is_horizontal_scroll_end
        if below and beside:
            return Text("↓→ more: tab here, ↑↓←→ scroll", style="bold yellow")
        if below:
            return Text("↓ more: tab here, ↑↓ scroll", style="bold yellow")
        if beside:
            return Text("→ more: tab here, ←→ scroll", style="bold yellow")
        return None

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.retitle()

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        self.retitle()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.retitle)


class DecisionPanel(Vertical, Titled):
    """The decision table, its follow state and filter in the title, and a details line: the
    full Q vector of the row under the cursor (every action, masked ones in parentheses)."""

    PANEL_TITLE = "IQL decisions"
    ALLOW_MAXIMIZE = True
    BINDINGS = [Binding("v", "toggle_detail", "Q/why")]
    WIDE = 110  # narrower than this, the details line starts with the reason (its column is cut)

    show_reason: reactive[bool | None] = reactive(None)  # None: by width

    def compose(self) -> ComposeResult:
        yield DecisionTable(id="decisions")
        yield Static(id="decision-detail", markup=False)

    @property
    def table(self) -> DecisionTable:
        return self.query_one(DecisionTable)

    def on_mount(self) -> None:
        self.watch(self.table, "following", self._state_changed, init=False)
        self.watch(self.table, "row_filter", self._state_changed, init=False)
        self.retitle()

    def _state_changed(self) -> None:
        self.retitle()
        self._show_detail()

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
        return t

    def update_view(self, view: StoreView) -> None:
        self.table.update_view(view)
        self._show_detail()

    @on(DataTable.RowHighlighted, "#decisions")
    def _row_highlighted(self) -> None:
        self._show_detail()

    def action_toggle_detail(self) -> None:
        """v: the details line shows the full Q vector, or the reason and the result."""
        self.show_reason = not self._reason_shown()

    def watch_show_reason(self) -> None:
        if self.is_mounted:
            self._show_detail()

    def on_resize(self) -> None:
        self._show_detail()

    def _reason_shown(self) -> bool:
        return self.show_reason if self.show_reason is not None else self.size.width < self.WIDE

    def _show_detail(self) -> None:
        decision = self.table.cursor_decision
        detail = self.query_one("#decision-detail", Static)
        if decision is None:
            detail.update(
                Text(
                    "no decisions yet"
                    if not self.table.row_filter.active
                    else "no decision matches the filter (/ changes it)",
                    style="dim",
                ),
                layout=False,
            )
            return
        t = Text(f"{decision.episode}·{decision.epoch} {decision.lane}: ", style="bold")
        t.append_text(reason_text(decision) if self._reason_shown() else q_vector_text(decision))
        detail.update(fit(t, max(self.content_size.width, 20)), layout=False)  # one fixed line
