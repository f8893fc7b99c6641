"""What every dialog shares: its own footer (only the keys that act on it) and the size guard.

Below 80×24 a dialog gives way to the same "needs a larger terminal" message as the dashboard
(a dialog squeezed that small drew a one-character-wide timeline). Subclasses yield their body
from ``compose_dialog``; the guard and the footer are added here.
"""

from __future__ import annotations

from typing import TypeVar

from rich.text import Text
from textual.app import ComposeResult
from textual.screen import ModalScreen, Screen
from textual.widgets import Footer, Static

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


class EsperModal(SizeGuard[ResultType], ModalScreen[ResultType]):
    """A dialog with its own footer, hidden behind the size message in a too-small terminal."""

    def compose(self) -> ComposeResult:
        yield from self.compose_dialog()
        yield Static(id="modal-too-small", markup=False)
        yield Footer(compact=True, show_command_palette=False)

    def compose_dialog(self) -> ComposeResult:
        raise NotImplementedError
