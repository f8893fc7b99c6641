"""Gradient health per live seed: raw norm history, latest norm, health, latched flags.

"Not measured" (paused, culled, germinated but not trained yet) is shown as such, dim, with the
reason and never with a health value: telemetry that defaulted to "healthy" once let a gate pass
seeds that were never measured. Green means measured and healthy, nothing else.
"""

from __future__ import annotations

import math

from rich.text import Text

from training.records import SeedRecord, SeedStage, is_failure_stage
from widgets.glyphs import ViewPanel, fmt_num, sparkline
from widgets.model import StoreView

# The norm history is drawn on a log10 scale with fixed bounds (said in the header): a seed's
# norm moves over decades, and the vanishing (1e-7) and exploding (100) thresholds sit near them.
NORM_LO, NORM_HI = 1e-6, 1e3
NORM_BOUNDS_TEXT = "1e-6…1e3"
HISTORY_WIDTH = 20
MIN_HISTORY = 6
STAGE_W = 12  # PROBATIONARY
HEALTHY = 0.9
FLAGS_FULL = ("VANISHING", "EXPLODING")
FLAGS_SHORT = ("VAN", "EXP")


def not_measured_reason(record: SeedRecord) -> str:
    """Why a seed has no gradient numbers this epoch."""
    if record.paused:
        return "paused"
    if is_failure_stage(record.stage):
        return "culled"
    if record.stage == SeedStage.GERMINATED:
        return "not trained yet"
    return "no batches this epoch"


def health_style(health: float) -> str:
    if not math.isfinite(health):
        return "bold red"
    return "green" if health >= HEALTHY else "yellow" if health >= 0.5 else "bold red"


def _flags(record: SeedRecord, short: bool = False) -> Text:
    vanishing, exploding = FLAGS_SHORT if short else FLAGS_FULL
    t = Text()
    if record.has_vanishing:
        t.append(vanishing, style="bold yellow")
    if record.has_exploding:
        t.append(" " if t else "")
        t.append(exploding, style="bold white on red")
    return t


def _seed_line(
    record: SeedRecord,
    history: tuple[SeedRecord, ...],
    name_w: int,
    hist_w: int,
    flags_w: int,
    short: bool,
    stage: bool,
) -> Text:
    """lane·slot | norm history | latched flags | norm and health, or why not measured | stage.
    History and flags lead, so a narrow panel cuts the stage and then the numbers first."""
    t = Text(f"{f'{record.lane}·s{record.slot_index}':<{name_w + 3}} ")
    own = [s for s in history if s.seed_id == record.seed_id]
    norms = [s.telemetry.gradient_norm if s.gradients_measured else None for s in own]
    t.append(
        f"{sparkline(norms, NORM_LO, NORM_HI, log=True, width=hist_w):<{hist_w}}", style="cyan"
    )
    t.append(" ")
    if flags_w:
        flags = _flags(record, short)
        t.append_text(flags)
        t.append(" " * (flags_w - len(flags.plain) + 1))
    if record.gradients_measured:
        norm = record.telemetry.gradient_norm
        t.append(
            f"{fmt_num(norm, 2 if short else 3):>{6 if short else 8}} ",
            style="" if math.isfinite(norm) else "bold red",
        )
        health = record.telemetry.gradient_health
        t.append("h" if short else "health ")
        t.append(f"{health:.2f}", style=health_style(health))
    else:
        reason = not_measured_reason(record)
        t.append(f"— {reason}" if short else f"not measured ({reason})", style="dim")
    if stage:
        t.append(f"  {record.stage_name}", style="dim")
    return t


def gradient_text(view: StoreView, width: int = 120) -> Text:
    seeds = [
        (history[-1], history)
        for lane in view.lanes
        for _slot, history in sorted(lane.seed_history.items())
        if history and history[-1].seed_id is not None
    ]
    short = width < 50
    t = Text(
        f"norm history, log {NORM_BOUNDS_TEXT} (· unmeasured), healthy ≥ {HEALTHY:.1f}\n"
        if not short
        else f"log {NORM_BOUNDS_TEXT}, — not measured\n",
        style="dim",
    )
    if not seeds:
        t.append("no seeds yet", style="dim")
        return t
    name_w = max(len(record.lane) for record, _ in seeds)
    flags_w = max(len(_flags(r, short).plain) for r, _ in seeds)
    # lane·sN and a space, flags, norm and health (~13 short, ~21) or "not measured (...)" (~30)
    fixed = name_w + 4 + 1 + (flags_w + 1 if flags_w else 0) + (13 if short else 30)
    hist_w = max(MIN_HISTORY, min(HISTORY_WIDTH, width - fixed))
    stage = width - fixed - hist_w >= STAGE_W + 2
    for record, history in seeds:
        t.append_text(_seed_line(record, history, name_w, hist_w, flags_w, short, stage))
        t.append("\n")
    t.rstrip()
    return t


class GradientPanel(ViewPanel):
    """A line per lane and slot that holds a seed."""

    DEFAULT_CSS = """
    GradientPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def text_of(self, view: StoreView, width: int) -> Text:
        return gradient_text(view, width)
