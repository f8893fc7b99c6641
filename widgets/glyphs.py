"""What the text panels share: fixed-bound sparklines, bars, number formats, and ``TextPanel``,
the base that rebuilds a panel's text and pushes it only when it changed.

Every glyph here has a known terminal width of one cell (block elements, box drawing, a middle
dot); no emoji and no variation selectors, which broke border widths in comparable dashboards.
Sparklines never autoscale: a curve that fills the box whatever its range hides how small a
change is, so callers always pass the bounds and say them in a header.
"""

from __future__ import annotations

import math
import textwrap
from collections.abc import Iterable

from rich.cells import cell_len
from rich.text import Text
from textual.widgets import Static

from widgets.model import StoreView

LEVELS = "▁▂▃▄▅▆▇█"
MISSING = "·"  # an epoch with no value (not measured, non-finite)
FULL, EMPTY = "█", "░"
ELLIPSIS = "…"

# Short labels of the seven actions, in ``ACTION_NAMES`` order (DecisionRecord.action indexes it).
ACTION_SHORT = ("W", "G-CONV", "G-ATT", "G-NORM", "G-DW", "ADV", "CULL")


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)


def sparkline(
    values: Iterable[float | None],
    lo: float,
    hi: float,
    *,
    log: bool = False,
    width: int | None = None,
) -> str:
    """One glyph per value between fixed bounds ``lo``..``hi`` (clamped); ``log`` maps on a
    log10 scale (bounds must then be positive). Missing or non-finite values show as ``·``.
    With ``width`` only the newest ``width`` values are drawn."""
    items = list(values)
    if width is not None:
        items = items[-width:] if width > 0 else []
    if log:
        lo, hi = math.log10(lo), math.log10(hi)
    span = hi - lo
    out = []
    for v in items:
        if v is None or not math.isfinite(v) or (log and v < 0):
            out.append(MISSING)
            continue
        x = (math.log10(v) if v > 0 else lo) if log else v
        frac = 0.0 if span <= 0 else (min(max(x, lo), hi) - lo) / span
        out.append(LEVELS[min(len(LEVELS) - 1, int(frac * len(LEVELS)))])
    return "".join(out)


def bar(fraction: float, width: int) -> str:
    """A horizontal bar of ``width`` cells, ``fraction`` (clamped to 0..1) of them filled."""
    f = min(max(fraction, 0.0), 1.0) if _finite(fraction) else 0.0
    filled = int(round(f * width))
    return FULL * filled + EMPTY * (width - filled)


def fmt_count(n: float) -> str:
    """3 sig. figures with k / M suffixes: parameter counts and throughput."""
    if not _finite(n):
        return str(n)
    a = abs(n)
    if a >= 1e6:
        return f"{n / 1e6:.1f}M"
    if a >= 1e3:
        return f"{n / 1e3:.1f}k"
    return f"{n:.0f}"


def fmt_num(x: float | None, digits: int = 3) -> str:
    """A raw measurement: ``digits`` significant figures; ``—`` for None; nan/inf as such."""
    if x is None:
        return "—"
    if math.isnan(x):
        return "nan"
    if math.isinf(x):
        return "inf" if x > 0 else "-inf"
    return f"{x:.{digits}g}"


def fmt_signed(x: float | None, decimals: int = 2) -> str:
    """A difference or a Q-value: always signed, fixed decimals; ``—`` for None."""
    if x is None:
        return "—"
    if not math.isfinite(x):
        return fmt_num(x)
    return f"{x:+.{decimals}f}"


def fit(text: Text, width: int) -> Text:
    """One line cut to ``width`` cells with an ellipsis (a no-wrap line never wraps mid-item)."""
    if cell_len(text.plain) > width:
        text = text.copy()
        text.truncate(max(width, 1), overflow="ellipsis")
    return text


def truncate(text: str, width: int) -> str:
    """Cut ``text`` to ``width`` cells, marking the cut with an ellipsis."""
    return text if len(text) <= width else text[: max(0, width - 1)] + ELLIPSIS


def action_short(action: int | None) -> str:
    if action is None:
        return "—"
    return ACTION_SHORT[action] if 0 <= action < len(ACTION_SHORT) else str(action)


def changed(current: Text | None, new: Text) -> bool:
    """True when ``new`` differs from what a panel shows now (text or styles): an unchanged
    tick then costs no refresh and no layout."""
    return current is None or current.plain != new.plain or current.spans != new.spans


def shape(text: Text) -> tuple[int, int]:
    """Lines and widest line in cells: all that an auto-sized, no-wrap panel's size follows."""
    lines = text.plain.split("\n")
    return len(lines), max(cell_len(line) for line in lines)


def needs_layout(current: Text | None, new: Text) -> bool:
    """A new text of the same shape repaints its panel without a layout of the whole screen
    (the costly part of an update, and most ticks only change digits)."""
    return current is None or shape(current) != shape(new)


def wrap(text: str, width: int, indent: str = "  ") -> str:
    """Break a long sentence (a warning, a paired result) into lines of ``width`` cells, the
    continuation lines indented, instead of letting a no-wrap panel cut it off."""
    width = max(width, 20)
    return "\n".join(textwrap.wrap(text, width, subsequent_indent=indent, break_on_hyphens=False))


class TextPanel(Static):
    """Base of the text panels: ``build(width)`` makes the whole panel as one Rich Text; it is
    pushed to the screen only when it changed, and rebuilt on resize (widths adapt)."""

    DEFAULT_WIDTH = 120  # before the first layout

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__("", name=name, id=id, classes=classes, markup=False)
        self._text: Text | None = None
        self._ready = False

    def build(self, width: int) -> Text:
        raise NotImplementedError

    def refresh_text(self) -> None:
        """Rebuild from the last data given and update the screen if anything changed."""
        self._ready = True
        text = self.build(self.content_size.width or self.DEFAULT_WIDTH)
        if changed(self._text, text):
            layout = needs_layout(self._text, text)
            self._text = text
            self.update(text, layout=layout)

    def on_resize(self) -> None:
        if self._ready:
            self.refresh_text()


class ViewPanel(TextPanel):
    """A text panel drawn from the whole store view by ``text_of(view, width)``."""

    _view: StoreView | None = None

    def update_view(self, view: StoreView) -> None:
        self._view = view
        self.refresh_text()

    def build(self, width: int) -> Text:
        return Text() if self._view is None else self.text_of(self._view, width)

    def text_of(self, view: StoreView, width: int) -> Text:
        raise NotImplementedError
