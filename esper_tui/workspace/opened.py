"""A run opened from the runs screen, and the way back: ``enter`` on a row starts a replay (the
run has ended) or a follow (it is live) of that record into a store of its own, shown by the
ordinary dashboard; ``escape`` stops that reader and returns to the list, whose cursor never
moved. ``r`` on a dashboard is ``esper_tui.workspace.navigate``."""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding
from textual.screen import Screen

from esper_tui.dashboard import DashboardScreen, wall_clock
from esper_tui.replay import RecordFeeder
from esper_tui.store import TelemetryStore


class RunDashboard(DashboardScreen):
    """The dashboard of a run opened from the list; it owns its reader and stops it on leaving."""

    BINDINGS = [Binding("escape", "back_to_runs", "Runs")]

    def action_back_to_runs(self) -> None:
        if self.maximized is not None:  # escape first restores a maximised panel
            self.minimize()
            return
        self.stop_source()
        self.dismiss()

    def stop_source(self) -> None:
        if self.source is not None:
            self.source.stop(1.0)

    def on_unmount(self) -> None:
        self.stop_source()


def open_run(over: Screen, path: Path, live: bool) -> RunDashboard:
    """Push the dashboard of the record at ``path`` over the runs screen ``over``: a follow when
    ``live``, else a replay at the list's replay speed."""
    store = TelemetryStore(source="follow" if live else "replay")
    speed = float(getattr(over, "replay_speed", 4.0))
    refresh = float(getattr(over, "refresh_hz", 4.0))
    clock = getattr(over, "clock", wall_clock)
    feeder = RecordFeeder(path, store, speed=speed, follow=live, linger=not live)
    screen = RunDashboard(store, feeder, refresh, None, clock, controls=False)
    feeder.start()
    over.app.push_screen(screen)
    return screen
