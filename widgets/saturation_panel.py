"""Normalisation saturation: per normalised seed feature, what the agent saw, its clip bound and
how often recently the raw value sat at that bound; then the IQL inputs that lie far outside the
distribution its checkpoint was trained on.

Features are rows and lanes are column groups (18 cells each), so three lanes fit beside the
gradient panel at 120 columns. A feature
pegged at its bound tells the agent nothing (the plan's example: a gradient norm pegged at 1.0
because the 10.0 scale is too low), so a row's warning is printed in full, not hinted at by colour.
"""

from __future__ import annotations

from rich.text import Text

from widgets.glyphs import ViewPanel, fmt_num, wrap
from widgets.model import OUTLIER_Z, PLAN_RANGE_WIDTHS, LaneView, SaturationRow, StoreView

OUTLIER_TITLE = f"out of training distribution (|z| > {OUTLIER_Z:g})"
PLAN_TITLE = f"plan-format, raw inputs beyond esper-lite's range (> {PLAN_RANGE_WIDTHS:g} width)"
GROUP_W = 18  # "│" + raw 6 + " " + norm 5 + " " + pegged 4 + " "


def _cell(row: SaturationRow | None) -> Text:
    t = Text("│", style="dim")
    if row is None:
        t.append(f"{'—':>6}{'':>11} ", style="dim")
        return t
    t.append(f"{fmt_num(row.raw, 3):>6} {row.normalised:>5.3f} ")
    if row.bound == "—":
        t.append(f"{'—':>4}", style="dim")
    else:
        style = "bold white on red" if row.warning else "yellow" if row.pegged_share > 0 else ""
        t.append(f"{row.pegged_share:>4.0%}", style=style)
    t.append(" ")
    return t


def outliers_text(lane: LaneView, width: int, plan: bool = False) -> Text:
    """An IQL lane's inputs far outside its checkpoint's training distribution, worst first; for
    a plan-format model (no statistics), beyond the range esper-lite's pipeline produced."""
    t = Text(f"{lane.name} ", style="bold")
    t.append((PLAN_TITLE if plan else OUTLIER_TITLE) + ":", style="bold")
    if not lane.outliers:
        t.append(" none", style="green")
        return t
    line = len(t.plain)
    for o in sorted(lane.outliers, key=lambda o: -abs(o.z)):
        label, limit = ("w", PLAN_RANGE_WIDTHS) if o.measure == "range" else ("z", OUTLIER_Z)
        item = f" {o.feature} {fmt_num(o.raw, 3)} {label}{o.z:+.1f}"
        if line + len(item) > width:
            t.append("\n ")
            line = 1
        t.append(f" {o.feature} {fmt_num(o.raw, 3)} ")
        t.append(f"{label}{o.z:+.1f}", style="bold red" if abs(o.z) > 2 * limit else "yellow")
        line += len(item)
    return t


def saturation_text(view: StoreView, width: int = 120) -> Text:
    t = Text()
    lanes = [lane for lane in view.lanes if lane.saturation]
    # The panel is as wide as its table; the outlier list wraps to that width.
    width = max(44, 21 + GROUP_W * len(lanes)) if lanes else min(width, 60)
    if lanes:
        features = [row.feature for row in lanes[0].saturation]
        bounds = {row.feature: row.bound for row in lanes[0].saturation}
        by_lane = [{row.feature: row for row in lane.saturation} for lane in lanes]
        feat_w = max(len(f) for f in features)
        t.append(" " * (feat_w + 6))
        for lane in lanes:
            window = lane.saturation[0].window
            t.append("│", style="dim")
            suffix = f" last {window}"
            t.append(
                f" {lane.name[: GROUP_W - 2 - len(suffix)]}{suffix}".ljust(GROUP_W - 1),
                style="bold",
            )
        t.append(f"\n{'feature':<{feat_w}} {'clip':>4} ", style="bold dim")
        for _ in lanes:
            t.append("│", style="dim")
            t.append(f"{'raw':>6} {'norm':>5} {'peg':>4} ", style="bold dim")
        for feature in features:
            t.append(f"\n{feature:<{feat_w}} {bounds[feature]:>4} ")
            for rows in by_lane:
                t.append_text(_cell(rows.get(feature)))
        for lane in lanes:
            for row in lane.saturation:
                if row.warning:
                    t.append("\n")
                    t.append(" WARNING ", style="bold white on red")
                    t.append(
                        " " + wrap(f"{lane.name}: {row.warning}", width - 10, " " * 10),
                        style="bold red",
                    )
        t.append("\n")
    for lane in view.lanes:
        if not lane.saturation and not lane.advising:
            t.append(f"{lane.name}: no seed features yet\n", style="dim")
    if not view.lanes:
        t.append("no lanes yet\n", style="dim")
    plan = {li.name for li in (view.run.lanes if view.run else ()) if li.model_format == "plan"}
    for lane in view.lanes:
        if lane.kind == "iql":  # the heuristic reads raw signals: nothing to be out of range of
            t.append_text(outliers_text(lane, width, lane.name in plan))
            t.append("\n")
    t.rstrip()
    return t


class SaturationPanel(ViewPanel):
    """Per feature and lane: raw, normalised and pegged share (window in the lane's heading),
    warnings in full; per IQL lane: inputs far outside its training distribution."""

    DEFAULT_CSS = """
    SaturationPanel { height: auto; width: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    def text_of(self, view: StoreView, width: int) -> Text:
        return saturation_text(view, width)
