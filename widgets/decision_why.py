"""The decision pane: the whole story of one decision, wrapped to the pane's width, never cut.

For the decision under the table's cursor (the newest while the table follows): who decided
what on which seed and what became of it; the reason and its result in full; what the heuristic
chose on the same state and why; every action's Q-value as a bar (masked, invalid actions
marked), with the policy's probabilities, V and the advantage; and the inputs farthest from the
model's training distribution. The reason comes first after the headline, so the smallest pane
still shows it whole; what does not fit scrolls below.
"""

from __future__ import annotations

import math
import textwrap

from rich.cells import cell_len
from rich.text import Text

from training.records import ACTION_NAMES, DecisionRecord
from widgets.glyphs import ACTION_SHORT, EMPTY, FULL, ViewPanel
from widgets.labels import fmt_fit
from widgets.model import OUTLIER_Z, PLAN_RANGE_WIDTHS, StoreView, input_outliers

LABEL_W = max(len(a) for a in ACTION_SHORT)  # G-CONV
VALUE_W = 6  # +27.31; wider values keep their leading digits (-123.5, +1.2e4)
PROB_W = 4  # 0.95
MIN_BAR, MAX_BAR = 5, 12
FAR_SHOWN = 5  # inputs listed by name; the rest are counted
HALF = "▌"


def _wrapped(label: str, body: Text, width: int, indent: int = 2) -> list[Text]:
    """``label:`` in bold, then ``body``, wrapped to ``width`` cells with continuation lines
    indented: every word kept, nothing cut."""
    head = Text(f"{label}: ", style="bold") if label else Text()
    whole = head + body
    plain = whole.plain
    lines = textwrap.wrap(
        plain,
        max(width, 12),
        subsequent_indent=" " * indent,
        break_long_words=True,
        break_on_hyphens=False,
        drop_whitespace=True,
    ) or [""]
    out: list[Text] = []
    offset = 0
    for i, line in enumerate(lines):
        words = line[indent:] if i else line
        start = plain.find(words, offset)
        if start < 0:  # whitespace collapsed by wrap: the plain words, unstyled
            out.append(Text(line))
            continue
        offset = start + len(words)
        piece = whole[start:offset]
        out.append(Text(" " * indent) + piece if i else piece)
    return out


def _num(x: float | None, width: int = VALUE_W, signed: bool = True) -> str:
    """Two decimals, as the table shows them, or as many digits as ``width`` holds."""
    if x is None or not math.isfinite(x):
        return fmt_fit(x, width, signed=signed)
    text = f"{x:{'+' if signed else ''}.2f}"
    return text if len(text) <= width else fmt_fit(x, width, signed=signed)


def headline(decision: DecisionRecord, shadow: bool) -> Text:
    t = Text(f"{decision.episode}·{decision.epoch} ", style="bold")
    t.append(decision.lane, style="bold")
    t.append("  ")
    t.append(decision.action_name, style="bold reverse")
    if decision.target_slot is not None:
        t.append(f" on slot {decision.target_slot}")
    t.append("  ")
    if shadow:
        t.append("advice only, not executed", style="italic dim")
    elif decision.executed:
        t.append("done", style="bold green")
    else:
        t.append("REFUSED", style="bold red")
    return t


def reason_line(decision: DecisionRecord, shadow: bool) -> Text:
    """The reason and what became of it, as one sentence (the table's last column, whole)."""
    if shadow:
        return Text(decision.reason)
    if decision.executed:
        t = Text(decision.reason)
        t.append(" → ")
        t.append(decision.outcome, style="green")
        return t
    t = Text(decision.reason)
    t.append(" → refused: ")
    t.append(decision.outcome, style="red")
    return t


def action_name(action: int) -> str:
    return ACTION_NAMES[action] if 0 <= action < len(ACTION_NAMES) else str(action)


def reference_line(decision: DecisionRecord, shadow: bool) -> Text | None:
    """What the heuristic (or, in shadow mode, the executing lane) chose on the same state."""
    if decision.reference_action is None:
        return None
    t = Text(action_name(decision.reference_action), style="bold")
    agrees = decision.agrees
    t.append(" ✓ same" if agrees else " ✗ differs", style="green" if agrees else "red")
    reason = getattr(decision, "reference_reason", None)
    if isinstance(reason, str) and reason:
        t.append(": ")
        t.append(reason)
    return t


