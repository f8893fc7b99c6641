"""The dashboard screen: layout, keys, seed selection and the poll loop.

It polls the store's immutable view and fans it out to the panels inside one
``batch_update()``; each panel repaints only what changed. Dialogs are ``EsperModal``s pushed
over it; quitting and screenshots belong to the App, so ``q`` and ``s`` work in every dialog.
Its parts are mixins: the size budget (``layout``), the trainer's keys (``operator``), the
source's state and the replay keys (``source_controls``), and which keys are offered now
(``offered_keys``: a key shows in the footer only where it acts).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Static

from esper_tui.layout import PANELS, PanelLayout
from esper_tui.liveness import LivenessWatch
from esper_tui.offered_keys import OfferedKeys
from esper_tui.operator import TrainerControls
from esper_tui.screens import (
    CrashScreen,
    EventLogScreen,
    FilterScreen,
    FinishedScreen,
    HelpScreen,
    SeedDetailScreen,
)
from esper_tui.source_controls import SourceControls
from esper_tui.sources import CommandSource, DataSource, source_mode, source_path
from esper_tui.store import TelemetryStore
from training.records import SeedRecord
from widgets import GradientPanel, RunHeader, SaturationPanel, Scoreboard, SeedGrid
from widgets.decision_panel import DecisionPanel
from widgets.decision_rows import DecisionFilter
from widgets.decision_table import DecisionTable
from widgets.event_strip import EventStrip
from widgets.footer import FittingFooter
from widgets.model import StoreView
from widgets.panel import ScrollPanel, Titled
from widgets.seed_grid import grid_lanes

__all__ = ["PANELS", "DashboardScreen", "wall_clock"]


PANELS_EVERY_S = 1.0  # the panels follow new records at most once a second
monotonic = time.monotonic  # the timer's clock (a test replaces this name, never time's own)


class SeedPanel(SeedGrid, Titled):
    PANEL_TITLE = "Seed lifecycle"
    ALLOW_MAXIMIZE = True


class DashboardScreen(PanelLayout, TrainerControls, SourceControls, OfferedKeys):
    """Everything on one screen; the App only holds the store, the source and the exit."""

    BINDINGS = [
        Binding("tab", "next_panel", "Panel"),
        Binding("question_mark", "help", "Help"),
        # the App's priority binding acts; this orders the footer
        Binding("q", "app.quit_app", "Quit"),
        Binding("space", "pause_training", "Pause"),
        Binding("space", "resume_training", "Resume"),
        Binding("space", "pause_replay", "Pause"),
        Binding("space", "resume_replay", "Resume"),
        Binding("e", "events", "Events"),
        Binding("enter", "seed_detail", "Detail"),
        Binding("p", "pause_seed", "Pause seed"),
        Binding("p", "resume_seed", "Resume seed"),
        Binding("c", "cull_seed", "Cull"),
        Binding("m", "maximise", "Max"),
        Binding("m", "restore", "Restore"),
        Binding("slash", "filter", "Filter"),
        Binding("g", "charts", "Charts"),
        Binding("y", "vitals", "Vitals"),
        Binding("r", "runs", "Runs", show=False),  # in ? and the README; the footer is full
        Binding("plus", "speed(2.0)", "Faster"),
        Binding("minus", "speed(0.5)", "Slower"),
        Binding("right_square_bracket", "jump(1)", "Next ep"),
        Binding("left_square_bracket", "jump(-1)", "Prev ep"),
        # shown while the seed grid has focus
        Binding("right", "move(0,1)", "Seed", key_display="←→↑↓"),
        Binding("left", "move(0,-1)", "Select", show=False),
        Binding("up", "move(-1,0)", "Select", show=False),
        Binding("down", "move(1,0)", "Select", show=False),
        Binding("h", "select(0,-1)", "Select", show=False),  # h j k l select from any panel
        Binding("l", "select(0,1)", "Select", show=False),
        Binding("k", "select(-1,0)", "Select", show=False),
        Binding("j", "select(1,0)", "Select", show=False),
    ]

    def __init__(
        self,
        store: TelemetryStore,
        source: DataSource | None = None,
        refresh_hz: float = 4.0,
        record_path: Path | None = None,
        clock: Callable[[], float] | None = None,
        controls: bool = True,
        served: bool = False,
    ) -> None:
        super().__init__()
        self.served = served  # a browser visitor's view: no training keys, no file written
        self.store = store
        self.source = source
        self.refresh_hz = refresh_hz  # 0: no timer (tests call poll())
        self.record_path = record_path
        self.clock = clock  # wall-clock seconds for data age; None: no age shown (snapshots)
        takes_commands = controls and not served
        self.commands = source if takes_commands and isinstance(source, CommandSource) else None
        self.mode = source_mode(
            source, "live" if self.commands is not None else store.source.split(" ")[0]
        )
        self.replay_paused = False
        self.stopping = False
        self.selected = (0, 0)
        self.view: StoreView = store.view()
        self._seen_version = -1
        self._panels_at = -math.inf  # when the timer last redrew the panels (time.monotonic)
        self._seen_generation = 0
        self._seen_events = 0
        self._crash_shown = self._finish_shown = False
        self._end_dialog: CrashScreen | FinishedScreen | None = None  # due once fitted
        self._active_panel = 0  # index into PANELS of the focused panel
        self._lower_panel = 3  # the lower panel a compact layout shows: the last one tab reached
        self._poll_timer: Timer | None = None
        self._key_state: tuple = ()
        self._liveness: LivenessWatch | None = None

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
            yield EventStrip(id="event-strip")
        yield Static(id="too-small", markup=False)
        yield FittingFooter()

    def on_mount(self) -> None:
        self.apply_size()
        self.poll()
        if self.refresh_hz > 0:
            self._poll_timer = self.set_interval(1.0 / self.refresh_hz, self._tick, name="poll")
        self.query_one(SeedGrid).focus()

    def on_resize(self) -> None:
        self.apply_size()

    def on_screen_resume(self) -> None:
        """The terminal may have changed size while a dialog covered the dashboard."""
        self.apply_size()

    # ------------------------------------------------------------------ polling
    def _tick(self) -> None:
        """The timer's poll. The header (progress, the data's age) follows every tick; the
        panels follow new records at most every ``PANELS_EVERY_S``, so a task whose epochs take
        a fraction of a second does not redraw them at every tick. What arrived in between shows
        at the next redraw: the panels are never more than ``PANELS_EVERY_S`` behind."""
        now = monotonic()
        if now - self._panels_at < PANELS_EVERY_S:
            self.poll(header_only=True)
            return
        before = self._seen_version
        self.poll()
        if self._seen_version != before:
            self._panels_at = now

    def poll(self, header_only: bool = False) -> None:
        try:
            header = self.query_one(RunHeader)
        except NoMatches:  # the app is shutting down and its panels are gone: nothing to draw
            return
        view = self.store.view()
        header.update_view(view, self.source_state(view))
        if header_only or view.version == self._seen_version:
            return
        self._seen_version = view.version
        if view.generation != self._seen_generation:
            self._forget_old_run(view.generation)
        lanes_before = len(grid_lanes(self.view))
        header_before = self.view.vitals is None
        self.view = view
        self.selected = self._clamp(self.selected)
        if len(grid_lanes(view)) != lanes_before or (view.vitals is None) != header_before:
            self.fit_cards()
        with self.app.batch_update():
            self.query_one(Scoreboard).update_view(view)
            self.query_one(SeedGrid).update_view(view, self.selected)
            self.query_one(GradientPanel).update_view(view)
            self.query_one(SaturationPanel).update_view(view)
            self.query_one(DecisionPanel).update_view(view)
            self.query_one(EventStrip).update_view(view)
            for screen in self.app.screen_stack:
                if isinstance(screen, SeedDetailScreen | EventLogScreen):
                    screen.update_view(view)
        for panel in self.query(ScrollPanel):
            panel.retitle()
        self.call_after_refresh(self.fit_rows)
        self._announce_events(view)
        self._refresh_keys()
        if view.crash is not None and not self._crash_shown:
            self._crash_shown = True
            self._end_dialog = CrashScreen(view.crash)
        elif view.finished is not None and not self._finish_shown and self.mode != "follow":
            self._finish_shown = True
            self._end_dialog = FinishedScreen(view)

    def _open_end_dialog(self) -> None:
        """The run's end (crash or finish), opened once the dashboard is fitted to the records
        that ended it (``fit_rows`` calls this after its own layout): a screen under a dialog is
        not laid out again, so a dialog opened at once left a half-fitted dashboard behind it."""
        dialog, self._end_dialog = self._end_dialog, None
        if dialog is not None and self.is_attached:
            self.app.push_screen(dialog)

    def _forget_old_run(self, generation: int) -> None:
        """The followed file now holds another run: close the old run's crash or finished
        dialog (it describes a run no longer shown) so that the new run's own can appear."""
        self._seen_generation = generation
        self._crash_shown = self._finish_shown = False
        self._end_dialog = None
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

    def action_select(self, d_lane: int, d_slot: int) -> None:
        self.action_move(d_lane, d_slot)

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
        self._refresh_keys()

    # ------------------------------------------------------------------ actions
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

    def action_events(self) -> None:
        """e: the whole event log, following new events."""
        self.app.push_screen(EventLogScreen(self.view))

    def action_charts(self) -> None:
        """g: validation curves per lane and the selected seed's alpha and gradient norm."""
        from esper_tui.chart_feed import chart_provider
        from esper_tui.charts import ChartsScreen

        self.app.push_screen(ChartsScreen(chart_provider(self.store.view, lambda: self.selected)))

    def action_vitals(self) -> None:
        """y: the trainer's vitals, their history as a chart and a table."""
        from esper_tui.screens.vitals import VitalsScreen

        self.app.push_screen(VitalsScreen(self.store.view, self.refresh_hz))

    class RunsRequested(Message):
        """``r``: show the runs of ``folder`` (the App opens the workspace; None: no record)."""

        def __init__(self, dashboard: DashboardScreen, folder: Path | None) -> None:
            super().__init__()
            self.dashboard = dashboard
            self.folder = folder

    def action_runs(self) -> None:
        """r: the runs screen of this record's folder, opened by the App (esper_tui.workspace)."""
        path = self.record_path or self.store.record_path or source_path(self.source)
        self.post_message(self.RunsRequested(self, None if path is None else Path(path).parent))

    def action_maximise(self) -> None:
        self.maximise_panel()

    def action_restore(self) -> None:
        self.restore_panel()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen(served=self.served))

    def screenshot_folder(self) -> tuple[Path, str]:
        """Where ``s`` saves: next to the record written or read, else the current folder."""
        path = self.record_path or self.store.record_path or source_path(self.source)
        if path is None:
            return Path.cwd(), "esper"
        return path.parent, path.stem

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
        self.refresh_bindings()


def wall_clock() -> float:
    return time.time()
