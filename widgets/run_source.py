"""Where the header's data comes from and how fresh it is: ``SourceState`` (what the dashboard
knows of its source: live, replay or follow, the data's age, the writer's liveness), the badge
that says the source and the run's status, and the freshness item (the data's age, or a
replay's record time, by the records' own clock)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from rich.text import Text

from widgets.model import Progress, RunStatus, StoreView

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
# follow mode: is the writer still there (esper_tui.liveness gives the verdict)
LIVENESS_STYLES: dict[str, tuple[str, str]] = {
    "LIVE": ("● LIVE", "bold black on green"),
    "SLOW": ("◐ SLOW", "bold black on yellow"),
    "STALE": ("○ STALE", "bold white on dark_orange3"),
    "WRITER GONE": ("✗ WRITER GONE", "bold white on red"),
}
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
    progress: Progress | None = None  # live: where the trainer is inside the epoch
    liveness: str = ""  # follow: "LIVE", "SLOW", "STALE" or "WRITER GONE" ("" before a verdict)
    liveness_note: str = ""  # why, e.g. "no record for 41 s, one expected every 2.0 s"
    writer_pid: int | None = None  # follow: the process holding the record's writer lock


def source_badge(view: StoreView, source: SourceState) -> Text:
    """The header's first item: the run's status; a replay or a follow names itself first,
    and a follow then says whether its writer is still there."""
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
    if source.liveness:
        label, style = LIVENESS_STYLES.get(source.liveness, (source.liveness, "bold"))
        t.append(" ")
        t.append(f" {label} ", style=style)  # whether its writer is still there
    return t


def note_style(liveness: str) -> str:
    if liveness == "LIVE":
        return "dim"
    return "bold red" if liveness == "WRITER GONE" else "bold yellow"


def _clock(seconds: float) -> str:
    whole = int(seconds)
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def freshness(view: StoreView, source: SourceState) -> Text:
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
