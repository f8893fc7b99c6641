"""Gradient health per live seed: raw norm history, latest norm, health, latched flags.

"Not measured" (paused, culled, germinated but not trained yet) is shown as such, dim, with the
reason and never with a health value: telemetry that defaulted to "healthy" once let a gate pass
seeds that were never measured. Green means measured and healthy, nothing else.
"""

from __future__ import annotations

import math

from rich.text import Text

from training.records import SeedRecord, StoreView
from widgets.glyphs import ViewPanel, fmt_num, sparkline

# The norm history is drawn on a log10 scale with fixed bounds (said in the header): a seed's
# norm moves over decades, and the vanishing (1e-7) and exploding (100) thresholds sit near them.
NORM_LO, NORM_HI = 1e-6, 1e3
NORM_BOUNDS_TEXT = "1e-6…1e3"
HISTORY_WIDTH = 20
MIN_HISTORY = 6
STAGE_W = 12  # PROBATIONARY
HEALTHY = 0.9
GERMINATED = 2
FAILED = frozenset({8, 9, 10})  # CULLED, EMBARGOED, RESETTING


def not_measured_reason(record: SeedRecord) -> str:
    """Why a seed has no gradient numbers this epoch."""
    if record.paused:
        return "paused"
    if record.stage in FAILED:
        return "culled"
    if record.stage == GERMINATED:
        return "not trained yet"
    return "no batches this epoch"


def health_style(health: float) -> str:
    if not math.isfinite(health):
        return "bold red"
    return "green" if health >= HEALTHY else "yellow" if health >= 0.5 else "bold red"


def _flags(record: SeedRecord) -> Text:
    t = Text()
    if record.has_vanishing:
        t.append("VANISHING", style="bold yellow")
    if record.has_exploding:
        t.append(" " if t else "")
        t.append("EXPLODING", style="bold white on red")
    return t


def _seed_line(record: SeedRecord, history: tuple[SeedRecord, ...], name_w: int,
               flags_w: int, hist_w: int, stage: bool) -> Text:  # fmt: skip
    """lane, slot, stage | norm and health, or why not measured | flags | norm history (last,
    so a narrow panel cuts the history before the health)."""
    t = Text(f"{record.lane:<{name_w}} {record.slot_id:<6} ")
    if stage:
        t.append(f"{record.stage_name:<{STAGE_W}} ")
    if record.gradients_measured:
        norm = record.telemetry.gradient_norm
        t.append(f"norm {fmt_num(norm):>8} ", style="" if math.isfinite(norm) else "bold red")
        health = record.telemetry.gradient_health
        t.append("health ")
        t.append(f"{health:.2f}", style=health_style(health))
    else:
        t.append(f"{f'not measured ({not_measured_reason(record)})':<25}", style="dim")
    if flags_w:
        t.append(" ")
        flags = _flags(record)
        t.append_text(flags)
        t.append(" " * (flags_w - len(flags.plain)))
    own = [s for s in history if s.seed_id == record.seed_id]
    norms = [s.telemetry.gradient_norm if s.gradients_measured else None for s in own]
    t.append(" ")
    t.append(sparkline(norms, NORM_LO, NORM_HI, log=True, width=hist_w), style="cyan")
    return t


def gradient_text(view: StoreView, width: int = 120) -> Text:
    t = Text()
    t.append(f"norm history, log {NORM_BOUNDS_TEXT}, · not measured · health green ≥ {HEALTHY:.2f}\n",
             style="dim")  # fmt: skip
    seeds = [
        (history[-1], history)
        for lane in view.lanes
        for _slot, history in sorted(lane.seed_history.items())
        if history and history[-1].seed_id is not None
    ]
    if not seeds:
        t.append("no seeds yet", style="dim")
        return t
    name_w = max([len(lane.name) for lane in view.lanes] + [4])
    flags_w = max(len(_flags(record).plain) for record, _ in seeds)
    # lane, slot, norm/health (25) and the spaces between, without the stage and the history
    fixed = name_w + 1 + 6 + 1 + 25 + (flags_w + 1 if flags_w else 0) + 1
    stage = width - fixed - (STAGE_W + 1) >= MIN_HISTORY  # the stage is also on the seed card
    room = width - fixed - (STAGE_W + 1 if stage else 0)
    hist_w = max(MIN_HISTORY, min(HISTORY_WIDTH, room))
    for record, history in seeds:
        t.append_text(_seed_line(record, history, name_w, flags_w, hist_w, stage))
        t.append("\n")
    t.rstrip()
    return t


class GradientPanel(ViewPanel):
    """A line per lane and slot that holds a seed."""

    DEFAULT_CSS = """
    GradientPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    can_focus = True  # a tab stop: the app moves between panels with tab

    def text_of(self, view: StoreView, width: int) -> Text:
        return gradient_text(view, width)
