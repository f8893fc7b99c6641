"""The dashboard's width and height budget: size classes, which panel shows in a small terminal,
how tall the seed cards are, and how the rows and columns left over are shared.

Heights, top to bottom: the header, the scoreboard and the event strip take what their content
needs; the seed grid takes one, two or four lines per card (the most that still leaves the
health row its ten features and the decisions their rows); the health row takes what it needs
up to what the decisions leave; the decisions take the rest. Widths in the health row: gradient
health takes its natural width when the saturation table keeps its own; the saturation panel
takes everything else (its outlier list then wraps in fewer lines).
"""

from __future__ import annotations

from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Static

from esper_tui.screens.base import MIN_HEIGHT, MIN_WIDTH, too_small_text
from widgets import GradientPanel, SaturationPanel, SeedGrid
from widgets.decision_panel import DecisionPanel
from widgets.event_strip import EventStrip
from widgets.model import StoreView
from widgets.panel import ScrollPanel
from widgets.seed_grid import grid_lanes

COMPACT_WIDTH, COMPACT_HEIGHT = 110, 36
WIDE_WIDTH, WIDE_HEIGHT = 150, 46
PANELS = ("seed-grid", "gradients", "saturation", "decision-panel")
HEADER_ROWS, FOOTER_ROWS = 3, 1
HEALTH_WANT = 13  # rule, the saturation headings, its ten features
DECISIONS_WANT = 11  # rule, and ten rows: the pane's headline, reason, heuristic, Q bars, V
DECISIONS_MIN = 6  # rule, header, two rows; stacked or beside, the pane keeps the reason
STRIP_ROWS, STRIP_ROWS_COMPACT = 2, 1
GRADIENT_MIN = 34


def card_rows(lanes: int, lines: int) -> int:
    """Rows the seed grid takes: its title rule, then a row of cards per lane (framed cards
    add their border)."""
    return 1 + lanes * (lines + 2 if lines >= 4 else lines)


