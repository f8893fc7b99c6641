"""The dashboard screen: layout, keys, seed selection, the poll loop and size classes.

It polls the store's immutable view and fans it out to the panels inside one
``batch_update()``; each panel repaints only what changed. Dialogs are plain ``ModalScreen``s
pushed over it; quitting belongs to the App, so ``q`` works in every dialog.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widget import Widget
from textual.widgets import DataTable, Footer, Static

from esper_tui.operator import TrainerControls
from esper_tui.screens import (
    CrashScreen,
    FilterScreen,
    FinishedScreen,
    HelpScreen,
    SeedDetailScreen,
)
from esper_tui.sources import CommandSource, DataSource, ReplayControls, source_mode, source_path
from esper_tui.store import TelemetryStore
from training.records import SeedRecord
from training.records.text import printable, printable_path
from training.util.safe_io import PathError, create_new, new_path
from widgets import GradientPanel, RunHeader, SaturationPanel, Scoreboard, SeedGrid
from widgets.decision_table import DecisionFilter, DecisionTable
from widgets.model import StoreView
from widgets.panel import DecisionPanel, ScrollPanel, Titled
from widgets.run_header import SourceState, record_time
from widgets.seed_grid import grid_lanes

MIN_WIDTH, MIN_HEIGHT = 80, 24
COMPACT_WIDTH, COMPACT_HEIGHT = 110, 36
WIDE_WIDTH, WIDE_HEIGHT = 150, 46
PANELS = ("seed-grid", "gradients", "saturation", "decision-panel")
DECISIONS_MIN = 8  # rule, column labels, five rows and the details line
HEALTH_ROWS = 15  # rule, saturation headings, ten features, outliers
TRAINING_ACTIONS = {"toggle_training", "pause_seed", "cull_seed"}
REPLAY_ACTIONS = {"toggle_replay", "speed", "jump"}


class SeedPanel(SeedGrid, Titled):
    PANEL_TITLE = "Seed lifecycle"
    ALLOW_MAXIMIZE = True


class DashboardScreen(TrainerControls):
    """Everything on one screen; the App only holds the store, the source and the exit."""

    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        # the App's priority binding acts; this orders the footer
        Binding("q", "app.quit_app", "Quit"),
        Binding("space", "toggle_training", "Pause"),
        Binding("space", "toggle_replay", "Pause replay"),
        Binding("left,h", "move(0,-1)", "Select", show=False),
        Binding("right,l", "move(0,1)", "Seed", key_display="←→↑↓"),
        Binding("up,k", "move(-1,0)", "Select", show=False),
        Binding("down,j", "move(1,0)", "Select", show=False),
        Binding("p", "pause_seed", "Pause seed"),
        Binding("c", "cull_seed", "Cull"),
        Binding("enter", "seed_detail", "Detail"),
        Binding("slash", "filter", "Filter"),
        Binding("plus", "speed(2.0)", "Faster"),
        Binding("minus", "speed(0.5)", "Slower"),
        Binding("right_square_bracket", "jump(1)", "Next ep"),
        Binding("left_square_bracket", "jump(-1)", "Prev ep"),
        Binding("g", "charts", "Charts"),
        Binding("m", "toggle_maximize", "Max"),
        Binding("tab", "next_panel", "Next panel"),
        Binding("s", "screenshot", "Shot"),
    ]

    def __init__(
        self,
        store: TelemetryStore,
        source: DataSource | None = None,
        refresh_hz: float = 4.0,
        record_path: Path | None = None,
        clock: Callable[[], float] | None = None,
        controls: bool = True,
    ) -> None:
        super().__init__()
        self.store = store
        self.source = source
        self.refresh_hz = refresh_hz  # 0: no timer (tests call poll())
        self.record_path = record_path
        self.clock = clock  # wall-clock seconds for data age; None: no age shown (snapshots)
        self.commands = source if controls and isinstance(source, CommandSource) else None
        self.mode = source_mode(
            source, "live" if self.commands is not None else store.source.split(" ")[0]
        )
        self.replay_paused = False
        self.stopping = False
        self.selected = (0, 0)
        self.view: StoreView = store.view()
        self._seen_version = -1
        self._seen_generation = 0
        self._seen_events = 0
        self._crash_shown = self._finish_shown = False
        self._active_panel = 0  # index into PANELS of the focused panel
        self._lower_panel = 3  # the lower panel a compact layout shows: the last one tab reached
        self._poll_timer: Timer | None = None

    # ------------------------------------------------------------------ composition
    def compose(self) -> ComposeResult:
        yield RunHeader(id="run-header")
        with Vertical(id="main"):
            yield Scoreboard(id="scoreboard")
            yield SeedPanel(id="seed-grid")
            with Horizontal(id="health"):
                yield ScrollPanel(GradientPanel(), "Gradient health", id="gradients")
                yield ScrollPanel(SaturationPanel(), "Normalisation saturation", id="saturation")
            yield DecisionPanel(id="decision-panel")
        yield Static(id="too-small")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self._apply_size()
        self.poll()
        if self.refresh_hz > 0:
            self._poll_timer = self.set_interval(1.0 / self.refresh_hz, self.poll, name="poll")
        self.query_one(SeedGrid).focus()

    def on_resize(self) -> None:
        self._apply_size()

    def on_screen_resume(self) -> None:
        """The terminal may have changed size while a dialog covered the dashboard."""
        self._apply_size()

    def _apply_size(self) -> None:
        width, height = self.app.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        compact = not small and (width < COMPACT_WIDTH or height < COMPACT_HEIGHT)
        wide = width >= WIDE_WIDTH and height >= WIDE_HEIGHT
        self.set_class(small, "-too-small")
        self.set_class(compact, "-compact")
        self.set_class(wide, "-wide")
        if small:
            self.query_one("#too-small", Static).update(
                f"Esper needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {width}×{height}.\n"
                "Enlarge it, or press q to quit. Training goes on meanwhile."
            )
        self._fit_cards()
        self._show_panel(self._active_panel, focus=False)
        self.call_after_refresh(self._fit_health)

    def _fit_cards(self) -> None:
        """Framed four-line cards on a wide screen when they leave the panels below their room;
        two lines at 120x40; one in a small terminal."""
        height = self.app.size.height
        lanes = max(len(grid_lanes(self.view)), 1)
        lines = 1 if self.has_class("-compact") else 2
        # header, scoreboard, ...
        room = height - 3 - (lanes + 3) - 1 - DECISIONS_MIN - HEALTH_ROWS - 1
        if self.has_class("-wide") and lanes * 6 <= room:
            lines = 4
        self.query_one(SeedGrid).set_lines(lines)

    def _fit_health(self) -> None:
        """The health row takes what the decision table's five rows leave (it scrolls beyond)."""
        try:
            health = self.query_one("#health")
            parts = [
                self.query_one(f"#{name}") for name in ("run-header", "scoreboard", "seed-grid")
            ]
        except NoMatches:  # shutting down
            return
        if self.has_class("-compact") or self.has_class("-too-small"):
            health.styles.max_height = None
            return
        used = sum(part.outer_size.height for part in parts)
        room = self.size.height - used - 1 - DECISIONS_MIN  # 1: the footer
        if health.styles.max_height is None or health.styles.max_height.value != max(room, 6):
            health.styles.max_height = max(room, 6)
        for panel in self.query(ScrollPanel):  # their scroll hints follow the new height
            panel.call_after_refresh(panel.retitle)

    # ------------------------------------------------------------------ polling
    def source_state(self, view: StoreView) -> SourceState:
        age, waiting = None, ""
        # else the source says
        if self.mode == "follow" and view.run is None and " · " not in view.source:
            path = source_path(self.source)
            name = printable_path(path) if path is not None else "the record"
            exists = path is not None and path.exists()
            waiting = (
                f"waiting for the first record in {name}"
                if exists
                else f"waiting for {name} to be created (like tail -F)"
            )
        elif self.clock is not None and self.mode == "follow":
            written = record_time(view)
            age = None if written is None else max(0.0, self.clock() - written)
        elif self.clock is not None and self.mode == "live" and view.last_record_at is not None:
            age = self.store.now() - view.last_record_at
        speed = getattr(self.source, "speed", None)
        ended = self.mode == "replay" and self.source is not None and not self.source.is_alive()
        return SourceState(
            self.mode,
            age,
            self.replay_paused,
            speed if isinstance(speed, int | float) else None,
            waiting,
            self.stopping,
            ended,
        )

    def poll(self) -> None:
        try:
            header = self.query_one(RunHeader)
        except NoMatches:  # the app is shutting down and its panels are gone: nothing to draw
            return
        view = self.store.view()
        header.update_view(view, self.source_state(view))
        if view.version == self._seen_version:
            return
        self._seen_version = view.version
        if view.generation != self._seen_generation:
            self._forget_old_run(view.generation)
        lanes_before = len(grid_lanes(self.view))
        self.view = view
        self.selected = self._clamp(self.selected)
        if len(grid_lanes(view)) != lanes_before:
            self._fit_cards()
        with self.app.batch_update():
            self.query_one(Scoreboard).update_view(view)
            self.query_one(SeedGrid).update_view(view, self.selected)
            self.query_one(GradientPanel).update_view(view)
            self.query_one(SaturationPanel).update_view(view)
            self.query_one(DecisionPanel).update_view(view)
            for screen in self.app.screen_stack:
                if isinstance(screen, SeedDetailScreen):
                    screen.update_view(view)
        for panel in self.query(ScrollPanel):
            panel.retitle()
        self.call_after_refresh(self._fit_health)
        self._announce_events(view)
        if view.crash is not None and not self._crash_shown:
            self._crash_shown = True
            self.app.push_screen(CrashScreen(view.crash))
        elif view.finished is not None and not self._finish_shown and self.mode != "follow":
            self._finish_shown = True
            self.app.push_screen(FinishedScreen(view))

    def _forget_old_run(self, generation: int) -> None:
        """The followed file now holds another run: close the old run's crash or finished
        dialog (it describes a run no longer shown) so that the new run's own can appear."""
        self._seen_generation = generation
        self._crash_shown = self._finish_shown = False
        while isinstance(self.app.screen, CrashScreen | FinishedScreen):
            self.app.pop_screen()

    # ------------------------------------------------------------------ selection
    def _shape(self) -> tuple[int, int]:
        slots = self.view.run.slots if self.view.run is not None else 3
        return max(len(grid_lanes(self.view)), 1), max(slots, 1)

    def _clamp(self, selected: tuple[int, int]) -> tuple[int, int]:
        lanes, slots = self._shape()
        return min(selected[0], lanes - 1), min(selected[1], slots - 1)

    def selected_seed(self) -> tuple[str | None, int, SeedRecord | None]:
        lane_index, slot = self.selected
        lanes = grid_lanes(self.view)
        if lane_index >= len(lanes):
            return None, slot, None
        lane = lanes[lane_index]
        history = lane.seed_history.get(slot, ())
        return lane.name, slot, history[-1] if history else None

    def action_move(self, d_lane: int, d_slot: int) -> None:
        lanes, slots = self._shape()
        lane, slot = self.selected
        if d_slot:
            flat = (lane * slots + slot + d_slot) % (lanes * slots)  # wrap across lanes
            lane, slot = divmod(flat, slots)
        else:
            lane = (lane + d_lane) % lanes
        self.selected = (lane, slot)
        self.query_one(SeedGrid).update_view(self.view, self.selected)

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Training keys only with a trainer, replay keys only in a replay (hidden otherwise)."""
        if action in TRAINING_ACTIONS:
            return self.commands is not None
        if action in REPLAY_ACTIONS:
            return self.mode == "replay" and isinstance(self.source, ReplayControls)
        return True

    def action_toggle_replay(self) -> None:
        if isinstance(self.source, ReplayControls):
            self.replay_paused = self.source.toggle_pause()
            self.poll()

    def action_speed(self, factor: float) -> None:
        if isinstance(self.source, ReplayControls):
            speed = self.source.change_speed(factor)
            self.notify(f"replay speed {speed:g} epoch records/s", timeout=2)
            self.poll()

    def action_jump(self, delta: int) -> None:
        if isinstance(self.source, ReplayControls):
            self.source.jump_episode(delta)
            self.notify("next episode" if delta > 0 else "previous episode", timeout=2)

    def action_seed_detail(self) -> None:
        lane, slot, _ = self.selected_seed()
        if lane is None:
            self.notify("no data yet", severity="warning")
            return
        self.app.push_screen(SeedDetailScreen(lane, slot, self.view))

    @on(DataTable.RowSelected, "#decisions")
    def _decision_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a decision opens the seed it acted on, when it names one."""
        decision = self.query_one(DecisionTable).decision_at(event.cursor_row)
        if decision is None or decision.target_slot is None:
            self.notify("this decision acted on no seed", severity="warning", timeout=3)
            return
        self.app.push_screen(SeedDetailScreen(decision.lane, decision.target_slot, self.view))

    def action_filter(self) -> None:
        table = self.query_one(DecisionTable)

        def apply(choice: DecisionFilter | None) -> None:
            if choice is not None:
                table.row_filter = choice

        self.app.push_screen(
            FilterScreen([lane.name for lane in self.view.lanes], table.row_filter), apply
        )

    def action_charts(self) -> None:
        """g: validation curves per lane and the selected seed's alpha and gradient norm."""
        from esper_tui.chart_feed import chart_provider
        from esper_tui.charts import ChartsScreen

        self.app.push_screen(ChartsScreen(chart_provider(self.store.view, lambda: self.selected)))

    def action_toggle_maximize(self) -> None:
        if self.maximized is not None:
            self.minimize()
        elif self.focused is not None:
            panel = next(
                (w for w in (self.focused, *self.focused.ancestors) if w.id in PANELS), None
            )
            if isinstance(panel, Widget):
                self.maximize(panel, container=False)

    def action_next_panel(self) -> None:
        """Tab: the next panel. In the compact layout only that panel of the lower row shows."""
        if self.maximized is not None:
            self.minimize()
        self._active_panel = (self._active_panel + 1) % len(PANELS)
        self._show_panel(self._active_panel)

    def _show_panel(self, index: int, focus: bool = True) -> None:
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

    def action_screenshot(self) -> None:
        """An SVG next to the record (a replay: in the current folder), in a new file: never
        over an earlier one, nor over a file that appears meanwhile."""
        try:
            folder = self.record_path.parent if self.record_path is not None else Path.cwd()
        except FileNotFoundError:  # Path.cwd() of a deleted folder
            self.notify(
                "could not save the screenshot: the current folder was deleted; restart esper-tui "
                "from a folder that exists",
                severity="error",
                markup=False,
            )
            return
        stem = self.record_path.stem if self.record_path is not None else "esper"
        try:
            target = new_path(folder, f"{stem}-{self.view.version}", ".svg")
            create_new(target, self.app.export_screenshot(), "the screenshot")
        except PathError as exc:
            self.notify(
                printable(str(exc)), title="screenshot not saved", severity="error", markup=False
            )
            return
        self.notify(f"saved {printable_path(target)}", title="screenshot", timeout=5, markup=False)

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())

    def show_stopping(self) -> None:
        """Shown at once when quitting begins; the source is joined off the UI thread."""
        self.stopping = True
        if self._poll_timer is None and self.is_attached:
            self.poll()
        try:
            self.query_one(RunHeader).update_view(
                self.store.view(), self.source_state(self.store.view())
            )
        except NoMatches:
            pass


def wall_clock() -> float:
    return time.time()
