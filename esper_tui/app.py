"""The Textual app: composition, bindings and the poll loop. Panels live in ``widgets/``,
screens and modals in ``screens.py``, styling in ``app.tcss``."""

from __future__ import annotations

from pathlib import Path

from textual.app import App, ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.timer import Timer
from textual.widgets import Footer, Static

from esper_tui.screens import (
    ConfirmScreen,
    CrashScreen,
    FinishedScreen,
    HelpScreen,
    SeedDetailScreen,
)
from esper_tui.signals import install_app_signals
from esper_tui.store import STATUS_PAUSED, TelemetryStore
from training.actions import Command, CommandType
from training.records import SeedRecord, StoreView
from training.safe_io import new_path
from widgets import DecisionTable, GradientPanel, RunHeader, SaturationPanel, Scoreboard, SeedGrid

MIN_WIDTH, MIN_HEIGHT = 80, 24
COMPACT_WIDTH, COMPACT_HEIGHT = 110, 36
PANELS = ("seed-grid", "gradients", "saturation", "decisions")
MAIN_ONLY = {"toggle_training", "move", "pause_seed", "cull_seed", "seed_detail", "screenshot", "help"}


class EsperApp(App[int]):
    """Polls the store at ``refresh_hz`` and redraws only when its version changed."""

    CSS_PATH = "app.tcss"
    TITLE = "Esper"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("space", "toggle_training", "Pause/resume"),
        Binding("left,h", "move(0,-1)", "Select", show=False),
        Binding("right,l", "move(0,1)", "Select seed", key_display="←↓↑→/hjkl"),
        Binding("up,k", "move(-1,0)", "Select", show=False),
        Binding("down,j", "move(1,0)", "Select", show=False),
        Binding("p", "pause_seed", "Pause seed"),
        Binding("c", "cull_seed", "Cull seed"),
        Binding("enter", "seed_detail", "Detail"),
        Binding("tab", "focus_next", "Next panel", priority=True),
        Binding("s", "screenshot", "Screenshot"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "quit_app", "Quit"),
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True),
    ]

    def __init__(self, store: TelemetryStore, session=None, refresh_hz: float = 4.0,
                 record_path: Path | None = None, controls: bool = True,
                 snapshot: bool = False) -> None:  # fmt: skip
        super().__init__()
        self.store = store
        self.session = session
        self.refresh_hz = refresh_hz
        self.record_path = record_path
        self.controls = controls and session is not None
        self.snapshot = snapshot  # deterministic rendering: no clock, no live timers
        self.selected = (0, 0)
        self.view: StoreView = store.view()
        self._seen_version = -1
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
            yield SeedGrid(id="seed-grid")
            with Horizontal(id="health"):
                yield GradientPanel(id="gradients")
                yield SaturationPanel(id="saturation")
            yield DecisionTable(id="decisions")
        yield Static(id="too-small")
        yield Footer()

    def on_mount(self) -> None:
        install_app_signals(self)
        self.theme = "textual-dark"
        self._apply_size(self.size.width, self.size.height)
        if self.session is not None and not self.session.is_alive():
            self.session.start()
        self.poll()
        if not self.snapshot:
            self._poll_timer = self.set_interval(1.0 / self.refresh_hz, self.poll, name="poll")
        self.query_one(SeedGrid).focus()

    def on_resize(self, event) -> None:
        self._apply_size(event.size.width, event.size.height)

    def _apply_size(self, width: int, height: int) -> None:
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        compact = not small and (width < COMPACT_WIDTH or height < COMPACT_HEIGHT)
        self.screen.set_class(small, "-too-small")
        self.screen.set_class(compact, "-compact")
        if small:
            self.query_one("#too-small", Static).update(
                f"Esper needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {width}×{height}.\n"
                "Enlarge it, or press q to quit. Training goes on meanwhile."
            )
        grid = self.query_one(SeedGrid)
        grid.set_compact(compact)
        self._show_panel(self._active_panel)

    # ------------------------------------------------------------------ polling
    def poll(self) -> None:
        try:
            header = self.query_one(RunHeader)
        except NoMatches:  # the app is shutting down and its panels are gone: nothing to draw
            return
        view = self.store.view()
        age = None if self.snapshot or view.last_record_at is None else self.store.now() - view.last_record_at
        header.update_view(view, age)
        if view.version == self._seen_version:
            return
        self._seen_version = view.version
        self.view = view
        self.selected = self._clamp(self.selected)
        self.query_one(Scoreboard).update_view(view)
        self.query_one(SeedGrid).update_view(view, self.selected)
        self.query_one(GradientPanel).update_view(view)
        self.query_one(SaturationPanel).update_view(view)
        self.query_one(DecisionTable).update_view(view)
        for screen in self.screen_stack:
            if isinstance(screen, SeedDetailScreen):
                screen.update_view(view)
        self._announce_events(view)
        if view.crash is not None and not self._crash_shown:
            self._crash_shown = True
            self.push_screen(CrashScreen(view.crash))
        elif view.finished is not None and not self._finish_shown and not self.snapshot:
            self._finish_shown = True
            self.push_screen(FinishedScreen(view))

    def _announce_events(self, view: StoreView) -> None:
        """Acknowledge what the trainer did with our commands, refusals with their reason."""
        events = view.events
        fresh = events[self._seen_events :] if len(events) >= self._seen_events else events
        self._seen_events = len(events)
        if self.snapshot or not self.controls:
            return  # a recording's past commands are in its events, not news
        for event in fresh:
            if event.event == "command_refused":
                self.notify(event.message, title="refused", severity="warning", timeout=6)
            elif event.event == "command_applied":
                self.notify(event.message, title="applied", timeout=3)
            elif event.event in ("paused", "resumed"):
                self.notify(event.message, timeout=3)
            elif event.event == "record_failed":
                self.notify(event.message, title="record", severity="error", timeout=30, markup=False)

    # ------------------------------------------------------------------ selection
    def _shape(self) -> tuple[int, int]:
        lanes = [lane for lane in self.view.lanes if lane.epochs] or list(self.view.lanes)
        slots = self.view.run.slots if self.view.run is not None else 3
        return max(len(lanes), 1), max(slots, 1)

    def _clamp(self, selected: tuple[int, int]) -> tuple[int, int]:
        lanes, slots = self._shape()
        return min(selected[0], lanes - 1), min(selected[1], slots - 1)

    def selected_seed(self) -> tuple[str | None, int, SeedRecord | None]:
        lanes = [lane for lane in self.view.lanes if lane.epochs] or list(self.view.lanes)
        lane_index, slot = self.selected
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
    def check_action(self, action: str, parameters: tuple) -> bool | None:
        if action in MAIN_ONLY and len(self.screen_stack) > 1:
            return False  # a modal is open: its own keys only
        return True

    def _send(self, command: Command, ack: str) -> bool:
        if not self.controls:
            self.notify("this run is a recording: there is no trainer to command", severity="warning")
            return False
        self.session.send(command)
        self.notify(ack, timeout=3)
        return True

    def action_toggle_training(self) -> None:
        if self.view.status == STATUS_PAUSED:
            self._send(Command(CommandType.RESUME_TRAINING), "resume requested")
        elif self.view.status in ("RUNNING", "WAITING"):
            self._send(Command(CommandType.PAUSE_TRAINING), "pause requested: training stops at the next batch")
        else:
            self.notify(f"training is {self.view.status.lower()}", severity="warning")

    def action_pause_seed(self) -> None:
        lane, slot, record = self.selected_seed()
        if lane is None or record is None or record.seed_id is None:
            self.notify(f"slot {slot} is empty: nothing to pause", severity="warning")
            return
        paused = record.paused
        pending = next((v.pending.get(slot) for v in self.view.lanes if v.name == lane), None)
        if pending in ("paused", "resumed"):
            paused = pending == "paused"
        kind = CommandType.RESUME_SEED if paused else CommandType.PAUSE_SEED
        verb = "resume" if paused else "pause"
        self._send(Command(kind, lane=lane, slot=slot), f"{verb} requested: {lane} slot {slot}")

    def action_cull_seed(self) -> None:
        lane, slot, record = self.selected_seed()
        if lane is None or record is None or record.seed_id is None:
            self.notify(f"slot {slot} is empty: nothing to cull", severity="warning")
            return
        if not self.controls:
            self._send(Command(CommandType.CULL, lane=lane, slot=slot), "")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._send(Command(CommandType.CULL, lane=lane, slot=slot), f"cull requested: {lane} slot {slot}")
            else:
                self.notify("cull cancelled", timeout=2)

        question = f"Cull {record.seed_id} ({record.blueprint_id}, {record.stage_name}) in lane {lane}?"
        self.push_screen(ConfirmScreen(question), answer)

    def action_seed_detail(self) -> None:
        lane, slot, _ = self.selected_seed()
        if lane is None:
            self.notify("no data yet", severity="warning")
            return
        self.push_screen(SeedDetailScreen(lane, slot, self.view))

    def on_decision_table_row_selected(self, event) -> None:
        """Enter on a decision opens the seed it acted on, when it names one."""
        decision = next((d for d in self.view.decisions if d.key == getattr(event.row_key, "value", None)), None)
        if decision is not None and decision.target_slot is not None:
            self.push_screen(SeedDetailScreen(decision.lane, decision.target_slot, self.view))

    def action_focus_next(self) -> None:
        """Tab: the next panel. In the compact layout only that panel of the lower row shows."""
        if len(self.screen_stack) > 1:
            return super().action_focus_next()
        self._active_panel = (self._active_panel + 1) % len(PANELS)
        self._show_panel(self._active_panel)

    def _show_panel(self, index: int) -> None:
        if PANELS[index] != "seed-grid":
            self._lower_panel = index
        compact = self.screen.has_class("-compact")
        for i, panel_id in enumerate(PANELS[1:], start=1):
            self.query_one(f"#{panel_id}").set_class(compact and i != self._lower_panel, "-hidden")
        self.query_one("#health").set_class(compact and PANELS[self._lower_panel] == "decisions", "-hidden")
        self.query_one(f"#{PANELS[index]}").focus()

    def action_screenshot(self) -> None:
        folder = self.record_path.parent if self.record_path is not None else Path.cwd()
        stem = self.record_path.stem if self.record_path is not None else "esper"
        try:
            target = new_path(folder, f"{stem}-{self.view.version}", ".svg")  # never over an earlier file
            path = self.save_screenshot(path=str(folder), filename=target.name)
        except OSError as exc:
            self.notify(f"could not save the screenshot: {exc.strerror}", severity="error")
            return
        self.notify(f"saved {path}", title="screenshot", timeout=5, markup=False)

    def action_help(self) -> None:
        self.push_screen(HelpScreen())

    def action_quit_app(self) -> None:
        self.begin_shutdown(0)

    def action_interrupt(self) -> None:
        """ctrl+c: like q, with the exit code of SIGINT (130), as the shell expects."""
        self.begin_shutdown(130)

    def begin_shutdown(self, return_code: int = 0) -> None:
        """Stop and join the trainer, flush and close the record, exit with ``return_code``:
        0 for q, 128 + the signal's number for SIGINT, SIGTERM and SIGHUP."""
        if self._poll_timer is not None:
            self._poll_timer.stop()
        if self.session is not None:
            self.session.stop(timeout=15.0)
        self.store.flush()
        self.store.close()
        self.exit(return_code, return_code=return_code)
