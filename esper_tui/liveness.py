"""Is the followed run still alive? The verdict the header shows in follow mode.

- **LIVE**: a record came recently, or the run is paused and its writer still holds the record.
- **SLOW**: no new record for ``SLOW_FACTOR`` × the run's expected gap between records.
- **STALE**: none for ``STALE_FACTOR`` × that gap.
- **WRITER GONE**: the record has no ending event and no process holds its writer lock (the
  ``flock`` that ``esper_tui.record_writer.RecordFile`` holds while it writes): the writer was
  killed, or crashed without a word. A heartbeat would take minutes to notice; the lock says it
  as soon as the kernel releases it.

The time since the newest record is the file's modification time against the wall clock, not
the records' own clock (which leaves out the time between epochs and drifts behind). The
expected gap is the median wall time of the run's epochs; a run whose records arrive in bursts
(parallel workers hand back whole episodes) has a longer gap, learnt from the writes seen while
following, so that it is not called stale between two episodes.
"""

from __future__ import annotations

import os
import statistics
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from esper_tui.record_writer import lock_holder
from widgets.model import RunStatus, StoreView

SLOW_FACTOR = 2.0
STALE_FACTOR = 10.0
MIN_GAP_S = 1.0  # a tiny preset's epochs take 0.1 s; a second without a line is not yet slow
LOCK_EVERY_S = 1.0  # /proc/locks is read at most this often
# a writer closes its record just after its ending line: give the reader a moment to read it
GONE_AFTER_S = 1.0
GAPS_KEPT = 20
ENDED = (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.CRASHED)


class Liveness(StrEnum):
    LIVE = "LIVE"
    SLOW = "SLOW"
    STALE = "STALE"
    WRITER_GONE = "WRITER GONE"


@dataclass(frozen=True)
class LivenessState:
    """The verdict and what it rests on (the header shows the verdict, the writer's pid and,
    when slow or stale, how long it has been quiet)."""

    verdict: Liveness
    quiet_s: float | None = None  # since the newest record was written
    expected_s: float | None = None  # the gap between records the verdict compares against
    writer_pid: int | None = None


def verdict(
    status: RunStatus,
    quiet_s: float | None,
    expected_s: float | None,
    writer_pid: int | None,
) -> Liveness | None:
    """The verdict, or None when there is none to give (a run that ended says how it ended)."""
    if status in ENDED:
        return None
    if writer_pid is None:
        if quiet_s is not None and quiet_s < GONE_AFTER_S:
            return Liveness.LIVE
        return Liveness.WRITER_GONE
    if status is RunStatus.PAUSED or quiet_s is None or expected_s is None:
        return Liveness.LIVE
    if quiet_s >= STALE_FACTOR * expected_s:
        return Liveness.STALE
    if quiet_s >= SLOW_FACTOR * expected_s:
        return Liveness.SLOW
    return Liveness.LIVE


def median_epoch_seconds(view: StoreView) -> float | None:
    """The median wall time of the epochs the view holds (every lane, this episode)."""
    times = [r.wall_seconds for lane in view.lanes for r in lane.epochs if r.wall_seconds > 0]
    return statistics.median(times) if times else None


class LivenessWatch:
    """Watches one followed record file: its modification time and its writer lock. Cheap to
    ask at the dashboard's poll rate (a ``stat``; ``/proc/locks`` at most once a second)."""

    def __init__(
        self,
        path: Path,
        clock: Callable[[], float],
        holder: Callable[[Path], int | None] = lock_holder,
    ) -> None:
        self.path = path
        self._clock = clock
        self._holder = holder
        self._mtime: float | None = None
        self._gaps: deque[float] = deque(maxlen=GAPS_KEPT)
        self._pid: int | None = None
        self._pid_at: float | None = None
        self._median: tuple[int, float | None] = (-1, None)

    def state(self, view: StoreView) -> LivenessState | None:
        """The verdict for ``view`` now; None before the file exists or once the run ended."""
        if view.status in ENDED:
            return None
        try:
            mtime = os.stat(self.path).st_mtime
        except OSError:
            return None
        now = self._clock()
        if self._mtime is not None and mtime > self._mtime:
            self._gaps.append(mtime - self._mtime)
        self._mtime = mtime
        if self._pid_at is None or now - self._pid_at >= LOCK_EVERY_S:
            self._pid, self._pid_at = self._holder(self.path), now
        quiet = max(0.0, now - mtime)
        expected = self.expected_gap(view)
        result = verdict(view.status, quiet, expected, self._pid)
        if result is None:
            return None
        return LivenessState(result, quiet, expected, self._pid)

    def expected_gap(self, view: StoreView) -> float | None:
        """The median epoch time, or the median gap between the writes seen if longer (records
        that come in bursts), never under ``MIN_GAP_S``."""
        if self._median[0] != view.version:
            self._median = (view.version, median_epoch_seconds(view))
        epoch = self._median[1]
        seen = statistics.median(self._gaps) if len(self._gaps) >= 3 else None
        candidates = [g for g in (epoch, seen) if g is not None]
        if not candidates:
            return None
        return max(max(candidates), MIN_GAP_S)


def liveness_note(state: LivenessState) -> str:
    """What the header adds to the verdict: the writer's pid, or how long it has been quiet."""
    if state.verdict is Liveness.WRITER_GONE:
        return "no ending event, and no process holds the record's lock"
    if state.verdict is Liveness.LIVE:
        return "" if state.writer_pid is None else f"writer pid {state.writer_pid}"
    expected = "" if state.expected_s is None else f", one expected every {state.expected_s:.1f} s"
    quiet = 0.0 if state.quiet_s is None else state.quiet_s
    return f"no record for {quiet:.0f} s{expected} · writer pid {state.writer_pid}"
