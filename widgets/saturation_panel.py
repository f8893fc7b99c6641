"""Normalisation saturation: per normalised seed feature, what the agent saw, its clip bound and
how often recently the raw value sat at that bound; then the IQL inputs that lie far outside the
distribution its checkpoint was trained on.

Features are rows and lanes are column groups, so two lanes fit an 80-column terminal. A feature
pegged at its bound tells the agent nothing (the plan's example: a gradient norm pegged at 1.0
because the 10.0 scale is too low), so a row's warning is printed in full, not hinted at by colour.
"""

from __future__ import annotations

from rich.text import Text

from training.records import LaneView, SaturationRow, StoreView
from widgets.glyphs import ViewPanel, fmt_num, wrap

OUTLIER_Z = 3.0  # the store's threshold for InputOutlier
OUTLIERS_SHOWN = 8
OUTLIER_TITLE = f"inputs outside the training distribution (|z| > {OUTLIER_Z:g})"
PLAN_RANGE_WIDTHS = 1.0  # training.features.PLAN_RANGE_WIDTHS (widgets import no torch-side module)
PLAN_TITLE = f"plan-format model, raw inputs: beyond esper-lite's range (> {PLAN_RANGE_WIDTHS:g} range-width)"
NO_NORMALISER = "no input normalisation (reads raw signals)"
GROUP_W = 22  # "│" + raw 7 + norm 6 + pegged 7 + " "


def _cell(row: SaturationRow | None) -> Text:
    t = Text("│", style="dim")
    if row is None:
        t.append(f"{'—':>7}{'':>6}{'':>7} ", style="dim")
        return t
    t.append(f"{fmt_num(row.raw, 3):>7}{row.normalised:>6.3f}")
    if row.bound == "—":
        t.append(f"{'—':>7}", style="dim")
        t.append(" ")
    else:
        style = "bold white on red" if row.warning else "yellow" if row.pegged_share > 0 else ""
        t.append(f"{row.pegged_share:>7.0%}", style=style)
        t.append(" ")
    return t


def _outliers(lane: LaneView, plan: bool) -> Text:
    t = Text(f"{lane.name}: ", style="bold")
    if lane.kind != "iql":
        t.append(NO_NORMALISER, style="dim")
        return t
    t.append(PLAN_TITLE if plan else OUTLIER_TITLE, style="bold")
    if not lane.outliers:
        t.append("  none", style="green")
        return t
    ranked = sorted(lane.outliers, key=lambda o: -abs(o.z))
    for o in ranked[:OUTLIERS_SHOWN]:
        label, limit = ("widths", PLAN_RANGE_WIDTHS) if o.measure == "range" else ("z", OUTLIER_Z)
        t.append(f"\n  {o.feature:<24} raw {fmt_num(o.raw, 4):>9}  {label} ")
        t.append(f"{o.z:+7.1f}", style="bold red" if abs(o.z) > 2 * limit else "yellow")
    if len(ranked) > OUTLIERS_SHOWN:
        t.append(f"\n  +{len(ranked) - OUTLIERS_SHOWN} more", style="dim")
    return t


def saturation_text(view: StoreView, width: int = 120) -> Text:
    t = Text()
    lanes = [lane for lane in view.lanes if lane.saturation]
    if lanes:
        features = [row.feature for row in lanes[0].saturation]
        bounds = {row.feature: row.bound for row in lanes[0].saturation}
        by_lane = [{row.feature: row for row in lane.saturation} for lane in lanes]
        feat_w = max(len(f) for f in features)
        t.append("features the agent sees · pegged: recent epochs at the clip bound\n", style="dim")
        t.append(" " * (feat_w + 6))
        for lane in lanes:
            window = lane.saturation[0].window
            t.append("│ ", style="dim")
            t.append(f"{f'{lane.name} (last {window})':<{GROUP_W - 2}}", style="bold")
        t.append(f"\n{'feature':<{feat_w}} {'clip':>4} ", style="bold dim")
        for _ in lanes:
            t.append("│", style="dim")
            t.append(f"{'raw':>7}{'norm':>6}{'pegged':>7} ", style="bold dim")
        for feature in features:
            t.append(f"\n{feature:<{feat_w}} {bounds[feature]:>4} ")
            for rows in by_lane:
                t.append_text(_cell(rows.get(feature)))
        for lane in lanes:
            for row in lane.saturation:
                if row.warning:
                    t.append("\n")
                    t.append(" WARNING ", style="bold white on red")
                    t.append(" " + wrap(f"{lane.name}: {row.warning}", width - 10, " " * 10),
                             style="bold red")  # fmt: skip
        t.append("\n")
    for lane in view.lanes:
        if not lane.saturation:
            t.append(f"{lane.name}: no seed features yet\n", style="dim")
    if not view.lanes:
        t.append("no lanes yet\n", style="dim")
    plan = {li.name for li in (view.run.lanes if view.run else ()) if li.model_format == "plan"}
    for lane in view.lanes:
        t.append_text(_outliers(lane, lane.name in plan))
        t.append("\n")
    t.rstrip()
    return t


class SaturationPanel(ViewPanel):
    """Per feature and lane: raw, normalised, clip bound and pegged share (window in the
    header), warnings in full; per IQL lane: inputs far outside its training distribution."""

    DEFAULT_CSS = """
    SaturationPanel { height: auto; text-wrap: nowrap; text-overflow: ellipsis; }
    """

    can_focus = True  # a tab stop: the app moves between panels with tab

    def text_of(self, view: StoreView, width: int) -> Text:
        return saturation_text(view, width)
