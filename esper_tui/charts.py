"""The chart view: a full screen over the dashboard (``g``) with each lane's validation curves and
the focus seed's alpha and gradient norm, drawn by ``widgets.charts.LaneCharts``.

The screen knows nothing about the store: it polls a ``provider`` that returns the current
``ChartData`` (or None before a run has data) and redraws only when that changed. A refresh rate
of 0 starts no timer (snapshots and tests call ``poll`` themselves).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Header, Static

from esper_tui.screens.base import SizeGuard
from widgets.charts import ChartData, LaneCharts
from widgets.footer import FittingFooter

ChartProvider = Callable[[], ChartData | None]
_NOTHING = object()  # what the screen shows before its first poll


class ChartsScreen(SizeGuard[None]):
    """Validation accuracy and loss per lane, this episode over the finished ones, and the focus
    seed's alpha and gradient norm."""

    BINDINGS = [
        Binding("g", "close", "Dashboard"),
        Binding("escape", "close", "Dashboard", show=False),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(self, provider: ChartProvider, refresh_hz: float = 2.0) -> None:
        super().__init__()
        if refresh_hz < 0:
            raise ValueError(f"refresh_hz must be >= 0, got {refresh_hz}")
        self._provider = provider
        self._refresh_hz = refresh_hz
        self._shown: object = _NOTHING
        self.title = "Esper charts"

    def compose(self) -> ComposeResult:
        yield Header()
        yield LaneCharts(id="lane-charts")
        yield Static(id="modal-too-small", markup=False)
        yield FittingFooter()

    def on_mount(self) -> None:
        self.poll()
        if self._refresh_hz > 0:
            self.set_interval(1.0 / self._refresh_hz, self.poll)

    def poll(self) -> None:
        """Ask the provider for the current data; redraw only if it changed."""
        data = self._provider()
        if data == self._shown:
            return
        self._shown = data
        self.sub_title = "no data yet" if data is None else f"episode {data.episode}"
        self.query_one(LaneCharts).update_view(data)

    def action_close(self) -> None:
        self.dismiss()

    async def action_quit(self) -> None:
        """Quit the app the way the dashboard does: its own shutdown when it has one."""
        shutdown = getattr(self.app, "begin_shutdown", None)
        if callable(shutdown):
            result = shutdown()
            if inspect.isawaitable(result):
                await result
        else:
            self.app.exit()
