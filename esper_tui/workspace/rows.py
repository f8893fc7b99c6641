"""What a run's row in the runs list says, as plain ``Text`` (file names, lane names and reasons
come from files: never markup), how it sorts and whether a filter keeps it."""

from __future__ import annotations

import time
from collections.abc import Callable

from rich.text import Text

from training.records.summary import (
    CRASHED,
    FINISHED,
    LIVE,
    STOPPED,
    UNREADABLE,
    WRITER_GONE,
    RunSummary,
)

COLUMNS = (
    ("mark", " "), ("file", "run"), ("status", "status"), ("episodes", "eps"),
    ("paired", "Δ vs heur [95% CI] W/T/L"), ("started", "started"), ("duration", "time"),
    ("mode", "mode"), ("preset", "preset"), ("size", "size"), ("lanes", "lanes"),
)  # fmt: skip
SORTS = (
    ("started", "start"), ("file", "name"), ("status", "status"), ("duration", "time"),
    ("mode", "mode"), ("preset", "preset"), ("episodes", "episodes"), ("paired", "Δ"),
    ("size", "size"),
)  # fmt: skip
STATUS_STYLE = {
    LIVE: "bold green",
    FINISHED: "",
    STOPPED: "yellow",
    CRASHED: "bold red",
    WRITER_GONE: "bold red",
    UNREADABLE: "dim",
}
STATUS_ORDER = {LIVE: 0, WRITER_GONE: 1, CRASHED: 2, STOPPED: 3, FINISHED: 4, UNREADABLE: 5}


def status_text(summary: RunSummary) -> Text:
    label = summary.status
    if summary.status == LIVE and summary.writer_pid is not None:
        label = f"LIVE pid {summary.writer_pid}"
    return Text(label, style=STATUS_STYLE.get(summary.status, ""))


def started_text(summary: RunSummary) -> str:
    if summary.started is None:
        return "—"
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(summary.started))


def duration_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    s = int(max(seconds, 0.0))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    return f"{s // 3600}h{s % 3600 // 60:02d}m"


def size_text(size: int) -> str:
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{size} B"


def lanes_text(summary: RunSummary) -> str:
    """ "heuristic · iql tiny_iql.pt": each lane's policy and, when it has one, its model file."""
    parts = []
    for lane in summary.lanes:
        if lane.model:
            parts.append(f"{lane.policy} {lane.model}")
        elif lane.policy == lane.name:
            parts.append(lane.name)
        else:
            parts.append(f"{lane.policy} {lane.name}")
    return " · ".join(parts)


def paired_text(summary: RunSummary) -> Text:
    """Per IQL lane "+1.20 [-0.4,+2.8] 2/0/1", green or red when the interval excludes zero;
    lane names only when there are several."""
    out = Text()
    many = len(summary.paired) > 1
    for index, p in enumerate(summary.paired):
        if index:
            out.append("; ")
        if many:
            out.append(f"{p.lane} ")
        ci = "" if p.lo is None or p.hi is None else f" [{p.lo:+.1f},{p.hi:+.1f}]"
        style = ""
        if p.lo is not None and p.hi is not None:
            style = "green" if p.lo > 0 else "red" if p.hi < 0 else ""
        out.append(f"{p.delta:+.2f}{ci}", style=style)
        out.append(f" {p.wins}/{p.ties}/{p.losses}")
    return out


def episodes_text(summary: RunSummary) -> str:
    if summary.episodes_planned is None:
        return "—" if summary.status == UNREADABLE else f"{summary.episodes_done}/?"
    return f"{summary.episodes_done}/{summary.episodes_planned}"


def duration_of(summary: RunSummary, clock: Callable[[], float] | None) -> float | None:
    """The summary's duration; while LIVE, up to now when a clock is given."""
    if summary.status == LIVE and clock is not None and summary.started is not None:
        return clock() - summary.started
    return summary.duration_s


