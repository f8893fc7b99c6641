"""The strip of recent events on the main screen: the newest entries of the event log, newest at
the bottom, so that nothing that happened lives only in a toast. The newest entry is wrapped in
full when the strip's lines hold it; older ones fill what is left. ``e`` opens the whole log.
"""

from __future__ import annotations

import textwrap

from rich.text import Text

from widgets.glyphs import ViewPanel, fit
from widgets.model import LogEntry, StoreView

LEVEL_STYLES = {"info": "", "good": "green", "warn": "yellow", "bad": "bold red"}
KIND_W = 10  # "unreadable"


def entry_when(entry: LogEntry) -> str:
    if entry.episode is None:
        return "·" if entry.epoch is None else f"e{entry.epoch}"
    return f"{entry.episode}" if entry.epoch is None else f"{entry.episode}·{entry.epoch}"


def entry_text(entry: LogEntry, when_w: int = 5) -> Text:
    """One entry on one logical line: when, kind, and the whole text (coloured by level)."""
    t = Text(f"{entry_when(entry):<{when_w}} ", style="dim")
    t.append(f"{entry.kind:<{KIND_W}} ", style="bold")
    t.append(entry.text, style=LEVEL_STYLES.get(entry.level, ""))
    return t


def strip_text(entries: tuple[LogEntry, ...], width: int, lines: int) -> Text:
    """The newest entries in at most ``lines`` lines of ``width`` cells: the newest whole (its
    continuation lines indented), as many older ones above as fit, each on one line."""
    if not entries:
        return Text("events: none yet (e opens the log)", style="dim")
    width = max(width, 20)
    newest = entry_text(entries[-1])
    indent = 5 + 1 + KIND_W + 1
    wrapped = textwrap.wrap(
        newest.plain, width, subsequent_indent=" " * indent, break_on_hyphens=False
    )
    if len(wrapped) > lines:
        out = [fit(newest, width)]
    elif len(wrapped) <= 1:
        out = [newest]
    else:
        out = _styled_wrap(newest, wrapped, indent)
    older = max(lines - len(out), 0)
    above = [fit(entry_text(e), width) for e in entries[-1 - older : -1]] if older else []
    return Text("\n").join([*above, *out])


def _styled_wrap(text: Text, lines: list[str], indent: int) -> list[Text]:
    out: list[Text] = []
    offset = 0
    plain = text.plain
    for i, line in enumerate(lines):
        words = line[indent:] if i else line
        start = plain.find(words, offset)
        if start < 0:
            out.append(Text(line))
            continue
        offset = start + len(words)
        piece = text[start:offset]
        out.append(Text(" " * indent) + piece if i else piece)
    return out


class EventStrip(ViewPanel):
    """The last events, as many as its height holds."""

    DEFAULT_CSS = """
    EventStrip { height: 2; text-wrap: nowrap; }
    """

    def text_of(self, view: StoreView, width: int) -> Text:
        return strip_text(view.log, width, max(self.size.height, 1))
