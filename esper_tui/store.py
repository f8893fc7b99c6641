"""The shared store between the trainer thread (or a replay) and the UI.

One path: every record goes through ``add()``; the UI reads ``view()``. The lock is held only to
append and to copy bounded containers into an immutable view (no deepcopy; records are frozen),
and the view is cached per version, so polling an unchanged store costs almost nothing.
What the store keeps of each lane is ``esper_tui.lane_history``. No Textual here.
"""

from __future__ import annotations

import bisect
import threading
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

from esper_tui.event_log import EventLog
from esper_tui.lane_history import LaneHistory
from esper_tui.record_writer import RecordFile
from training.records import (
    DecisionRecord,
    EpochRecord,
    PairedResult,
    Record,
    RunEvent,
    RunInfo,
    Vitals,
)
from training.records.text import printable, printable_record
from widgets.model import InputOutlier, Progress, RunStatus, StoreView, input_outliers

DECISIONS = 300  # rows of the decision table
EVENTS = 200
LOG_ENTRIES = 2000  # lines of the event log (a few per epoch at most)
VITALS_HISTORY = 300  # distinct vitals samples kept: 10 minutes at one sample every 2 s


class TelemetryStore:
    """Lock-protected, versioned, bounded. Optionally writes every record to a JSONL file."""

    def __init__(
        self,
        record_path: str | Path | None = None,
        source: str = "live",
        clock: Callable[[], float] = time.monotonic,
        writer: RecordFile | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self._clock = clock
        self._writer = (
            writer if writer is not None or record_path is None else RecordFile(record_path)
        )
        self.record_path = None if self._writer is None else self._writer.path
        self.record_error: str | None = (
            None  # the record could not be written; the data is in memory
        )
        self.source = source
        self._generation = 0  # resets so far; the dashboard drops the old run's dialogs on a change
        self._progress: Progress | None = None
        self._reset()

    def _reset(self) -> None:
        self._version = 0
        self._run: RunInfo | None = None
        self._status = RunStatus.WAITING
        self._lanes: dict[str, LaneHistory] = {}
        self._decisions: deque[DecisionRecord] = deque(maxlen=DECISIONS)
        self._events: deque[RunEvent] = deque(maxlen=EVENTS)
        self._log = EventLog(LOG_ENTRIES)
        self._paired: tuple[PairedResult, ...] = ()
        self._episode = 0
        self._epoch = 0
        self._corrupt = 0
        self._last_at: float | None = None
        self._record_seconds = 0.0
        self._crash: RunEvent | None = None
        self._finished: RunEvent | None = None
        self._ending = ""  # a recording read to its end that does not say how it ended
        self._end_status: RunStatus | None = None  # what that makes the status: ENDED or NO_RUN
        self._view: StoreView | None = None
        self._vitals: Vitals | None = None
        self._vitals_history: list[Vitals] = []  # sorted by time; workers' samples interleave

    # ------------------------------------------------------------------ producer side
    def add(self, record: Record) -> None:
        """The sink: called from the trainer thread or the replay for every record. The file gets
        the record as it is; what the screen gets has every string made printable (lane names
        from model files or a record, paths, tracebacks). The decoder keeps text exactly as
        written (a record read back equals the one written), so this is the one place a record
        is made safe to show."""
        shown = printable_record(record)
        with self._lock:
            if self._writer is not None and not self._writer.write(record):
                self._record_failed()
            if isinstance(shown, EpochRecord):
                self._add_epoch(shown)
            elif isinstance(shown, RunInfo):
                self._add_run(shown)
            elif isinstance(shown, RunEvent):
                self._add_event(shown)
            # more came: whatever the end said, the record goes on
            self._ending, self._end_status = (
                "",
                None,
            )
            self._last_at = self._clock()
            self._version += 1
        if isinstance(record, RunEvent) and record.event in (
            "episode_finished",
            "finished",
            "stopped",
            "crashed",
        ):
            self.flush()

    def end_of_record(self, name: str, lines: int, writer: int | None = None) -> None:
        """The reader reached the end of the file ``name`` (``lines`` read so far; ``writer``:
        the pid still holding its record lock). A record that ends without saying how, or that
        holds no run, says so in one sentence (``StoreView.ending``); a record that ends with its
        finished, stopped or crashed event needs nothing more. More records clear it."""
        with self._lock:
            status: RunStatus | None = RunStatus.NO_RUN if writer is None else None
            if self._run is None:
                if lines == 0:
                    ending = f"{name} holds no run: it is empty"
                else:
                    unreadable = f", {self._corrupt} of them unreadable" if self._corrupt else ""
                    ending = (
                        f"{name} holds no run: none of its {lines} line(s) starts one{unreadable}"
                    )
                if writer is not None:
                    ending += f" (process {writer} is writing it)"
            elif self._status in (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.CRASHED):
                ending, status = "", None
            elif writer is not None:
                ending = f"the record ends here for now: process {writer} is still writing it (--follow reads on)"
            else:
                ending, status = (
                    "record ended without finishing (the writer stopped or was killed)",
                    RunStatus.ENDED,
                )
            ending = printable(ending)
            if (ending, status) != (self._ending, self._end_status):
                self._ending, self._end_status = ending, status
                self._version += 1

    def record_goes_on(self) -> None:
        """A followed record that seemed to have ended grew again: forget what its end said."""
        with self._lock:
            if self._ending:
                self._ending, self._end_status = "", None
                self._version += 1

    def note_corrupt(self, count: int = 1, line: int | None = None, reason: str = "") -> None:
        """Record lines skipped as unreadable: counted, and each logged with its line number."""
        with self._lock:
            self._corrupt += count
            for _ in range(min(count, 50)):
                self._log.add_unreadable(line, reason)
            self._version += 1

    # ------------------------------------------------------------------ live progress
    def set_progress(self, progress: Progress | None) -> None:
        """Where the trainer is inside the epoch (called per batch). One reference swapped, no
        lock and no new version: the header reads it at each tick, nothing else redraws."""
        self._progress = progress

    @property
    def progress(self) -> Progress | None:
        return self._progress

    def flush(self) -> None:
        with self._lock:
            if self._writer is not None and not self._writer.flush(durable=True):
                self._record_failed()

    def close(self) -> None:
        with self._lock:
            if self._writer is not None:
                self._writer.close()
                if self._writer.failed:
                    self._record_failed()

    def reset(self, source: str | None = None) -> None:
        """Forget everything shown so far (``--follow`` of a file truncated or rotated)."""
        with self._lock:
            version = self._version
            self._reset()
            self._version = version + 1
            self._generation += 1
            if source is not None:
                self.source = printable(source)
                self._log.add_note("run", self.source.partition(" · ")[2] or self.source, "warn")

    def set_source(self, source: str) -> None:
        """Where the records come from, as the header shows it (e.g. "follow · waiting for FILE")."""
        with self._lock:
            self.source = printable(source)
            self._version += 1

    def rescue_record(self) -> Path | None:
        """After a failed record: every line of this run, written to a new file elsewhere."""
        return None if self._writer is None else self._writer.rescue()

    def _record_failed(self) -> None:
        if self.record_error is not None or self._writer is None or self._writer.error is None:
            return
        self.record_error = self._writer.error
        run_id = self._run.run_id if self._run is not None else ""
        event = RunEvent(
            run_id=run_id,
            event="record_failed",
            message=printable(
                f"{self.record_error}; training goes on and the run is kept in memory"
            ),
        )
        self._events.append(event)
        self._log.add_event(event)
        self.source = f"{self.source} · RECORD NOT SAVED"
        self._version += 1

    def _lane(self, name: str) -> LaneHistory:
        lane = self._lanes.get(name)
        if lane is None:
            lane = self._lanes[name] = LaneHistory(name)
        return lane

    def _add_run(self, info: RunInfo) -> None:
        self._run = info
        self._status = RunStatus.RUNNING
        for li in info.lanes:
            lane = self._lane(li.name)
            lane.kind, lane.model_path = li.policy_kind, li.model_path
            lane.state_dim, lane.telemetry_type, lane.feature_names = (
                li.state_dim,
                li.telemetry_type,
                li.feature_names,
            )

    def _add_epoch(self, record: EpochRecord) -> None:
        lane = self._lane(record.lane)
        self._record_seconds += record.wall_seconds
        if record.vitals is not None:
            self._add_vitals(record.vitals)
        lane.add_epoch(record)
        self._log.add_epoch(record)
        decision = record.decision
        if decision is not None:
            self._decisions.append(decision)
            self._decisions.extend(decision.shadow)
            lane.count_agreement(decision)
            for shadow in decision.shadow:
                advisor = self._lane(shadow.lane)
                advisor.outliers = self._outliers(shadow)
                advisor.count_agreement(shadow)
                advisor.choices.append(shadow)
            lane.outliers = self._outliers(decision)
        self._episode, self._epoch = record.episode, record.epoch
        if self._status is RunStatus.WAITING:
            self._status = RunStatus.RUNNING

    def _add_vitals(self, vitals: Vitals) -> None:
        """The newest epoch's vitals, and the history of distinct samples in time order (an
        epoch shorter than the sampling interval repeats its predecessor's sample)."""
        self._vitals = vitals
        history = self._vitals_history
        if history and history[-1] == vitals:
            return
        key = vitals.t if vitals.t is not None else float("inf")
        at = bisect.bisect_right(
            history, key, key=lambda v: v.t if v.t is not None else float("inf")
        )
        if at > 0 and history[at - 1] == vitals:
            return
        history.insert(at, vitals)
        if len(history) > VITALS_HISTORY:
            del history[0]

    def _outliers(self, decision: DecisionRecord) -> tuple[InputOutlier, ...]:
        return input_outliers(decision, self._lane(decision.lane).feature_names)

    def _add_event(self, event: RunEvent) -> None:
        self._events.append(event)
        self._log.add_event(event)
        kind = event.event
        if kind == "paused":
            self._status = RunStatus.PAUSED
        elif kind in ("resumed", "started"):
            self._status = RunStatus.RUNNING
        elif kind == "finished":
            self._status, self._finished = RunStatus.FINISHED, event
            self._paired = self._paired_from(event) or self._paired
        elif kind == "stopped":
            self._status = RunStatus.STOPPED
        elif kind == "crashed":
            self._status, self._crash = RunStatus.CRASHED, event
        elif kind == "episode_finished":
            self._paired = self._paired_from(event)
            for name, acc in (event.data.get("final_accuracy") or {}).items():
                self._lane(name).add_final(float(acc), event.episode)
        elif kind == "command_applied" and event.lane is not None and event.slot is not None:
            command = event.data.get("type", "")
            label = {"pause_seed": "paused", "resume_seed": "resumed", "cull": "culled"}.get(
                command
            )
            if label is not None:
                self._lane(event.lane).pending[event.slot] = label

    @staticmethod
    def _paired_from(event: RunEvent) -> tuple[PairedResult, ...]:
        return tuple(PairedResult.from_dict(p) for p in event.data.get("paired") or ())

    # ------------------------------------------------------------------ consumer side
    @property
    def version(self) -> int:
        return self._version

    def view(self) -> StoreView:
        """An immutable picture of the store, rebuilt only when something new arrived."""
        with self._lock:
            if self._view is not None and self._view.version == self._version:
                return self._view
            lanes = tuple(lane.view(self._advising(lane.name)) for lane in self._ordered_lanes())
            self._view = StoreView(
                version=self._version,
                run=self._run,
                status=self._shown_status(),
                lanes=lanes,
                decisions=tuple(self._decisions),
                events=tuple(self._events),
                paired=self._paired,
                episode=self._episode,
                epoch=self._epoch,
                corrupt_lines=self._corrupt,
                last_record_at=self._last_at,
                crash=self._crash,
                finished=self._finished,
                source=self.source,
                record_seconds=self._record_seconds,
                generation=self._generation,
                vitals=self._vitals,
                vitals_history=tuple(self._vitals_history),
                log=self._log.entries(),
                ending=self._ending,
            )
            return self._view

    def _shown_status(self) -> RunStatus:
        """What the records say, unless the recording ended without saying it: then ENDED (a run
        that never finished) or NO_RUN (no run line at all)."""
        return self._status if self._end_status is None else self._end_status

    def _advising(self, name: str) -> bool:
        """Shadow mode: every lane but the executing one only advises."""
        run = self._run
        return run is not None and run.executing_lane is not None and name != run.executing_lane

    def _ordered_lanes(self) -> list[LaneHistory]:
        if self._run is None:
            return list(self._lanes.values())
        order = [li.name for li in self._run.lanes]
        known = [self._lanes[n] for n in order if n in self._lanes]
        return known + [lane for name, lane in self._lanes.items() if name not in order]

    def now(self) -> float:
        return self._clock()
