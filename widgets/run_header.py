"""The run header: what is running, where, how fast, and whether it is still alive.

No clock of its own: the dashboard passes a ``SourceState`` with the age of the newest data, so
snapshots stay stable and a stalled trainer shows as stale data rather than as a ticking clock.
Each of the three lines is cut to the width, never wrapped: a wrapped header splits an item.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

from rich.text import Text

from widgets.glyphs import TextPanel, fit, fmt_count, truncate
from widgets.model import LaneView, RunStatus, StoreView

# Each status looks different; FINISHED (a normal end) must never look like CRASHED.
STATUS_STYLES: dict[str, tuple[str, str]] = {
    RunStatus.RUNNING: ("› RUNNING", "bold green"),
    RunStatus.PAUSED: ("PAUSED", "bold black on yellow"),
    RunStatus.FINISHED: ("✓ FINISHED", "bold cyan"),
    RunStatus.CRASHED: ("✗ CRASHED", "bold white on red"),
    RunStatus.STOPPED: ("STOPPED", "bold magenta"),
    RunStatus.WAITING: ("· WAITING", "dim"),
    RunStatus.ENDED: ("■ ENDED", "bold black on yellow"),
    RunStatus.NO_RUN: ("∅ NO RUN", "bold black on yellow"),
}
SOURCE_STYLE = "bold black on cyan"
NARROW = 100
STALE_AFTER_S = 30.0  # a running trainer that wrote nothing for this long is worth a look


@dataclass(frozen=True)
class SourceState:
    """Where the data comes from and how fresh it is, as the dashboard knows it."""

    mode: str = "live"  # "live", "replay" or "follow"
    age: float | None = (
        None  # seconds since the newest data (live: store clock; follow: record time)
    )
    paused: bool = False  # a paused replay
    speed: float | None = None  # replay speed, epoch records per second
    waiting: str = ""  # follow: what it is waiting for
    stopping: bool = False  # the app is stopping the source
    ended: bool = False  # a replay that has read its whole file


def lane_policy_text(lane: LaneView, narrow: bool = False) -> str:
    """``heuristic`` or ``tiny_iql.pt · 37 in · seed``: which brain drives the lane."""
    if lane.kind != "iql":
        return lane.kind
    parts = [PurePath(lane.model_path).name if lane.model_path else "iql (no model path)"]
    if lane.state_dim is not None:
        parts.append(f"{lane.state_dim} in")
    if lane.telemetry_type:
        parts.append(lane.telemetry_type)
    return "/".join(parts[1:]) if narrow else " · ".join(parts)


def _badge(view: StoreView, source: SourceState) -> Text:
    if source.stopping:
        return Text(" ■ STOPPING… ", style="bold white on dark_red")
    if source.mode == "live":
        label, style = STATUS_STYLES.get(view.status, (str(view.status), "bold"))
        return Text(f" {label} ", style=style)
    t = Text()
    if source.mode == "replay":
        speed = f" ×{source.speed:g}/s" if source.speed else ""
        label = (
            " ■ REPLAY ended "
            if source.ended
            else " ❚❚ REPLAY paused "
            if source.paused
            else f" ▶ REPLAY{speed} "
        )
        t.append(label, style=SOURCE_STYLE)
    else:
        t.append(" FOLLOW ", style=SOURCE_STYLE)
    label, style = STATUS_STYLES.get(view.status, (str(view.status), "bold"))
    t.append(" ")
    t.append(f" {label} ", style=style)  # what the record says of the run
    return t


def _lanes_line(view: StoreView, width: int) -> Text:
    """Lanes and their policies; shortened, then cut at an item boundary, to fit."""
    if not view.lanes:
        return Text("no lanes yet", style="dim")
    for narrow in (False, True):
        t = Text()
        for i, lane in enumerate(view.lanes):
            if i:
                t.append(" │ " if narrow else "  │  ", style="dim")
            t.append(lane.name, style="bold")
            t.append(f": {lane_policy_text(lane, narrow)}")
            if lane.advising:
                t.append(" advising", style="italic")
            latest = lane.latest
            if latest is not None:
                rate = fmt_count(latest.samples_per_second)
                t.append(f" {rate}/s" if narrow else f" · {rate} samples/s", style="dim")
        if len(t.plain) <= width:
            return t
    return fit(t, width)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _freshness(view: StoreView, source: SourceState) -> Text:
    t = Text()
    if source.waiting:
        t.append(source.waiting, style="bold yellow")
        return t
    if source.mode == "replay":
        t.append(f"record time {_clock(view.record_seconds)}", style="dim")
        started = _created(view)
        if started is not None:
            at = started + timedelta(seconds=view.record_seconds)
            t.append(f" ({at:%Y-%m-%d %H:%M:%S} UTC)", style="dim")
        return t
    age = source.age
    if age is None:
        t.append("data —", style="dim")
        return t
    stale = view.status is RunStatus.RUNNING and age > STALE_AFTER_S
    # whole seconds: the header then redraws at most once a second between records
    text = "data < 1 s old" if age < 1 else f"data {age:.0f} s old"
    if source.mode == "follow":
        text = f"newest record written {'< 1' if age < 1 else f'{age:.0f}'} s ago (record time)"
    t.append(text, style="bold yellow" if stale else "dim")
    return t


def _created(view: StoreView) -> datetime | None:
    if view.run is None or not view.run.created_at:
        return None
    try:
        return datetime.fromisoformat(view.run.created_at)
    except ValueError:
        return None


def record_time(view: StoreView) -> float | None:
    """Seconds since the Unix epoch at which the newest record was written, by the records'
    own clock (the run's start plus the epochs' wall times); None without a start time."""
    started = _created(view)
    return None if started is None else started.timestamp() + view.record_seconds


def header_text(
    view: StoreView, source: SourceState | float | None = None, width: int = 140
) -> Text:
    """The header's three lines, built from the view alone, each cut to ``width``; below
    ``NARROW`` columns the labels shorten."""
    if not isinstance(source, SourceState):
        source = SourceState(mode=view.source.split(" ")[0], age=source)
    narrow = width < NARROW
    first = _badge(view, source)
    run = view.run
    if run is None:
        first.append(
            f"  {view.ending or 'waiting for the run to start'}",
            style="bold yellow" if view.ending else "dim",
        )
    else:
        episode = "ep" if narrow else "episode"
        first.append(
            f"  {episode} {view.episode}/{run.episodes} · epoch {view.epoch}/{run.epochs}",
            style="bold",
        )
        mode = run.mode
        if run.executing_lane:
            mode += f" (executes {run.executing_lane})"
        first.append(f" · {mode} · {run.preset} · {run.device}")
        if not narrow:
            first.append(f" · run {run.run_id}", style="dim")
    third = _freshness(view, source)
    note = view.source.partition(" · ")[
        2
    ]  # what the store adds to its source, e.g. a failed record
    if note:
        third.append(
            f" · {note}", style="bold yellow" if note.startswith("waiting") else "bold red"
        )
    if view.ending and run is not None:
        third.append(f" · {view.ending}", style="bold yellow")
    agreement = view.agreement
    if agreement is not None and agreement.rate is not None:
        third.append(" · agreement ", style="dim")
        third.append(f"{agreement.rate:.0%}", style="bold")
        episode_rate = agreement.episode_rate
        if episode_rate is not None:
            third.append(f" overall, {episode_rate:.0%} this episode", style="dim")
    if narrow and run is not None:
        third.append(f" · run {run.run_id}", style="dim")
    if view.corrupt_lines > 0:
        n = view.corrupt_lines
        third.append(f" · {n} corrupt line{'s' if n != 1 else ''} skipped", style="bold yellow")
    if view.crash is not None:
        third.append(f" · {truncate(view.crash.message or 'crashed', 80)}", style="bold red")
    return Text("\n").join([fit(first, width), _lanes_line(view, width), fit(third, width)])


class RunHeader(TextPanel):
    """Mode, preset, device, models, progress, throughput, status and data freshness.

    Carries one of the classes ``-running``/``-paused``/``-finished``/``-crashed``/``-stopped``/
    ``-waiting`` so the stylesheet can colour the frame by status.
    """

    DEFAULT_CSS = """
    RunHeader { height: 3; text-wrap: nowrap; }
    """

    _view: StoreView | None = None
    _source: SourceState = SourceState()
    _status = ""

    def update_view(self, view: StoreView, source: SourceState | float | None = None) -> None:
        if not isinstance(source, SourceState):
            source = SourceState(mode=view.source.split(" ")[0], age=source)
        self._view, self._source = view, source
        self.refresh_text()
        status = str(
            view.status.value if isinstance(view.status, RunStatus) else view.status
        ).lower()
        if status != self._status:
            if self._status:
                self.remove_class(f"-{self._status}")
            self.add_class(f"-{status}")
            self._status = status

    def build(self, width: int) -> Text:
        return Text() if self._view is None else header_text(self._view, self._source, width)
