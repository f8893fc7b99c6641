"""What every dialog shares: its own footer (only the keys that act on it) and the size guard.

Below 80×24 a dialog gives way to the same "needs a larger terminal" message as the dashboard
(a dialog squeezed that small drew a one-character-wide timeline). Subclasses yield their body
from ``compose_dialog``; the guard and the footer are added here.
"""

from __future__ import annotations

from typing import TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen, Screen
from textual.widgets import Static

from widgets.footer import FittingFooter

MIN_WIDTH, MIN_HEIGHT = 80, 24
ResultType = TypeVar("ResultType")


def too_small_text(width: int, height: int) -> Text:
    return Text(
        f"Esper needs a terminal of at least {MIN_WIDTH}×{MIN_HEIGHT}; this one is {width}×{height}.\n"
        "Enlarge it, or press q to quit. Training goes on meanwhile."
    )


class SizeGuard(Screen[ResultType]):
    """A screen that shows the size message instead of its content below 80×24. It must yield
    a ``Static`` with id ``modal-too-small``; the stylesheet hides the rest under ``-too-small``."""

    def on_mount(self) -> None:
        self.guard_size()

    def on_resize(self) -> None:
        self.guard_size()

    def guard_size(self) -> None:
        width, height = self.app.size
        small = width < MIN_WIDTH or height < MIN_HEIGHT
        self.set_class(small, "-too-small")
        if small:
            self.query_one("#modal-too-small", Static).update(too_small_text(width, height))


class EsperModal(ModalScreen[ResultType], SizeGuard[ResultType]):
    """A dialog with its own footer, hidden behind the size message in a too-small terminal.
    ModalScreen comes first: Textual's CSS inherits along the first base only. ``q`` and ``s``
    are listed here so the footer shows them (the App's priority ``q`` acts first)."""

    BINDINGS = [
        Binding("q", "app.quit_app", "Quit"),
        Binding("s", "app.screenshot", "Shot"),
    ]

    def compose(self) -> ComposeResult:
        yield from self.compose_dialog()
        yield Static(id="modal-too-small", markup=False)
        yield FittingFooter()

    def compose_dialog(self) -> ComposeResult:
        raise NotImplementedError
