"""The vitals view (``y``): the trainer's process, its host and its GPUs, newest sample and
history, from the records (live, replayed or followed alike). Polls the store's view and
redraws only when it changed; a refresh rate of 0 starts no timer (snapshots call ``poll``)."""

from __future__ import annotations

from collections.abc import Callable

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import Screen
from textual.widgets import Footer, Header

from esper_tui.screens.help import HelpScreen
from widgets.model import StoreView
from widgets.vitals_view import VitalsView, clock_text


class VitalsScreen(Screen[None]):
    """Full screen over the dashboard; ``y`` or ``escape`` goes back."""

    BINDINGS = [
        Binding("y", "close", "Dashboard"),
        Binding("escape", "close", "Dashboard", show=False),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit_app", "Quit"),
    ]

    def __init__(self, view: Callable[[], StoreView], refresh_hz: float = 2.0) -> None:
        super().__init__()
        if refresh_hz < 0:
            raise ValueError(f"refresh_hz must be >= 0, got {refresh_hz}")
        self._view = view
        self._refresh_hz = refresh_hz
        self._version = -1
        self.title = "Esper vitals"

    def compose(self) -> ComposeResult:
        yield Header()
        yield VitalsView(id="vitals")
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        self.poll()
        if self._refresh_hz > 0:
            self.set_interval(1.0 / min(self._refresh_hz, 2.0), self.poll)
        self.query_one("#vitals-table").focus()

    def poll(self) -> None:
        view = self._view()
        if view.version == self._version:
            return
        self._version = view.version
        samples = len(view.vitals_history)
        newest = "" if view.vitals is None else f", newest {clock_text(view.vitals.t)} UTC"
        self.sub_title = f"{samples} sample{'s' if samples != 1 else ''}{newest}"
        self.query_one(VitalsView).update_view(view.vitals, view.vitals_history)

    def action_close(self) -> None:
        self.dismiss()

    def action_help(self) -> None:
        self.app.push_screen(HelpScreen())