def _bar(fraction: float, width: int) -> str:
    """Eighth-free bar: full cells, a half cell, then empty; never wider than ``width``."""
    f = min(max(fraction, 0.0), 1.0) if math.isfinite(fraction) else 0.0
    halves = int(round(f * width * 2))
    full, half = divmod(halves, 2)
    return (FULL * full + (HALF if half else "")).ljust(width, EMPTY)[:width]


def value_cells(decision: DecisionRecord, width: int, tail: Text | None = None) -> list[Text]:
    """Every action's Q as a bar (or, for a policy without Q such as BC, its probability),
    laid out in as many columns as ``width`` holds; masked actions say so."""
    q, probs, mask = decision.q_values, decision.probabilities, decision.action_mask
    values = q if q is not None else probs
    if values is None:
        return [Text("Q: none; a rule decided, not a value", style="dim")]
    label = "Q" if q is not None else "p"
    n = min(len(values), len(ACTION_SHORT))
    valid = [a < len(mask) and bool(mask[a]) for a in range(n)]
    finite = [values[a] for a in range(n) if valid[a] and math.isfinite(values[a])]
    lo, hi = (min(finite), max(finite)) if finite else (0.0, 1.0)
    if q is None:
        lo, hi = 0.0, 1.0  # probabilities: an absolute scale
    room = max(width - 2, 20)
    show_p = False
    columns = 1
    for with_p in (True, False):  # each action's probability, where two columns still fit with it
        if with_p and (q is None or probs is None or len(probs) < n):
            continue
        # label, bar, (value), p
        fixed = LABEL_W + 1 + 1 + VALUE_W + 2 + (1 + PROB_W if with_p else 0)
        fitting = [
            c for c in (4, 3, 2) if (fixed + MIN_BAR) * c + (c - 1) <= room and math.ceil(n / c) < n
        ]
        if fitting:
            show_p, columns = with_p, fitting[0]
            break
    fixed = LABEL_W + 1 + 1 + VALUE_W + 2 + (1 + PROB_W if show_p else 0)
    bar_w = max(MIN_BAR, min(MAX_BAR, (room - (columns - 1)) // columns - fixed))
    cells: list[Text] = []
    for a in range(n):
        chosen = a == decision.action
        t = Text()
        t.append(f"{ACTION_SHORT[a]:<{LABEL_W}}", style="bold reverse" if chosen else "")
        t.append(" ")
        v = values[a]
        if not valid[a]:
            t.append("·" * bar_w + " ", style="dim")
            t.append(f"({_num(v, VALUE_W, signed=q is not None)})".rjust(VALUE_W + 2), style="dim")
        else:
            span = hi - lo
            frac = (v - lo) / span if span > 0 else 1.0
            t.append(_bar(frac, bar_w), style="bold cyan" if a == decision.action else "cyan")
            t.append(" ")
            t.append(_num(v, VALUE_W, signed=q is not None).rjust(VALUE_W + 1) + " ")
        if show_p and probs is not None:
            t.append(f" {_num(probs[a], PROB_W, signed=False):>{PROB_W}}", style="dim")
        cells.append(t)
    rows = math.ceil(n / columns)
    cell_w = fixed + bar_w
    if tail is not None and columns > 1 and rows * columns > n and cell_len(tail.plain) <= cell_w:
        cells.append(tail)  # V and the advantage fill the empty cell at the bottom right
        tail = None
    lines = []
    for r in range(rows):
        line = Text(f"{label} " if r == 0 else "  ", style="bold")
        for c in range(columns):
            index = c * rows + r
            if index < len(cells):
                if c:
                    line.append(" ")
                cell = cells[index]
                line.append_text(cell)
                line.append(" " * (cell_w - cell_len(cell.plain)))
        line.rstrip()
        lines.append(line)
    if tail is not None:
        lines.extend(_wrapped("", tail, width))
    return lines


def value_line(decision: DecisionRecord, probabilities: bool = True) -> Text | None:
    """V, the advantage (Q of the chosen action − V) and the chosen action's probability."""
    if decision.value is None and decision.advantage is None:
        return None
    t = Text()
    if decision.value is not None:
        t.append("V ", style="bold")
        t.append(_num(decision.value, 8))
    if decision.advantage is not None:
        t.append(" · " if t else "")
        t.append("adv ", style="bold")
        t.append(_num(decision.advantage, 8))
    probs = decision.probabilities
    if probabilities and probs is not None and 0 <= decision.action < len(probs):
        t.append(" · ")
        t.append("p ", style="bold")
        t.append(_num(probs[decision.action], 5, signed=False))
    return t


def far_line(decision: DecisionRecord, names: tuple[str, ...]) -> Text | None:
    """The inputs farthest from the model's training distribution, worst first."""
    if decision.features is None or (decision.z_scores is None and decision.range_excess is None):
        return None
    far = input_outliers(decision, names)
    plan = decision.z_scores is None
    if not far:
        bound = f"{PLAN_RANGE_WIDTHS:g} range-width" if plan else f"|z| ≤ {OUTLIER_Z:g}"
        return Text(f"every input within its training range ({bound})", style="green")
    t = Text()
    for i, o in enumerate(far[:FAR_SHOWN]):
        if i:
            t.append(", ")
        t.append(f"{o.feature} {fmt_fit(o.raw, 6)} ")
        limit = PLAN_RANGE_WIDTHS if plan else OUTLIER_Z
        t.append(
            f"{'w' if plan else 'z'}{o.z:+.1f}",
            style="bold red" if abs(o.z) > 2 * limit else "yellow",
        )
    if len(far) > FAR_SHOWN:
        t.append(f" and {len(far) - FAR_SHOWN} more", style="dim")
    return t


def why_text(
    decision: DecisionRecord | None,
    view: StoreView | None,
    width: int,
    shadow: bool = False,
    empty: str = "no decisions yet",
) -> Text:
    """The pane's whole text for ``decision`` at ``width`` cells (lines never wider)."""
    if decision is None:
        return Text(empty, style="dim")
    width = max(width, 24)
    lines: list[Text] = []
    lines.extend(_wrapped("", headline(decision, shadow), width))
    lines.extend(_wrapped("Why", reason_line(decision, shadow), width))
    reference = reference_line(decision, shadow)
    if reference is not None:
        label = "Executing lane" if shadow else "Heuristic"
        lines.extend(_wrapped(label, reference, width))
    lines.extend(value_cells(decision, width, value_line(decision)))
    names = view.feature_names(decision.lane) if view is not None else ()
    far = far_line(decision, names)
    if far is not None:
        lines.extend(_wrapped("Far from training", far, width))
    return Text("\n").join(lines)


class DecisionWhy(ViewPanel):
    """The pane beside (or under) the decision table; ``show(decision)`` picks what it tells."""

    DEFAULT_CSS = """
    DecisionWhy { height: auto; width: 1fr; }
    """

    _decision: DecisionRecord | None = None
    _shadow = False
    _empty = "no decisions yet"
    _tallest = (0, 0)  # (width, lines): the most lines shown at this width

    def show(
        self,
        decision: DecisionRecord | None,
        view: StoreView | None,
        shadow: bool = False,
        empty: str = "no decisions yet",
    ) -> None:
        self._decision, self._shadow, self._empty = decision, shadow, empty
        self._view = view
        self.refresh_text()

    def text_of(self, view: StoreView, width: int) -> Text:
        return why_text(self._decision, view, width, self._shadow, self._empty)

    def build(self, width: int) -> Text:
        """The pane's text, padded to the most lines it has had at this width: its height then
        stops changing after the first decisions, and a new decision (one a second, live)
        repaints the pane instead of laying out the whole screen again (most of the UI
        thread's cost per record, taken from the trainer on a small machine)."""
        text = why_text(self._decision, self._view, width, self._shadow, self._empty)
        lines = text.plain.count("\n") + 1
        seen_width, tallest = self._tallest
        tallest = max(lines, tallest if seen_width == width else 0)
        self._tallest = (width, tallest)
        if lines < tallest:
            text.append("\n" * (tallest - lines))
        return text

    @property
    def decision(self) -> DecisionRecord | None:
        return self._decision
