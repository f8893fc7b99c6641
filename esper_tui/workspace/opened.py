"""A run opened from the runs screen, and the way back: ``enter`` on a row starts a replay (the
run has ended) or a follow (it is live) of that record into a store of its own, shown by the
ordinary dashboard; ``escape`` stops that reader and returns to the list, whose cursor never
moved. ``r`` on any dashboard opens the runs screen of its record's folder."""

from __future__ import annotations

from pathlib import Path

from textual.binding import Binding
from textual.screen import Screen

from esper_tui.dashboard import DashboardScreen, wall_clock
from esper_tui.replay import RecordFeeder
from esper_tui.sources import source_path
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


def record_folder(dashboard: DashboardScreen) -> Path | None:
    """The folder of the record a dashboard shows: the one it writes or the one it reads."""
    path = dashboard.record_path or dashboard.store.record_path or source_path(dashboard.source)
    return None if path is None else Path(path).parent


def open_runs(dashboard: DashboardScreen) -> None:
    """``r``: the runs screen of the current record's folder. When that list is already below
    (the run was opened from it), go back to it instead of stacking another."""
    from esper_tui.workspace.runs import RunsScreen

    folder = record_folder(dashboard)
    if folder is None:
        dashboard.notify(
            "this run writes no record (--no-record): there is no folder to list",
            severity="warning",
        )
        return
    app = dashboard.app
    stack = app.screen_stack
    for index in range(len(stack) - 1, -1, -1):
        below = stack[index]
        if isinstance(below, RunsScreen) and below.folder.resolve() == folder.resolve():
            while app.screen is not below:
                top = app.screen
                if isinstance(top, RunDashboard):
                    top.stop_source()
                app.pop_screen()
            return
    speed = getattr(dashboard.source, "speed", 4.0)
    app.push_screen(
        RunsScreen(
            folder,
            replay_speed=speed if isinstance(speed, int | float) else 4.0,
            refresh_hz=dashboard.refresh_hz or 4.0,
            clock=dashboard.clock,
        )
    )
