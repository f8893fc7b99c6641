"""The footer: Textual's, except that a key that does not fit whole is left out (never cut
mid-word) and the footer then ends with how many keys ``?`` lists besides."""

from __future__ import annotations

from rich.cells import cell_len
from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer
from textual.widgets._footer import FooterKey, FooterLabel

MORE = "+{n} more: ?"


def key_width(key: FooterKey) -> int:
    """Cells a compact footer key takes: key, a space and its description, a margin."""
    description = f" {key.description}" if key.description else ""
    return cell_len(key.key_display) + cell_len(description) + 1


class FittingFooter(Footer):
    """Keys in binding order, as many as fit the screen's width."""

    def __init__(self) -> None:
        super().__init__(compact=True, show_command_palette=False)
        self._width = 0
        self.hidden = 0  # keys left out at the last compose
        self._composed: tuple = ()  # what the last compose drew (keys, their state, the width)

    @staticmethod
    def _offered(screen: Screen) -> tuple:
        return tuple(
            (binding.key, binding.description, binding.action, enabled, tooltip)
            for _, binding, enabled, tooltip in screen.active_bindings.values()
            if binding.show
        )

    def bindings_changed(self, screen: Screen) -> None:
        """Recompose only when a key the footer draws changed: Textual recomposes (new
        widgets, a layout of the screen) at every ``refresh_bindings``, and the dashboard asks
        for one whenever the selected seed's record changes, whether or not its keys did."""
        if (
            self._bindings_ready
            and self.is_attached
            and screen is self.screen
            and (self._offered(screen), self.app.size.width) == self._composed
        ):
            return
        super().bindings_changed(screen)

    def compose(self) -> ComposeResult:
        items = list(super().compose())
        width = self.app.size.width
        self._width = width
        if self._bindings_ready:
            self._composed = (self._offered(self.screen), width)
        keys = [item for item in items if isinstance(item, FooterKey)]
        total = sum(key_width(key) for key in keys)
        if total <= width:
            self.hidden = 0
            yield from items
            return
        room = width - len(MORE.format(n=len(keys)))
        used, kept = 0, []
        for key in keys:
            need = key_width(key)
            if used + need <= room:
                kept.append(key)
                used += need
        self.hidden = len(keys) - len(kept)
        yield from kept
        yield FooterLabel(MORE.format(n=self.hidden), id="footer-more")

    def on_resize(self) -> None:
        if self.app.size.width != self._width and self.is_attached:
            self.call_after_refresh(self.recompose)
