"""The run header: what is running, where, how fast, whether it is still alive, and (when the
records carry them) the trainer's vitals on a fourth line.

No clock of its own: the dashboard passes a ``SourceState`` with the age of the newest data, so
snapshots stay stable and a stalled trainer shows as stale data rather than as a ticking clock.
Each of the three lines is cut to the width, never wrapped: a wrapped header splits an item.
The source's badge and the data's freshness are ``widgets.run_source``.
"""

from __future__ import annotations

from pathlib import PurePath

from rich.cells import cell_len
from rich.text import Text

from widgets.glyphs import TextPanel, bar, fit, fmt_count, truncate
from widgets.labels import lane_codes, lane_labels
from widgets.model import LaneView, RunStatus, StoreView
from widgets.run_source import SourceState, freshness, note_style, source_badge
from widgets.vitals_text import vitals_line

NARROW = 100
RATE_WINDOW = 5  # epochs the samples/s and the time per epoch are taken over
RATE_NOTE = f"  (samples/s over the last {RATE_WINDOW} epochs)"
PHASE_WORDS = {
    "loading": "loading the data",
    "training": "training",
    "validating": "validating",
    "deciding": "deciding",
}
BAR_W = 12


def lane_policy_text(lane: LaneView, narrow: bool = False) -> str:
    """``heuristic`` or ``tiny_iql.pt · 37 in · seed``: which brain drives the lane."""
    if lane.kind not in ("iql", "bc"):
        return lane.kind
    parts = [PurePath(lane.model_path).name if lane.model_path else f"{lane.kind} (no model path)"]
    if lane.state_dim is not None:
        parts.append(f"{lane.state_dim} in")
    if lane.telemetry_type:
        parts.append(lane.telemetry_type)
    if lane.kind == "bc":
        parts.append("BC")
    return "/".join(p.replace(" in", "") for p in parts[1:]) if narrow else " · ".join(parts)


def window_rate(lane: LaneView, window: int = RATE_WINDOW) -> float | None:
    """Samples per second over the lane's last ``window`` epochs: the harmonic mean, which is the
    true rate over equal-sized epochs (an arithmetic mean of rates would overweight a fast one)."""
    rates = [r.samples_per_second for r in lane.epochs[-window:] if r.samples_per_second > 0]
    if not rates:
        return None
    return len(rates) / sum(1.0 / r for r in rates)


