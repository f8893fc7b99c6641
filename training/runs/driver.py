"""The one episode driver: every run (the dashboard's, collect, compare, ablate) goes through it.

A backend (``training.runs.backends``: this process or worker processes; ``training.runs.cluster``:
Ray tasks) runs ``EpisodeTask``s and hands back futures of ``EpisodeOutcome``s. The driver keeps
at most ``backend.capacity`` episodes in flight, buffers the ones that finish early, and sends
each episode's records to the sink, then its ``episode_finished`` event, strictly in episode
order (in this process an episode streams its records as they happen). A serial run and a
parallel one therefore write the same file apart from wall-clock fields: the dashboard replays
and follows both alike.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, wait
from dataclasses import dataclass, field, replace

from training.env.data import ImageTask
from training.env.progress import ProgressSink
from training.records import EpochRecord, RunEvent
from training.records.views import PairedResult
from training.runs.backends import Backend, Closing, InProcessBackend, ProcessBackend
from training.runs.comparison import Sink
from training.runs.config import RunConfig, run_info
from training.runs.episodes import EpisodeOutcome, EpisodeTask
from training.runs.lanes import Lane
from training.runs.scorekeeper import ComparisonResult, ScoreKeeper
from training.util.stopping import is_urgent, stop_reason

__all__ = [
    "Backend",
    "Closing",
    "EpisodeRun",
    "InProcessBackend",
    "ProcessBackend",
    "Progress",
    "run_episodes",
    "run_in_process",
]

log = logging.getLogger(__name__)

# How long stopped workers get to return their partial episodes before they are killed: a
# worker in an episode returns at its next batch boundary (milliseconds); one still starting
# (importing torch, building the image task) has nothing to return. A stop signal is answered
# within two seconds in every phase, so this stays well below that.
STOP_GRACE_SECONDS = 0.8


@dataclass(frozen=True)
class Progress:
    """Where a run stands, sent to the progress callback whenever it changes."""

    total: int
    done: int
    running: int
    queued: int
    failed: int
    paired: tuple[PairedResult, ...] = ()
    epochs_done: int = 0  # lane-epochs, for a smooth bar and ETA
    epochs_total: int = 0


@dataclass
class EpisodeRun:
    result: ComparisonResult
    # per finished episode, in episode order (collect)
    transitions: list = field(default_factory=list)
    outcomes: list[EpisodeOutcome] = field(default_factory=list)


def run_episodes(
    config: RunConfig,
    lanes: Sequence[Lane],
    sink: Sink,
    backend: Backend,
    progress: Callable[[Progress], None] | None = None,
    threads: int | None = 1,
    collect: bool = False,
    stop: threading.Event | None = None,
) -> EpisodeRun:
    """Run every episode on ``backend``; records reach ``sink`` in episode order. ``threads``:
    torch threads per episode (None: leave the process's setting).

    Ctrl+C (KeyboardInterrupt, or SIGTERM while this runs where no handler is installed) stops
    the backend, writes every episode that came back, then a ``stopped`` event, and re-raises
    KeyboardInterrupt. Setting ``stop`` (the CLIs' signal handlers and the dashboard's quit do)
    does the same within a second but returns, with ``result.stopped``, so the caller keeps
    what finished. The backend stays open: its maker closes it.
    """
    names = [lane.name for lane in lanes]
    if not lanes or len(set(names)) != len(names):
        raise ValueError(f"a run needs at least one lane and unique lane names, got {names}")
    if (
        config.mode == "shadow"
        and config.executing_lane is not None
        and config.executing_lane not in names
    ):
        raise ValueError(f"executing lane {config.executing_lane!r} is not one of {names}")
    return _Driver(
        replace(config, run_id=config.run_id or uuid.uuid4().hex[:12]),
        lanes,
        sink,
        backend,
        progress,
        threads,
        collect,
    ).run(stop)


def run_in_process(
    config: RunConfig,
    lanes: Sequence[Lane],
    sink: Sink,
    inbox: queue.Queue | None = None,
    stop: threading.Event | None = None,
    image_task: ImageTask | None = None,
    progress: ProgressSink | None = None,
) -> ComparisonResult:
    """The dashboard's run: the driver on this process's backend, with torch's threads as they
    are, the operator's commands from ``inbox`` applied at the next batch boundary, and a
    training error raised to the caller (the trainer thread shows it as a crash); ``progress``
    hears where each epoch is, batch by batch (the header's live progress)."""
    stop = stop if stop is not None else threading.Event()
    with InProcessBackend(stop, inbox, image_task, True, progress) as backend:
        return run_episodes(config, lanes, sink, backend, threads=None, stop=stop).result


class _Driver:
    """One run: episodes out to the backend, outcomes back, records out in episode order."""

    def __init__(
        self,
        config: RunConfig,
        lanes: Sequence[Lane],
        sink: Sink,
        backend: Backend,
        progress: Callable[[Progress], None] | None,
        threads: int | None,
        collect: bool,
    ) -> None:
        self.config, self.sink, self.backend, self.progress = config, sink, backend, progress
        infos = [lane.info for lane in lanes]
        self.info = run_info(config, infos, config.run_id)
        self.board = ScoreKeeper(config, infos, config.run_id)
        self.out = EpisodeRun(self.board.result)
        tasks = [
            EpisodeTask(self.info, config, tuple(lanes), k, threads, collect)
            for k in range(1, config.episodes + 1)
        ]
        self.queued = tasks[::-1]  # popped from the end: episode 1 first
        self.pending: dict[Future, int] = {}
        self.buffered: dict[int, EpisodeOutcome] = {}
        self.next_episode = 1
        self.returned_epochs = 0
        self.submitting = 0  # an in-process episode runs inside submit()
        training_lanes = 1 if self.info.executing_lane is not None else len(lanes)
        self.epochs_total = config.episodes * config.env.max_epochs * training_lanes
        self.start_epochs = backend.epochs_done()

    def run(self, stop: threading.Event | None) -> EpisodeRun:
        self.sink(self.info)
        self.sink(
            RunEvent(
                run_id=self.config.run_id,
                event="started",
                message=f"{self.config.mode}, {len(self.info.lanes)} lane(s)",
            )
        )
        attach = getattr(self.backend, "attach", None)  # in this process: progress and records live
        if attach is not None:
            attach(self.report if self.progress is not None else None, self.sink)
        with _sigterm_as_interrupt():
            try:
                self.report()
                while self.queued or self.pending:
                    self.fill()
                    if self.collect_returned() or (stop is not None and stop.is_set()):
                        raise KeyboardInterrupt
                    if self.config.until_decided and self.board.result.decided_at is not None:
                        self.end_decided()
                        break
            except KeyboardInterrupt:
                self.board.result.stopped = True
                self.queued.clear()
                _drain(self.backend, self.pending, self.buffered, stop)
                self.write_ready(force=True)
                self.sink(
                    self.board.stopped_event(
                        stop_reason(stop) if stop is not None and stop.is_set() else "by interrupt"
                    )
                )
                if stop is not None and stop.is_set():
                    return self.out
                raise
            finally:
                if attach is not None:
                    attach(None, None)
        self.sink(self.board.finished_event())
        return self.out

    def fill(self) -> None:
        """Submit queued episodes while the backend has room."""
        while self.queued and len(self.pending) < self.backend.capacity:
            task = self.queued.pop()
            self.submitting = 1
            self.pending[self.backend.submit(task)] = task.episode
            self.submitting = 0
            self.report()

    def collect_returned(self) -> bool:
        """Buffer what came back within a tenth of a second (so a stop is seen as soon) and
        write what is in order; True when Ctrl+C reached an episode running in this process."""
        finished, _ = wait(list(self.pending), timeout=0.1, return_when=FIRST_COMPLETED)
        interrupted = False
        for future in finished:
            outcome = _outcome(future, self.pending.pop(future))
            interrupted |= outcome.interrupted
            self.buffered[outcome.episode] = outcome
            self.returned_epochs += sum(isinstance(r, EpochRecord) for r in outcome.records)
        self.write_ready()
        self.report()
        return interrupted

    def write_ready(self, force: bool = False) -> None:
        """Write buffered outcomes in order; ``force`` also skips episodes that never returned."""
        while self.buffered and (self.next_episode in self.buffered or force):
            if self.next_episode not in self.buffered:
                self.next_episode = min(self.buffered)
            _write(self.buffered.pop(self.next_episode), self.board, self.sink, self.out)
            self.next_episode += 1
            result = self.board.result
            if self.config.until_decided and result.decided_at is None and self.board.decided():
                result.decided_at = len(result.episodes)

    def end_decided(self) -> None:
        """The answer is known: queue nothing more, stop the episodes still running (as a stop
        signal does) and write what they give back. An episode that had already finished still
        counts; the sequence only narrows, so the decision stands."""
        self.queued.clear()
        if self.pending:
            _drain(self.backend, self.pending, self.buffered)
        self.write_ready(force=True)
        self.report()

    def report(self) -> None:
        if self.progress is None:
            return
        epochs = max(self.backend.epochs_done() - self.start_epochs, self.returned_epochs)
        result = self.board.result
        self.progress(
            Progress(
                self.config.episodes,
                len(self.out.outcomes) + len(self.buffered),
                len(self.pending) + self.submitting,
                len(self.queued),
                len(result.failed),
                tuple(result.paired),
                min(epochs, self.epochs_total),
                self.epochs_total,
            )
        )


def _write(outcome: EpisodeOutcome, board: ScoreKeeper, sink: Sink, out: EpisodeRun) -> None:
    out.outcomes.append(outcome)
    for record in outcome.records:
        sink(record)
    if outcome.summary is not None:
        sink(board.add(outcome.summary))
        if outcome.transitions is not None:
            out.transitions.append(outcome.transitions)
    elif outcome.error is not None:
        sink(board.fail(outcome.episode, outcome.error))


def _outcome(future: Future, episode: int) -> EpisodeOutcome:
    """The episode's outcome; a worker that died or a task that could not run fails it."""
    try:
        return future.result()
    except BaseException as exc:  # noqa: BLE001 - a lost worker fails only its episode
        text = "".join(traceback.format_exception(exc))
        return EpisodeOutcome(
            episode, error=f"the worker running episode {episode} was lost:\n{text}"
        )


def _drain(
    backend: Backend,
    pending: dict[Future, int],
    buffered: dict[int, EpisodeOutcome],
    stop: threading.Event | None = None,
) -> None:
    """Stop the running episodes and collect what they return within the grace period (cut
    short by a second stop request: ``is_urgent``)."""
    backend.stop()
    for future in pending:
        future.cancel()
    live = [f for f in pending if not f.cancelled()]
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    done, not_done = set(), set(live)
    while not_done and time.monotonic() < deadline and not is_urgent(stop):
        finished, not_done = wait(
            not_done, timeout=min(0.05, max(deadline - time.monotonic(), 0.0))
        )
        done |= finished
    for future in done:
        outcome = _outcome(future, pending[future])
        if outcome.records or outcome.summary is not None:
            buffered[outcome.episode] = outcome
    if not_done:
        log.info(
            "%d episode(s) did not stop within %.1f s; ending their workers",
            len(not_done),
            STOP_GRACE_SECONDS,
        )
        kill = getattr(backend, "kill", None)
        if kill is not None:
            kill()
    pending.clear()


class _sigterm_as_interrupt:
    """While a run is in flight, SIGTERM ends it like Ctrl+C (workers stopped, finished episodes
    kept) when nobody else handles it; an existing handler is left alone."""

    def __enter__(self) -> None:
        self._previous = None
        if threading.current_thread() is threading.main_thread():
            if signal.getsignal(signal.SIGTERM) in (signal.SIG_DFL, None):
                self._previous = signal.signal(signal.SIGTERM, _raise_interrupt)

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGTERM, self._previous)


def _raise_interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt
