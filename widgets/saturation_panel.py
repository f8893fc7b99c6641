"""Normalisation saturation: per normalised seed feature, what the agent saw, its clip bound and
how often recently the raw value sat at that bound; then the IQL inputs that lie far outside the
distribution its checkpoint was trained on.

Features are rows and lanes are column groups, each column as wide as its widest value (numbers
keep the digits that fit, never spill), lane names whole when they fit, else every lane's code.
The window of the pegged share heads the feature column. A feature
pegged at its bound tells the agent nothing (the plan's example: a gradient norm pegged at 1.0
because the 10.0 scale is too low), so a row's warning is printed in full, not hinted at by colour.
"""

from __future__ import annotations

from rich.text import Text
from textual.widget import Widget

from widgets.glyphs import ViewPanel, fmt_num, wrap
from widgets.labels import fmt_column, lane_labels
from widgets.model import OUTLIER_Z, PLAN_RANGE_WIDTHS, LaneView, SaturationRow, StoreView

OUTLIER_TITLE = f"out of training distribution (|z| > {OUTLIER_Z:g})"
PLAN_TITLE = f"plan-format, raw inputs beyond esper-lite's range (> {PLAN_RANGE_WIDTHS:g} width)"
RAW_CAP, NORM_CAP, PEG_W = 7, 6, 4


def _widths(lanes: list[LaneView]) -> tuple[dict[int, str], dict[int, str], int, int]:
    """Every raw and normalised value formatted to one width per column (the widest value's,
    capped; wider values keep fewer digits), keyed by id of their row."""
    rows = [row for lane in lanes for row in lane.saturation]
    raws, raw_w = fmt_column([row.raw for row in rows], RAW_CAP)
    norms, norm_w = fmt_column([row.normalised for row in rows], NORM_CAP, decimals=3)
    return (
        {id(r): v for r, v in zip(rows, raws, strict=True)},
        {id(r): v for r, v in zip(rows, norms, strict=True)},
        max(raw_w, 3),
        max(norm_w, 4),
    )


def _group_w(raw_w: int, norm_w: int) -> int:
    return 1 + raw_w + 1 + norm_w + 1 + PEG_W + 1  # "│" raw norm peg and a space


def table_width(view: StoreView) -> int:
    lanes = [lane for lane in view.lanes if lane.saturation]
    if not lanes:
        return 40
    _, _, raw_w, norm_w = _widths(lanes)
    feat_w = max(len(row.feature) for row in lanes[0].saturation)
    return feat_w + 6 + _group_w(raw_w, norm_w) * len(lanes)


def _cell(row: SaturationRow | None, raw: str, norm: str, raw_w: int, norm_w: int) -> Text:
    t = Text("│", style="dim")
    if row is None:
        t.append(f"{'—':>{raw_w}}{'':>{norm_w + PEG_W + 2}} ", style="dim")
        return t
    t.append(f"{raw:>{raw_w}} {norm:>{norm_w}} ")
    if row.bound == "—":
        t.append(f"{'—':>{PEG_W}}", style="dim")
    else:
        style = "bold white on red" if row.warning else "yellow" if row.pegged_share > 0 else ""
        t.append(f"{row.pegged_share:>{PEG_W}.0%}", style=style)
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
    """The table (as wide as its columns), then warnings and outliers wrapped to ``width``."""
    t = Text()
    lanes = [lane for lane in view.lanes if lane.saturation]
    width = max(width, table_width(view)) if lanes else min(width, 60)
    if lanes:
        raws, norms, raw_w, norm_w = _widths(lanes)
        group_w = _group_w(raw_w, norm_w)
        labels = lane_labels([lane.name for lane in lanes], group_w - 2)
        features = [row.feature for row in lanes[0].saturation]
        bounds = {row.feature: row.bound for row in lanes[0].saturation}
        by_lane = [{row.feature: row for row in lane.saturation} for lane in lanes]
        feat_w = max(len(f) for f in features)
        window = lanes[0].saturation[0].window
        t.append(f"peg: last {window} ep"[: feat_w + 5].ljust(feat_w + 6), style="dim")
        for lane in lanes:
            t.append("│", style="dim")
            t.append(f" {labels[lane.name]}".ljust(group_w - 1), style="bold")
        t.append(f"\n{'feature':<{feat_w}} {'clip':>4} ", style="bold dim")
        for _ in lanes:
            t.append("│", style="dim")
            t.append(f"{'raw':>{raw_w}} {'norm':>{norm_w}} {'peg':>{PEG_W}} ", style="bold dim")
        for feature in features:
            t.append(f"\n{feature:<{feat_w}} {bounds[feature]:>4} ")
            for rows in by_lane:
                row = rows.get(feature)
                key = id(row)
                t.append_text(_cell(row, raws.get(key, ""), norms.get(key, ""), raw_w, norm_w))
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
        # the heuristic reads raw signals: nothing to be out of range of
        if lane.kind in ("iql", "bc"):
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

    def build(self, width: int) -> Text:
        """Wrapped to the width of the panel around it (this text is as wide as its table)."""
        parent = self.parent
        room = (
            parent.content_size.width - 1
            if isinstance(parent, Widget) and parent.content_size.width
            else width
        )
        return Text() if self._view is None else saturation_text(self._view, room)

    def table_width(self, view: StoreView) -> int:
        return table_width(view)