def epoch_seconds(view: StoreView, window: int = RATE_WINDOW) -> float | None:
    """Wall time of one epoch of every training lane together (the lanes train in turn): the sum
    of each lane's median over its last ``window`` epochs."""
    total, any_lane = 0.0, False
    for lane in view.lanes:
        times = sorted(r.wall_seconds for r in lane.epochs[-window:] if r.wall_seconds > 0)
        if times:
            total += times[len(times) // 2]
            any_lane = True
    return total if any_lane else None


def _lanes_line(view: StoreView, width: int) -> Text:
    """Each lane's code (the short name narrow panels use), name, policy and samples/s over the
    last epochs; shortened, then cut at an item boundary, to fit."""
    if not view.lanes:
        return Text("no lanes yet", style="dim")
    codes = lane_codes([lane.name for lane in view.lanes])
    for narrow in (False, True, None):  # None: the narrowest, without the policy details
        t = Text()
        for i, lane in enumerate(view.lanes):
            if i:
                t.append(" │ " if narrow else "  │  ", style="dim")
            t.append(f"{codes[lane.name]}", style="bold reverse")
            t.append(" ")
            t.append(lane.name, style="bold")
            policy = lane_policy_text(lane, bool(narrow))
            if policy != lane.name and narrow is not None:
                t.append(f" {policy}" if narrow else f": {policy}")
            if lane.advising:
                t.append(" advising", style="italic")
            rate = window_rate(lane)
            if rate is not None:
                t.append(
                    f" · {fmt_count(rate)} samples/s"
                    if narrow is False
                    else f" {fmt_count(rate)}/s",
                    style="dim",
                )
        if narrow is False and len(t.plain) + len(RATE_NOTE) <= width:
            t.append(RATE_NOTE, style="dim")
        if len(t.plain) <= width:
            return t
    return fit(t, width)


def _fitting(items: list[tuple[Text, int]], width: int, sep: str = " · ") -> Text:
    """Join the items that fit in ``width``, keeping the most important (lowest rank) first
    and the rest in their order: an item is dropped whole, never cut in a word."""
    keep: set[int] = set()
    used = 0
    for index, (item, _rank) in sorted(enumerate(items), key=lambda pair: pair[1][1]):
        need = cell_len(item.plain) + (len(sep) if keep else 0)
        if used + need <= width:
            keep.add(index)
            used += need
    t = Text()
    for index, (item, _rank) in enumerate(items):
        if index in keep:
            if t:
                t.append(sep, style="dim")
            t.append_text(item)
    return fit(t, width)


def _progress_text(view: StoreView, source: SourceState, narrow: bool) -> Text:
    """Live: the phase inside the epoch, and while training, batch k of n with a bar."""
    p = source.progress
    t = Text()
    if (
        p is None
        or source.mode != "live"
        or view.status not in (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)
    ):
        return t
    if view.status is RunStatus.PAUSED:
        t.append("paused in ", style="dim")
    t.append(PHASE_WORDS.get(p.phase, p.phase), style="bold")
    if p.lane:
        t.append(f" {p.lane}")
    if p.phase == "training" and p.batches > 0:
        t.append(" ")
        t.append(bar(p.batch / p.batches, BAR_W if not narrow else 6), style="cyan")
        t.append(f" {p.batch}/{p.batches}" + ("" if narrow else " batches"))
    return t


def _position(view: StoreView, source: SourceState, narrow: bool) -> Text:
    """Episode and epoch: the one in progress while live, else the newest recorded; before the
    first epoch, episode 1 (never 0)."""
    run = view.run
    assert run is not None
    episode, epoch = view.episode, view.epoch
    p = source.progress
    live = (
        p is not None
        and source.mode == "live"
        and view.status in (RunStatus.RUNNING, RunStatus.WAITING, RunStatus.PAUSED)
    )
    if live and p is not None and (p.episode, p.epoch) > (episode, epoch) and p.epoch > 0:
        episode, epoch = p.episode, p.epoch
    episode = max(episode, 1)
    label = "ep" if narrow else "episode"
    return Text(f"{label} {episode}/{run.episodes} · epoch {epoch}/{run.epochs}", style="bold")


def _agreement(view: StoreView, width: int) -> Text:
    """Each lane's agreement with its reference, named (the pooled rate said nobody's)."""
    lanes = [lane for lane in view.lanes if lane.agreement.rate is not None]
    if not lanes:
        return Text()
    shadow = view.run is not None and view.run.executing_lane is not None
    reference = view.run.executing_lane if shadow and view.run is not None else "heuristic"
    labels = lane_labels([lane.name for lane in lanes], 14 if width >= NARROW else 2)
    t = Text(f"agreement with {reference}: ", style="dim")
    for i, lane in enumerate(lanes):
        if i:
            t.append(", ", style="dim")
        rate, episode = lane.agreement.rate, lane.agreement.episode_rate
        t.append(f"{labels[lane.name]} ")
        t.append(f"{rate:.0%}", style="bold")
        if episode is not None:
            t.append(f" ({episode:.0%} this ep)", style="dim")
    return t


def header_text(
    view: StoreView, source: SourceState | float | None = None, width: int = 140
) -> Text:
    """The header's three lines (four when the records carry the trainer's vitals), built from
    the view alone, each fitted to ``width`` (items dropped whole by importance, never cut in a
    word); below ``NARROW`` labels shorten."""
    if not isinstance(source, SourceState):
        source = SourceState(mode=view.source.split(" ")[0], age=source)
    narrow = width < NARROW
    first: list[tuple[Text, int]] = [(source_badge(view, source), 0)]
    run = view.run
    third: list[tuple[Text, int]] = []
    if run is None:
        waiting = Text(
            view.ending or "waiting for the run to start",
            style="bold yellow" if view.ending else "dim",
        )
        first.append((waiting, 1))
        progress = _progress_text(view, source, narrow)
        if progress:
            first.append((progress, 2))
    else:
        first.append((_position(view, source, narrow), 1))
        progress = _progress_text(view, source, narrow)
        if progress:
            first.append((progress, 2))
        seconds = epoch_seconds(view)
        if seconds is not None:
            first.append(
                (
                    Text(
                        f"{seconds:.1f} s per epoch"
                        + ("" if len(view.lanes) < 2 else " (all lanes)"),
                        style="dim",
                    ),
                    3,
                )
            )
        mode = run.mode
        if run.executing_lane:
            mode += f" (executes {run.executing_lane})"
        third.append((Text(f"{mode} · {run.preset} · {run.device}"), 4))
    third.insert(0, (freshness(view, source), 0))
    if source.liveness_note:
        third.insert(1, (Text(source.liveness_note, style=note_style(source.liveness)), 0))
    note = view.source.partition(" · ")[
        2
    ]  # what the store adds to its source, e.g. a failed record
    if note:
        third.append(
            (Text(note, style="bold yellow" if note.startswith("waiting") else "bold red"), 0)
        )
    if view.ending and run is not None:
        third.append((Text(view.ending, style="bold yellow"), 0))
    if view.corrupt_lines > 0:
        n = view.corrupt_lines
        third.append(
            (
                Text(
                    f"{n} corrupt line{'s' if n != 1 else ''} skipped (e: which)",
                    style="bold yellow",
                ),
                0,
            )
        )
    if view.crash is not None:
        third.append((Text(truncate(view.crash.message or "crashed", 80), style="bold red"), 1))
    agreement = _agreement(view, width)
    if agreement:
        third.append((agreement, 2))
    if run is not None:
        third.append((Text(f"run {run.run_id}", style="dim"), 5))
    lines = [_fitting(first, width, "  "), _lanes_line(view, width), _fitting(third, width)]
    if view.vitals is not None:
        lines.append(vitals_line(view.vitals, width))
    return Text("\n").join(lines)


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
        lines = 3 if view.vitals is None else 4  # every line is fitted to the width: never wraps
        if self.styles.height is None or self.styles.height.value != lines:
            self.styles.height = lines
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
