"""The lane scoreboard: who is ahead now, how each lane got there this episode, what it grew,
and the paired verdict over finished episodes.

The accuracy curve has fixed bounds 0-100 (said in the header): an autoscaled curve makes a
half-point wobble look like a breakthrough.
"""

from __future__ import annotations

from rich.text import Text

from training.records import PairedResult
from widgets.glyphs import ViewPanel, action_short, fmt_count, fmt_signed, sparkline, wrap
from widgets.labels import lane_labels
from widgets.model import Agreement, LaneView, StoreView

CURVE_WIDTH = 30  # newest epochs of the episode drawn in the curve (at most)
MIN_CURVE = 8
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


OPTIONAL = ("finals", "params", "fossil", "agree")  # dropped in this order when the width is short
WIDTHS = {"delta": 15, "agree": 13, "fossil": 12, "params": 14}


def _finals_text(lane: LaneView) -> str:
    if not lane.finals:
        return "—"
    shown = lane.finals[-FINALS_SHOWN:]
    more = len(lane.finals) - len(shown)
    return (f"+{more} · " if more else "") + " ".join(f"{f:.2f}" for f in shown)


def _layout(view: StoreView, width: int) -> tuple[dict[str, str], int, set[str]]:
    """Lane labels, the curve's width and the optional columns kept: every column whole; the
    curve narrows first, then optional columns go (finals first), then lane names become codes."""
    names = [lane.name for lane in view.lanes]
    finals_w = max([len(_finals_text(lane)) for lane in view.lanes] + [len("finals")]) + 2
    for use_codes in (False, True):
        labels = lane_labels(names, 2 if use_codes else 10_000)
        name_w = max([len(label) for label in labels.values()] + [4])
        kept = set(OPTIONAL)
        for drop in (None, *OPTIONAL):
            if drop is not None:
                kept.discard(drop)
            fixed = (
                name_w + 1 + 6 + 2 + WIDTHS["delta"] + sum(WIDTHS[c] for c in kept if c in WIDTHS)
            )
            fixed += finals_w if "finals" in kept else 0
            if width - fixed >= MIN_CURVE:
                return labels, min(CURVE_WIDTH, width - fixed), kept
    return lane_labels(names, 2), MIN_CURVE, set()


def scoreboard_text(view: StoreView, width: int = 140) -> Text:
    """The scoreboard, fitted to ``width``: the curve narrows (down to ``MIN_CURVE``), then
    optional columns go, then lane names become their codes (the header lists them)."""
    t = Text()
    labels, curve_w, kept = _layout(view, width)
    name_w = max([len(label) for label in labels.values()] + [4])
    curve_title = "curve, acc 0–100, this episode" if curve_w >= 30 else "0–100"
    header = f"{'lane':<{name_w}}   acc {curve_title:<{curve_w}}  {'Δ vs heuristic':<14}"
    if "agree" in kept:
        header += f" {'agree all/ep':>12}"
    if "fossil" in kept:
        header += f" {'fossil/cull':>11}"
    if "params" in kept:
        header += f"  {'params added':>12}"
    if "finals" in kept:
        header += "  finals"
    t.append(header + "\n", style="bold dim")
    ref = reference_lane(view)
    for lane in view.lanes:
        latest = lane.latest
        t.append(f"{labels.get(lane.name, lane.name):<{name_w}} ", style="bold")
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
        if "agree" in kept:
            t.append(f" {_agreement_cell(lane.agreement):>12}")
        if "fossil" in kept:
            fossil, cull = lane.fossilized, lane.culled
            t.append(f" {f'{fossil}/{cull}':>11}")
        if "params" in kept:
            share = latest.seed_params / latest.host_params if latest.host_params else 0.0
            t.append(f"  {fmt_count(latest.seed_params):>6} {share:>5.0%}")
        if "finals" in kept:
            t.append("  ")
            finals = _finals_text(lane)
            t.append(finals, style="dim" if finals == "—" else "")
        t.append("\n")
    if not view.lanes:
        t.append("no lanes yet\n", style="dim")
    if len(view.paired) == 1:
        result = view.paired[0]
        style = _paired_style(result)
        # The line ends "decided: ..." or "undecided: ..., ~N more episodes for ±E".
        t.append(wrap(result.summary(), width), style=f"bold {style}" if result.decided else style)
        t.append("\n")
    elif view.paired:
        # many lanes (a replayed ablation): one item per lane, wrapped, not a line each
        t.append_text(_paired_compact(view, width, labels))
        t.append("\n")
    else:
        t.append(NO_PAIRED, style="dim")
    t.rstrip()
    return t


def _paired_style(result: PairedResult) -> str:
    return "green" if result.mean_difference > 0 else "red" if result.mean_difference < 0 else ""


def _paired_compact(view: StoreView, width: int, labels: dict[str, str]) -> Text:
    """ "paired vs heuristic over 6 episodes (mean Δ [95% CI] W/T/L sign p): iql_27 -5.30
    [-11.27, +0.67] 1/1/4 p=0.375 · …", wrapped at item boundaries."""
    first = view.paired[0]
    t = Text(
        f"paired vs {first.reference} over {first.episodes} episode(s) (mean Δ [95% CI] W/T/L sign p):",
        style="dim",
    )
    line = len(t.plain)
    for result in view.paired:
        ci = (
            f"[{result.ci_low:+.2f}, {result.ci_high:+.2f}]"
            if result.ci_low is not None and result.ci_high is not None
            else "[CI needs 2+]"
        )
        item = (
            f"{labels.get(result.lane, result.lane)} {result.mean_difference:+.2f} {ci} "
            f"{result.wins}/{result.ties}/{result.losses} p={result.sign_test_p:.3f}"
        )
        if line + 3 + len(item) > width:
            t.append("\n  ")
            line = 2
        else:
            t.append(" · " if line > 2 and not t.plain.endswith(":") else " ", style="dim")
            line += 3
        t.append(item, style=_paired_style(result))
        line += len(item)
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