def row_cells(summary: RunSummary, relative: str, clock: Callable[[], float] | None) -> list[Text]:
    """Every column but the selection mark."""
    unreadable = summary.status == UNREADABLE
    return [
        Text(relative),
        status_text(summary),
        Text(episodes_text(summary)),
        paired_text(summary),
        Text(started_text(summary)),
        Text(duration_text(duration_of(summary, clock))),
        Text(summary.mode or "—"),
        Text(summary.preset or "—"),
        Text(size_text(summary.size_bytes), justify="right"),
        Text(
            summary.reason if unreadable else lanes_text(summary), style="dim" if unreadable else ""
        ),
    ]


def detail_text(summary: RunSummary, clock: Callable[[], float] | None) -> Text:
    """The highlighted run in full, under the table."""
    out = Text()
    out.append(str(summary.path), style="bold")
    out.append("  ")
    out.append_text(status_text(summary))
    if summary.status == UNREADABLE:
        out.append(f"\nunreadable: {summary.reason}", style="yellow")
        return out
    if summary.reason:
        out.append(f" · {summary.reason}", style="red" if summary.status == CRASHED else "")
    if summary.message and summary.status in (STOPPED, FINISHED):
        out.append(f" · {summary.message}", style="dim")
    if summary.status == WRITER_GONE:
        out.append(" · no ending event and no process holds its lock: the writer died", style="red")
    out.append(
        f"\n{summary.mode or '?'} · {summary.preset or '?'} · {summary.device or '?'} · "
        f"episodes {episodes_text(summary)} · started {started_text(summary)} · "
        f"{duration_text(duration_of(summary, clock))}"
    )
    for lane in summary.lanes:
        out.append(f"\n  {lane.name}", style="bold")
        out.append(f"  {lane.policy}")
        if lane.model:
            out.append(f"  {lane.model}", style="dim")
        for p in summary.paired:
            if p.lane == lane.name:
                ci = (
                    " [CI needs 2+ episodes]"
                    if p.lo is None or p.hi is None
                    else f" [95% CI {p.lo:+.2f}, {p.hi:+.2f}]"
                )
                out.append(
                    f"  Δ vs {summary.reference or 'heuristic'} {p.delta:+.2f}{ci}, "
                    f"W/T/L {p.wins}/{p.ties}/{p.losses} over {p.n} episode(s)"
                )
    return out


def haystack(summary: RunSummary, relative: str) -> str:
    parts = [relative, summary.status, summary.mode or "", summary.preset or "", summary.reason]
    if summary.status == LIVE:
        parts.append("live")
    for lane in summary.lanes:
        parts += [lane.name, lane.policy, lane.model or ""]
    return " ".join(parts).lower()


def matches(summary: RunSummary, query: str, relative: str) -> bool:
    """Every word of ``query`` appears in the run's file, status, mode, preset, lanes or models."""
    words = query.lower().split()
    if not words:
        return True
    text = haystack(summary, relative)
    return all(word in text for word in words)


def sort_value(summary: RunSummary, column: str) -> tuple:
    """A key that orders any two runs by ``column``; runs without a value sort last."""
    missing = (0,)  # with reverse=True (newest first) these go to the end as well
    if column == "started":
        started = summary.started if summary.started is not None else summary.last_write
        return missing if started is None else (1, started)
    if column == "file":
        return (1, str(summary.path))
    if column == "status":
        return (1, STATUS_ORDER.get(summary.status, 9))
    if column == "duration":
        return missing if summary.duration_s is None else (1, summary.duration_s)
    if column == "mode":
        return (1, summary.mode or "")
    if column == "preset":
        return (1, summary.preset or "")
    if column == "episodes":
        return (1, summary.episodes_done)
    if column == "paired":
        return missing if not summary.paired else (1, summary.paired[0].delta)
    if column == "size":
        return (1, summary.size_bytes)
    return missing
