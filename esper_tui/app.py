"""The Textual app, kept thin: theme, stylesheet, the dashboard screen, quitting and the line
printed after exit. The dashboard (layout, keys, polling) is ``esper_tui.dashboard``; dialogs
are in ``esper_tui.screens``; styling in ``app.tcss``."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from esper_tui.dashboard import DashboardScreen, wall_clock
from esper_tui.sources import CommandSource, DataSource, source_path
from esper_tui.stop_signals import install_app_signals
from esper_tui.store import TelemetryStore
from training.records.text import printable

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
    ]

    def __init__(
        self,
        store: TelemetryStore,
        session: DataSource | None = None,
        refresh_hz: float = 4.0,
        record_path: Path | None = None,
        controls: bool = True,
        clock: Callable[[], float] | None = wall_clock,
    ) -> None:
        """``refresh_hz`` 0 polls only when asked (tests); ``clock`` None shows no data age
        (snapshots). ``controls`` False treats a source as a recording even if it takes
        commands."""
        super().__init__()
        self.store = store
        self.session = session
        self.record_path = record_path
        self.dashboard = DashboardScreen(store, session, refresh_hz, record_path, clock, controls)
        self._stopping = False

    def get_default_screen(self) -> DashboardScreen:
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
        self.run_worker(
            lambda: self._stop_source(return_code, reason),
            thread=True,
            name="shutdown",
            exit_on_error=False,
        )

    def _stop_source(self, return_code: int, reason: str) -> None:
        try:
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
