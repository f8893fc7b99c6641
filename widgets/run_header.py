"""The run header: what is running, where, how fast, and whether it is still alive.

No clock of its own: the app passes the age of the newest record, so snapshots (age None) stay
stable and a stalled trainer shows as stale data rather than as a ticking clock.
"""

from __future__ import annotations

from pathlib import PurePath

from rich.text import Text

from training.records import LaneView, StoreView
from widgets.glyphs import TextPanel, fmt_count, truncate

# Each status looks different; FINISHED (a normal end) must never look like CRASHED.
STATUS_STYLES: dict[str, tuple[str, str]] = {
    "RUNNING": ("› RUNNING", "bold green"),
    "PAUSED": ("PAUSED", "bold black on yellow"),
    "FINISHED": ("✓ FINISHED", "bold cyan"),
    "CRASHED": ("✗ CRASHED", "bold white on red"),
    "STOPPED": ("STOPPED", "bold magenta"),
    "WAITING": ("· WAITING", "dim"),
}
NARROW = 100
STALE_AFTER_S = 30.0  # a running trainer that wrote nothing for this long is worth a look


def lane_policy_text(lane: LaneView) -> str:
    """``heuristic`` or ``tiny_iql.pt · 37 in · seed``: which brain drives the lane."""
    if lane.kind != "iql":
        return lane.kind
    parts = [PurePath(lane.model_path).name if lane.model_path else "iql (no model path)"]
    if lane.state_dim is not None:
        parts.append(f"{lane.state_dim} in")
    if lane.telemetry_type:
        parts.append(lane.telemetry_type)
    return " · ".join(parts)


def header_text(view: StoreView, age: float | None, width: int = 140) -> Text:
    """The header's three lines, built from the view alone; below ``NARROW`` columns the labels
    shorten so each line still fits an 80-column terminal."""
    narrow = width < NARROW
    t = Text()
    label, style = STATUS_STYLES.get(view.status, (view.status, "bold"))
    t.append(f" {label} ", style=style)
    run = view.run
    if run is None:
        t.append("  waiting for the run to start", style="dim")
    else:
        episode = "ep" if narrow else "episode"
        t.append(f"  {episode} {view.episode}/{run.episodes} · epoch {view.epoch}/{run.epochs}",
                 style="bold")  # fmt: skip
        mode = run.mode
        if run.executing_lane:
            mode += f" (executes {run.executing_lane})"
        if narrow:  # the run id moves to the third line
            t.append(f" · {mode} · {run.preset} · {run.device}")
        else:
            t.append(f" · {mode} · preset {run.preset} · {run.device} · run {run.run_id}")
    t.append("\n")
    for i, lane in enumerate(view.lanes):
        if i:
            t.append(" │ " if narrow else "  │  ", style="dim")
        t.append(lane.name, style="bold")
        policy = lane_policy_text(lane)
        if narrow and lane.kind == "iql":
            policy = policy.replace(" in · ", "/").replace(" · ", " ")
        t.append(f": {policy}")
        latest = lane.latest
        rate = "—" if latest is None else fmt_count(latest.samples_per_second)
        t.append(f" {rate}/s" if narrow else f" · {rate} samples/s", style="dim")
    if not view.lanes:
        t.append("no lanes yet", style="dim")
    t.append("\n")
    if age is None:
        t.append("data —", style="dim")
    else:
        stale = view.status == "RUNNING" and age > STALE_AFTER_S
        # whole seconds: the header then redraws at most once a second between records
        t.append("data < 1 s old" if age < 1 else f"data {age:.0f} s old", style="bold yellow" if stale else "dim")
    if narrow and view.run is not None:
        t.append(f" · run {view.run.run_id}", style="dim")
    if view.source != "live":
        t.append(f" · {view.source}", style="bold")
    if view.corrupt_lines > 0:
        n = view.corrupt_lines
        t.append(f" · {n} corrupt line{'s' if n != 1 else ''} skipped", style="bold yellow")
    if view.crash is not None:
        t.append(f" · {truncate(view.crash.message or 'crashed', 80)}", style="bold red")
    return t


class RunHeader(TextPanel):
    """Mode, preset, device, models, progress, throughput, status and data freshness.

    Carries one of the classes ``-running``/``-paused``/``-finished``/``-crashed``/``-stopped``/
    ``-waiting`` so the stylesheet can colour the frame by status.
    """

    DEFAULT_CSS = """
    RunHeader { height: auto; }
    """

    _view: StoreView | None = None
    _age: float | None = None
    _status = ""

    def update_view(self, view: StoreView, age: float | None) -> None:
        self._view, self._age = view, age
        self.refresh_text()
        status = view.status.lower()
        if status != self._status:
            if self._status:
                self.remove_class(f"-{self._status}")
            self.add_class(f"-{status}")
            self._status = status

    def build(self, width: int) -> Text:
        return Text() if self._view is None else header_text(self._view, self._age, width)
