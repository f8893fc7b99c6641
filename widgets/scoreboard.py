"""The lane scoreboard: who is ahead now, how each lane got there this episode, what it grew,
and the paired verdict over finished episodes.

The accuracy curve has fixed bounds 0-100 (said in the header): an autoscaled curve makes a
half-point wobble look like a breakthrough.
"""

from __future__ import annotations

from rich.text import Text

from widgets.glyphs import ViewPanel, action_short, fmt_count, fmt_signed, sparkline, wrap
from widgets.model import Agreement, LaneView, StoreView

CURVE_WIDTH = 30  # newest epochs of the episode drawn in the curve (at most)
MIN_CURVE = 8
FIXED_COLUMNS = 82  # every column but the lane name and the curve; room for 2-4 finals
ACC_LO, ACC_HI = 0.0, 100.0
FINALS_SHOWN = 3
NO_PAIRED = "paired result after the first finished episode"


def reference_lane(view: StoreView) -> LaneView | None:
    """The lane the others are measured against: the heuristic."""
    return next((lane for lane in view.lanes if lane.kind == "heuristic"), None)


def delta_vs(lane: LaneView, ref: LaneView) -> tuple[float, int] | None:
    """Accuracy difference to ``ref`` at the newest epoch both lanes have recorded (lanes train
    one after another within an epoch, so one is often a step ahead)."""
    ref_acc = {(r.episode, r.epoch): r.val_accuracy for r in ref.epochs}
    for record in reversed(lane.epochs):
        at = (record.episode, record.epoch)
        if at in ref_acc:
            return record.val_accuracy - ref_acc[at], record.epoch
    return None


def scoreboard_text(view: StoreView, width: int = 140) -> Text:
    """The scoreboard; the curve narrows (down to ``MIN_CURVE``) to fit ``width``."""
    t = Text()
    names = [lane.name for lane in view.lanes]
    name_w = max([len(n) for n in names] + [4])
    curve_w = max(MIN_CURVE, min(CURVE_WIDTH, width - name_w - FIXED_COLUMNS))
    curve_title = "curve, acc 0–100, this episode" if curve_w >= 30 else "0–100"
    t.append(
        f"{'lane':<{name_w}}   acc {curve_title:<{curve_w}}"
        f"  {'Δ vs heuristic':<14} {'agree all/ep':>12} {'fossil/cull':>11}  {'params added':>12}"
        "  finals\n",
        style="bold dim",
    )
    ref = reference_lane(view)
    for lane in view.lanes:
        latest = lane.latest
        t.append(f"{lane.name:<{name_w}} ", style="bold")
        if lane.advising:
            t.append_text(_advising_row(lane, curve_w))
            t.append("\n")
            continue
        if latest is None:
            t.append("   — " + " " * curve_w + "  waiting for the first epoch\n", style="dim")
            continue
        t.append(f"{latest.val_accuracy:5.1f} ")
        curve = sparkline((r.val_accuracy for r in lane.epochs), ACC_LO, ACC_HI, width=curve_w)
        t.append(f"{curve:<{curve_w}}", style="cyan")
        t.append("  ")
        if ref is None:
            t.append(f"{'no heuristic':<14}", style="dim")
        elif lane is ref:
            t.append(f"{'reference':<14}", style="dim")
        else:
            d = delta_vs(lane, ref)
            if d is None:
                t.append(f"{'—':<14}", style="dim")
            else:
                diff, epoch = d
                style = "green" if diff > 0 else "red" if diff < 0 else ""
                t.append(f"{fmt_signed(diff):>6}", style=style)
                t.append(f"{' at e' + str(epoch):<8}", style="dim")
        t.append(f" {_agreement_cell(lane.agreement):>12}")
        fossil, cull = lane.fossilized, lane.culled
        t.append(f" {f'{fossil}/{cull}':>11}  ")
        share = latest.seed_params / latest.host_params if latest.host_params else 0.0
        t.append(f"{fmt_count(latest.seed_params):>6} {share:>5.0%}  ")
        if lane.finals:
            shown = lane.finals[-FINALS_SHOWN:]
            more = len(lane.finals) - len(shown)
            t.append((f"+{more} · " if more else "") + " ".join(f"{f:.2f}" for f in shown))
        else:
            t.append("—", style="dim")
        t.append("\n")
    if not view.lanes:
        t.append("no lanes yet\n", style="dim")
    if view.paired:
        for result in view.paired:
            style = (
                "green"
                if result.mean_difference > 0
                else "red"
                if result.mean_difference < 0
                else ""
            )
            t.append(wrap(result.summary(), width), style=style)
            t.append("\n")
    else:
        t.append(NO_PAIRED, style="dim")
    t.rstrip()
    return t


def _agreement_cell(agreement: Agreement) -> str:
    rate, episode = agreement.rate, agreement.episode_rate
    if rate is None:
        return "—"
    return f"{rate:.0%}/{episode:.0%}" if episode is not None else f"{rate:.0%}/—"


def _advising_row(lane: LaneView, curve_w: int) -> Text:
    """A lane that only advises (shadow mode): its choice per epoch (green where it agreed with
    the executing lane), then its agreement rate."""
    t = Text("advising ", style="italic")
    for choice in lane.choices[-curve_w:]:
        style = "green" if choice.agrees else "red" if choice.agrees is False else "dim"
        t.append(action_short(choice.action)[:1], style=style)
    if not lane.choices:
        t.append("no advice yet", style="dim")
    rate, episode = lane.agreement.rate, lane.agreement.episode_rate
    if rate is not None:
        t.append(f"  agrees {rate:.0%} overall", style="bold")
        if episode is not None:
            t.append(f", {episode:.0%} this episode")
    return t


class Scoreboard(ViewPanel):
    """A row per lane: accuracy now, its curve, Δ vs the heuristic, seeds fossilised/culled,
    parameters added and finished-episode finals; then the paired result lines."""

    DEFAULT_CSS = """
    Scoreboard { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def text_of(self, view: StoreView, width: int) -> Text:
        return scoreboard_text(view, width)
