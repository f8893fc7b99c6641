"""Titled dashboard panels. A panel's title says what it is, marks focus with ``▶`` (not only
by colour) and carries the panel's state: a scroll hint, following or paused, the filter.

``ScrollPanel`` holds one text panel and scrolls it when it does not fit; the decision table and
its pane are ``widgets.decision_panel.DecisionPanel``.
"""

from __future__ import annotations

from rich.text import Text
from textual import events
from textual.containers import VerticalScroll
from textual.widget import Widget

from widgets.glyphs import TextPanel, changed

FOCUS_MARK = "▶ "


def panel_title(title: str, focused: bool, state: Text | None = None) -> Text:
    t = Text(FOCUS_MARK if focused else "", style="bold reverse")
    t.append(title, style="bold")
    if state:
        t.append(" · ", style="dim")
        t.append_text(state)
    return t


class Titled(Widget):
    """A widget whose border title shows its name, focus and ``panel_state()``."""

    PANEL_TITLE = ""

    def panel_state(self) -> Text | None:
        return None

    _title: Text | None = None

    def retitle(self) -> None:
        """Set the title; an unchanged one is not set again (setting it repaints the panel)."""
        title = panel_title(self.PANEL_TITLE, self.has_focus_within, self.panel_state())
        if changed(self._title, title):
            self._title = title
            self.border_title = title

    def on_mount(self) -> None:
        self.retitle()

    def on_focus(self) -> None:
        self.retitle()

    def on_blur(self) -> None:
        self.retitle()

    def on_descendant_focus(self) -> None:
        self.retitle()

    def on_descendant_blur(self) -> None:
        self.retitle()


class ScrollPanel(VerticalScroll, Titled):
    """A focusable, scrolling frame around one text panel; the title says when more is below."""

    ALLOW_MAXIMIZE = True

    def __init__(self, child: Widget, title: str, *, id: str | None = None) -> None:
        super().__init__(child, id=id)
        self.PANEL_TITLE = title

    def panel_state(self) -> Text | None:
        below = self.max_scroll_y > 0 and not self.is_vertical_scroll_end
        # A panel whose CSS hides horizontal overflow cannot scroll sideways: nothing "more" there.
        beside = (
            self.allow_horizontal_scroll
            and self.max_scroll_x > 0
            and not self.is_horizontal_scroll_end
        )
        arrows = "↓→" if below and beside else "↓" if below else "→" if beside else ""
        if not arrows:
            return None
        keys = "↑↓←→" if below and beside else "↑↓" if below else "←→"
        hint = f"{arrows} more: tab here, {keys} scroll"
        if len(self.PANEL_TITLE) + 5 + len(hint) > self.size.width:
            hint = f"{arrows} more (tab)"  # a narrow panel: the short form, never cut
        return Text(hint, style="bold yellow")

    def watch_scroll_y(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_y(old_value, new_value)
        self.retitle()

    def watch_scroll_x(self, old_value: float, new_value: float) -> None:
        super().watch_scroll_x(old_value, new_value)
        self.retitle()

    def watch_show_vertical_scrollbar(self, shown: bool) -> None:
        self.call_after_refresh(self.retitle)  # the scrollbar narrows what is visible

    def watch_show_horizontal_scrollbar(self, shown: bool) -> None:
        self.call_after_refresh(self.retitle)

    def on_resize(self, event: events.Resize) -> None:
        for child in self.children:  # a panel that wraps to this frame's width rebuilds
            if isinstance(child, TextPanel) and child.is_mounted:
                child.refresh_text()
        self.call_after_refresh(self.retitle)
