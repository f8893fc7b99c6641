"""``r`` on any dashboard: the runs screen of its record's folder. The dashboard only asks
(``DashboardScreen.RunsRequested``); the App calls ``open_runs``, so that the dashboard never
imports the workspace, which builds dashboards of its own."""

from __future__ import annotations

from pathlib import Path

from textual.app import App

from esper_tui.dashboard import DashboardScreen
from esper_tui.workspace.opened import RunDashboard
from esper_tui.workspace.runs import RunsScreen


def open_runs(app: App, dashboard: DashboardScreen, folder: Path | None) -> None:
    """Back to the runs screen of ``folder`` when it is already below (the run was opened from
    it), else a new one over ``dashboard``, opening runs at its replay speed and refresh."""
    if folder is None:
        dashboard.notify(
            "this run writes no record (--no-record): there is no folder to list",
            severity="warning",
        )
        return
    stack = app.screen_stack
    for below in reversed(stack):
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