class PanelLayout(Screen[None]):
    """The size-dependent part of ``DashboardScreen``: it calls ``apply_size`` on resize and
    ``fit_rows`` after every update."""

    view: StoreView
    _active_panel: int
    _lower_panel: int
    _strip_rows: int = STRIP_ROWS

    # ------------------------------------------------------------------ size classes
    def apply_size(self) -> None:
        width, height = self.app.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        compact = not small and (width < COMPACT_WIDTH or height < COMPACT_HEIGHT)
        wide = width >= WIDE_WIDTH and height >= WIDE_HEIGHT
        self.set_class(small, "-too-small")
        self.set_class(compact, "-compact")
        self.set_class(wide, "-wide")
        if small:
            self.query_one("#too-small", Static).update(too_small_text(width, height))
        self._strip_rows = STRIP_ROWS_COMPACT if compact else STRIP_ROWS
        self.query_one(EventStrip).styles.height = self._strip_rows
        self.fit_cards()
        self.show_panel(self._active_panel, focus=False)
        self.call_after_refresh(self.fit_rows)

    def _maximised(self) -> Widget | None:
        return self.maximized

    def fit_cards(self) -> None:
        """Framed four-line cards when maximised or on a wide screen with room to spare; two
        lines at 120×40; one line in a small terminal or when many lanes need the rows."""
        grid = self.query_one(SeedGrid)
        lanes = max(len(grid_lanes(self.view)), 1)
        if self._maximised() is grid:
            grid.set_lines(4)
            return
        if self.has_class("-compact"):
            grid.set_lines(1)
            return
        room = self._room()
        choices = (4, 2, 1) if self.has_class("-wide") else (2, 1)
        for lines in choices:
            if card_rows(lanes, lines) + HEALTH_WANT + DECISIONS_WANT <= room:
                grid.set_lines(lines)
                return
        grid.set_lines(1)
        if self._strip_rows > STRIP_ROWS_COMPACT:  # many lanes: the strip gives its second row
            self._strip_rows = STRIP_ROWS_COMPACT
            self.query_one(EventStrip).styles.height = self._strip_rows

    def _room(self) -> int:
        """Rows between the header and the footer that the scoreboard and strip leave."""
        try:
            scoreboard = self.query_one("#scoreboard").outer_size.height
        except NoMatches:
            scoreboard = 0
        if not scoreboard:
            scoreboard = len(self.view.lanes) + 2
        header = HEADER_ROWS + (self.view.vitals is not None)  # the vitals line
        return self.app.size.height - header - FOOTER_ROWS - self._strip_rows - scoreboard

    def _open_end_dialog(self) -> None:
        """Called after each fitting's layout; the dashboard opens its run-end dialog here."""

    def fit_rows(self) -> None:
        """The health row's height and the two health panels' widths, from what is left."""
        try:
            health = self.query_one("#health")
            grid = self.query_one("#seed-grid")
            gradients = self.query_one("#gradients", ScrollPanel)
        except NoMatches:  # shutting down
            return
        if (
            self.has_class("-compact")
            or self.has_class("-too-small")
            or self._maximised() is not None
        ):
            health.styles.height = None
            health.styles.max_height = None
        else:
            room = self._room() - grid.outer_size.height
            natural = (
                max(
                    self.query_one(GradientPanel).outer_size.height,
                    self.query_one(SaturationPanel).outer_size.height,
                )
                + 1
            )
            # a scrollbar row
            sideways = self.query_one("#saturation", ScrollPanel).max_scroll_x > 0
            want = (min(natural, HEALTH_WANT) if natural > 1 else HEALTH_WANT) + int(sideways)
            rows = max(min(natural, room - DECISIONS_WANT), min(want, room - DECISIONS_MIN), 6)
            if health.styles.height is None or health.styles.height.value != rows:
                health.styles.height = rows
                health.styles.max_height = rows
        self._fit_health_widths(gradients)
        for panel in self.query(ScrollPanel):  # their scroll hints follow the new size
            panel.call_after_refresh(panel.retitle)
        self.call_after_refresh(self._open_end_dialog)  # after the layout these sizes make

    def _fit_health_widths(self, gradients: ScrollPanel) -> None:
        total = self.query_one("#health").content_size.width
        if total <= 0 or self.has_class("-compact"):
            gradients.styles.width = None
            return
        # rule, padding, scrollbar
        table = self.query_one(SaturationPanel).table_width(self.view) + 4
        natural = self.query_one(GradientPanel).natural_width(self.view) + 2
        width = max(GRADIENT_MIN, min(natural, total - table))
        if gradients.styles.width is None or gradients.styles.width.value != width:
            gradients.styles.width = width

    # ------------------------------------------------------------------ panels
    def action_next_panel(self) -> None:
        """Tab: the next panel. In the compact layout only that panel of the lower row shows."""
        if self.maximized is not None:
            self.restore_panel()
        self._active_panel = (self._active_panel + 1) % len(PANELS)
        self.show_panel(self._active_panel)

    def show_panel(self, index: int, focus: bool = True) -> None:
        if PANELS[index] != "seed-grid":
            self._lower_panel = index
        compact = self.has_class("-compact")
        for i, panel_id in enumerate(PANELS[1:], start=1):
            self.query_one(f"#{panel_id}").set_class(compact and i != self._lower_panel, "-hidden")
        self.query_one("#health").set_class(
            compact and PANELS[self._lower_panel] == "decision-panel", "-hidden"
        )
        if focus:
            panel: Widget = self.query_one(f"#{PANELS[index]}")
            (panel.table if isinstance(panel, DecisionPanel) else panel).focus()

    def focused_panel(self) -> Widget | None:
        focused = self.focused
        if focused is None:
            return None
        return next(
            (w for w in (focused, *focused.ancestors) if isinstance(w, Widget) and w.id in PANELS),
            None,
        )

    def maximise_panel(self) -> None:
        panel = self.focused_panel()
        if panel is not None:
            self.maximize(panel, container=False)
            self._after_maximise()

    def restore_panel(self) -> None:
        if self.maximized is not None:
            self.minimize()
            self._after_maximise()

    def _after_maximise(self) -> None:
        self.fit_cards()
        self.call_after_refresh(self.query_one(DecisionPanel).relayout)
        self.call_after_refresh(self.fit_rows)
        self.refresh_bindings()
