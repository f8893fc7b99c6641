"""The Textual app, kept thin: theme, stylesheet, the dashboard screen, quitting and the line
printed after exit. The dashboard (layout, keys, polling) is ``esper_tui.dashboard``; dialogs
are in ``esper_tui.screens``; styling in ``app.tcss``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import App
from textual.binding import Binding
from textual.screen import Screen

from esper_tui.dashboard import DashboardScreen, wall_clock
from esper_tui.sources import CommandSource, DataSource, source_path
from esper_tui.stop_signals import install_app_signals
from esper_tui.store import TelemetryStore
from training.records.text import printable, printable_path
from training.util.safe_io import PathError, create_new, new_path

JOIN_TIMEOUT_S = 15.0


class EsperApp(App[int]):
    """Shows the ``DashboardScreen`` over ``store``, fed by ``session`` (trainer, replay or
    follower). ``q`` and ctrl+c quit from every screen and dialog through ``begin_shutdown``."""

    CSS_PATH = "app.tcss"
    TITLE = "Esper"
    ENABLE_COMMAND_PALETTE = False
    BINDINGS = [
        Binding("q", "quit_app", "Quit", priority=True),
        Binding("ctrl+c", "interrupt", "Quit", show=False, priority=True),
        Binding("s", "screenshot", "Shot"),  # any screen, any dialog: what is on screen now
    ]

    def __init__(
        self,
        store: TelemetryStore,
        session: DataSource | None = None,
        refresh_hz: float = 4.0,
        record_path: Path | None = None,
        controls: bool = True,
        clock: Callable[[], float] | None = wall_clock,
        runs_folder: Path | None = None,
        replay_speed: float = 4.0,
        rescan_s: float = 3.0,
        served: bool = False,
    ) -> None:
        """``refresh_hz`` 0 polls only when asked (tests); ``clock`` None shows no data age
        (snapshots). ``controls`` False treats a source as a recording even if it takes
        commands. ``runs_folder`` starts on the runs screen of that folder instead of the
        dashboard (``EsperApp.for_runs``). ``served``: a browser visitor's read-only view
        (``esper-tui --serve``)."""
        super().__init__()
        self.store = store
        self.session = session
        self.record_path = record_path
        self.dashboard = DashboardScreen(
            store, session, refresh_hz, record_path, clock, controls, served
        )
        self.runs_folder = runs_folder
        self._runs_options = (replay_speed, refresh_hz, clock, rescan_s)
        self._stopping = False

    @classmethod
    def for_runs(
        cls,
        folder: str | Path,
        replay_speed: float = 4.0,
        refresh_hz: float = 4.0,
        clock: Callable[[], float] | None = wall_clock,
        rescan_s: float = 3.0,
        served: bool = False,
    ) -> EsperApp:
        """The workspace: the runs screen of ``folder``, no trainer and no record written; runs
        open from it as replays or follows (``esper-tui --runs``, ``--serve``). ``rescan_s`` 0
        scans once, on the UI thread (snapshots)."""
        return cls(
            TelemetryStore(source="replay"),
            None,
            refresh_hz=refresh_hz,
            controls=False,
            clock=clock,
            runs_folder=Path(folder),
            replay_speed=replay_speed,
            rescan_s=rescan_s,
            served=served,
        )

    def get_default_screen(self) -> Screen:
        if self.runs_folder is not None:
            from esper_tui.workspace.runs import RunsScreen

            speed, refresh, clock, rescan_s = self._runs_options
            return RunsScreen(
                self.runs_folder,
                rescan_s=rescan_s,
                replay_speed=speed,
                refresh_hz=refresh,
                clock=clock,
                threaded=rescan_s > 0,
            )
        return self.dashboard

    def on_mount(self) -> None:
        install_app_signals(self)  # SIGINT/SIGTERM/SIGHUP end the run the way q does
        self.theme = "textual-dark"
        if self.session is not None and not self.session.is_alive():
            self.session.start()

    @property
    def selected(self) -> tuple[int, int]:
        """The selected seed card (lane, slot) on the dashboard."""
        return self.dashboard.selected

    @on(DashboardScreen.RunsRequested)
    def _open_runs(self, message: DashboardScreen.RunsRequested) -> None:
        """r on a dashboard: the runs screen of its record's folder."""
        from esper_tui.workspace.navigate import open_runs

        open_runs(self, message.dashboard, message.folder)

    def action_screenshot(self, filename: str | None = None, path: str | None = None) -> None:
        """s: an SVG of the screen as it is (dialogs included), next to the record written or
        read (else in the current folder), never over an earlier file. Refused in a view served
        to a browser: a visitor never writes a file on the server."""
        if self.dashboard.served:
            self.notify(
                "screenshots are off in a served view: it never writes a file on the server; "
                "use your browser's screenshot instead",
                severity="warning",
                timeout=5,
            )
            return
        try:
            folder, stem = self.dashboard.screenshot_folder()
        except FileNotFoundError:  # Path.cwd() of a deleted folder
            self.notify(
                "could not save the screenshot: the current folder was deleted; restart esper-tui "
                "from a folder that exists",
                severity="error",
                markup=False,
            )
            return
        try:
            target = new_path(folder, f"{stem}-{self.store.version}", ".svg")
            create_new(target, self.export_screenshot(), "the screenshot")
        except PathError as exc:
            self.notify(
                printable(str(exc)), title="screenshot not saved", severity="error", markup=False
            )
            return
        self.notify(f"saved {printable_path(target)}", title="screenshot", timeout=5, markup=False)

    def action_quit_app(self) -> None:
        self.begin_shutdown(0, "by operator (q)")

    def action_interrupt(self) -> None:
        """ctrl+c: like q, with the exit code of SIGINT (130), as the shell expects."""
        self.begin_shutdown(130, "by operator (ctrl+c)")

    def begin_shutdown(self, return_code: int = 0, reason: str = "by operator") -> None:
        """Show "stopping…", stop and join the source on a worker thread (the UI stays live),
        flush and close the record, then exit with ``return_code``. Call it on the UI thread
        (signal handlers: ``loop.add_signal_handler`` or ``call_from_thread``). A second call
        while stopping does nothing. ``reason`` goes into the record's ``stopped`` event."""
        if self._stopping:
            return
        self._stopping = True
        if self.dashboard.is_attached:
            self.dashboard.show_stopping()
        self.notify("stopping… joining the trainer and flushing the record", timeout=30)
        opened = [  # runs opened from the runs screen: their readers stop too
            screen.source
            for screen in self.screen_stack
            if screen is not self.dashboard
            and isinstance(screen, DashboardScreen)
            and screen.source is not None
        ]
        self.run_worker(
            lambda: self._stop_source(return_code, reason, opened),
            thread=True,
            name="shutdown",
            exit_on_error=False,
        )

    def _stop_source(self, return_code: int, reason: str, opened: list[DataSource]) -> None:
        try:
            for source in opened:
                source.stop(JOIN_TIMEOUT_S)
            if isinstance(self.session, CommandSource):  # the trainer: its stopped event says why
                self.session.stop(JOIN_TIMEOUT_S, reason)
            elif self.session is not None:
                self.session.stop(JOIN_TIMEOUT_S)
        finally:
            self.store.flush()
            self.store.close()
            self.call_from_thread(self.exit, return_code, return_code=return_code)

    def exit_summary(self) -> str:
        """The one line printed after exit: where the record is and the paired result so far."""
        if self.runs_folder is not None:
            return f"esper-tui: runs in {self.runs_folder}"
        view = self.store.view()
        mode = self.dashboard.mode
        path = self.record_path or self.store.record_path or source_path(self.session)
        if mode == "live":
            where = f"record: {path}" if path is not None else "no record written"
        else:
            where = f"{mode}ed {path}" if path is not None else mode
        agreement = view.agreement
        shadow = view.run is not None and view.run.mode == "shadow"
        if view.paired:
            result = "; ".join(p.summary() for p in view.paired)
        elif shadow and agreement is not None and agreement.rate is not None:
            result = f"agreement {agreement.rate:.0%} over {agreement.decided} decisions"
        else:
            result = "no paired result yet (no episode finished)"
        return printable(f"esper-tui: {where} · {result}")  # paths and lane names are foreign text
