"""Episodes side by side: in this process, in worker processes, or (``training.cluster``) as
Ray tasks, with one driver that writes every record in episode order.

A backend runs ``EpisodeTask``s and hands back futures of ``EpisodeOutcome``s. The driver keeps
at most ``backend.capacity`` episodes in flight, buffers the ones that finish early, and sends
each episode's records to the sink, then its ``episode_finished`` event, strictly in episode
order. A serial run and a parallel one therefore write the same file apart from wall-clock
fields: the dashboard replays and follows both alike.
"""

from __future__ import annotations

import logging
import multiprocessing
import signal
import threading
import traceback
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from typing import Protocol

from training.comparison import ComparisonResult, RunConfig, Scoreboard, Sink, run_info
from training.data import DataConfig
from training.episodes import EpisodeOutcome, EpisodeTask, LaneSpec, cached_task, run_episode
from training.records import EpochRecord, LaneInfo, RunEvent
from training.records.views import PairedResult

log = logging.getLogger(__name__)

# How long stopped workers get to return their partial episodes before they are killed.
STOP_GRACE_SECONDS = 30.0


class Backend(Protocol):
    """Whoever makes a backend closes it (they are context managers); the driver only stops it."""

    capacity: int  # episodes in flight at once

    def submit(self, task: EpisodeTask) -> Future[EpisodeOutcome]: ...

    def epochs_done(self) -> int:
        """Lane-epochs finished so far, running episodes included where the backend can see
        them (0 where it cannot: the driver then counts finished episodes)."""

    def stop(self) -> None:
        """Ask running episodes to end at their next batch boundary."""

    def close(self) -> None: ...


class Closing:
    """``with backend:`` closes it, also on Ctrl+C."""

    def __enter__(self):
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release."""


class InProcessBackend(Closing):
    """One episode at a time in this process (``--workers 1``). ``watch`` gets a call after
    every lane-epoch, since the driver itself waits while an episode runs here."""

    capacity = 1

    def __init__(self, stop_event: threading.Event | None = None) -> None:
        self._stop = stop_event if stop_event is not None else threading.Event()
        self._epochs = 0
        self._watch: Callable[[], None] | None = None

    def watch(self, callback: Callable[[], None] | None) -> None:
        self._watch = callback

    def _on_epoch(self) -> None:
        self._epochs += 1
        if self._watch is not None:
            self._watch()

    def epochs_done(self) -> int:
        return self._epochs

    def submit(self, task: EpisodeTask) -> Future[EpisodeOutcome]:
        future: Future[EpisodeOutcome] = Future()
        future.set_result(run_episode(task, self._stop, self._on_epoch))
        return future

    def stop(self) -> None:
        self._stop.set()


_worker_stop: threading.Event | None = None  # per worker process, set by _init_worker
_worker_epochs = None  # a shared counter of lane-epochs, per worker process


def _count_epoch() -> None:
    with _worker_epochs.get_lock():
        _worker_epochs.value += 1


def _init_worker(stop, threads: int, data: DataConfig | None, started, epochs) -> None:
    """Workers leave Ctrl+C to the parent (which stops them through ``stop`` at a batch
    boundary) and treat SIGTERM the same way. ``data``: the image task to build up front. On a
    machine with several GPUs, worker k makes GPU k mod n its ``cuda``."""
    global _worker_stop, _worker_epochs
    _worker_stop, _worker_epochs = stop, epochs
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    import torch

    torch.set_num_threads(threads)
    with started.get_lock():
        index = started.value
        started.value += 1
    if torch.cuda.is_available() and torch.cuda.device_count() > 1:
        torch.cuda.set_device(index % torch.cuda.device_count())
    if data is not None:
        cached_task(data)


def _run_in_worker(task: EpisodeTask) -> EpisodeOutcome:
    return run_episode(task, _worker_stop, _count_epoch)


class ProcessBackend(Closing):
    """``workers`` spawned processes (torch is not fork-safe). A worker that dies outright fails
    the episodes it was running; the pool is rebuilt for the rest. ``data``: each worker builds
    that image task as it starts (otherwise in its first episode)."""

    def __init__(self, workers: int, threads: int = 1, data: DataConfig | None = None) -> None:
        if workers < 1:
            raise ValueError(f"workers must be at least 1, got {workers}")
        self.capacity = workers
        self._threads = threads
        self._data = data
        self._context = multiprocessing.get_context("spawn")
        self._stop = self._context.Event()
        self._started = self._context.Value("i", 0)
        self._epochs = self._context.Value("q", 0)
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.capacity, mp_context=self._context, initializer=_init_worker,
                                   initargs=(self._stop, self._threads, self._data, self._started, self._epochs))  # fmt: skip

    def submit(self, task: EpisodeTask) -> Future[EpisodeOutcome]:
        try:
            return self._executor.submit(_run_in_worker, task)
        except BrokenProcessPool:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()
            return self._executor.submit(_run_in_worker, task)

    def epochs_done(self) -> int:
        return int(self._epochs.value)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def kill(self) -> None:
        """Last resort when stopped workers do not return: end the processes."""
        for process in list((getattr(self._executor, "_processes", None) or {}).values()):
            if process.is_alive():
                process.kill()
        self._executor.shutdown(wait=False, cancel_futures=True)


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
    transitions: list = field(default_factory=list)  # per finished episode, in episode order (collect)
    outcomes: list[EpisodeOutcome] = field(default_factory=list)


def behaviour_lane(epsilon: float, feature_set: str, name: str = "behaviour") -> LaneSpec:
    return LaneSpec(LaneInfo(name, "heuristic"), epsilon=epsilon, feature_set=feature_set)


def heuristic_lane(name: str = "heuristic") -> LaneSpec:
    return LaneSpec(LaneInfo(name, "heuristic"))


def run_episodes(config: RunConfig, lanes: Sequence[LaneSpec], sink: Sink, backend: Backend,
                 progress: Callable[[Progress], None] | None = None, threads: int = 1,
                 collect: bool = False, stop: threading.Event | None = None) -> EpisodeRun:  # fmt: skip
    """Run every episode on ``backend``; records reach ``sink`` in episode order.

    Ctrl+C (KeyboardInterrupt, or SIGTERM while this runs) stops the backend, writes every
    episode that came back, then a ``stopped`` event, and re-raises KeyboardInterrupt. Setting
    ``stop`` (e.g. from a signal handler) does the same within a second. The backend stays open:
    its maker closes it.
    """
    names = [lane.name for lane in lanes]
    if not lanes or len(set(names)) != len(names):
        raise ValueError(f"a run needs at least one lane and unique lane names, got {names}")
    run_id = config.run_id or uuid.uuid4().hex[:12]
    config = replace(config, run_id=run_id)
    infos = [lane.info for lane in lanes]
    info = run_info(config, infos, run_id)
    board = Scoreboard(config, infos, run_id)
    out = EpisodeRun(board.result)
    sink(info)
    sink(RunEvent(run_id=run_id, event="started", message=f"{config.mode}, {len(lanes)} lane(s)"))
    queued = [EpisodeTask(info, config, tuple(lanes), k, threads, collect) for k in range(1, config.episodes + 1)]
    queued.reverse()
    pending: dict[Future, int] = {}
    buffered: dict[int, EpisodeOutcome] = {}
    state = {"next": 1, "returned_epochs": 0, "submitting": 0}

    def write_ready(force: bool = False) -> None:
        """Write buffered outcomes in order; ``force`` also skips episodes that never returned."""
        while buffered and (state["next"] in buffered or force):
            if state["next"] not in buffered:
                state["next"] = min(buffered)
            outcome = buffered.pop(state["next"])
            _write(outcome, board, sink, out)
            state["next"] += 1

    training_lanes = 1 if info.executing_lane is not None else len(lanes)
    epochs_total = config.episodes * config.env.max_epochs * training_lanes
    start_epochs = backend.epochs_done()

    def report() -> None:
        if progress is not None:
            epochs = max(backend.epochs_done() - start_epochs, state["returned_epochs"])
            running = len(pending) + state["submitting"]  # an in-process episode runs inside submit
            progress(Progress(config.episodes, len(out.outcomes) + len(buffered), running, len(queued),
                              len(board.result.failed), tuple(board.result.paired), min(epochs, epochs_total),
                              epochs_total))  # fmt: skip

    watch = getattr(backend, "watch", None)
    if watch is not None and progress is not None:
        watch(report)

    with _sigterm_as_interrupt():
        try:
            report()
            while queued or pending:
                while queued and len(pending) < backend.capacity:
                    task = queued.pop()
                    state["submitting"] = 1
                    pending[backend.submit(task)] = task.episode
                    state["submitting"] = 0
                    report()
                finished, _ = wait(list(pending), timeout=0.5, return_when=FIRST_COMPLETED)
                interrupted = False
                for future in finished:
                    outcome = _outcome(future, pending.pop(future))
                    interrupted |= outcome.interrupted
                    buffered[outcome.episode] = outcome
                    state["returned_epochs"] += sum(isinstance(r, EpochRecord) for r in outcome.records)
                write_ready()
                report()
                if interrupted or (stop is not None and stop.is_set()):
                    raise KeyboardInterrupt
        except KeyboardInterrupt:
            board.result.stopped = True
            queued.clear()
            _drain(backend, pending, buffered)
            write_ready(force=True)
            sink(board.stopped_event())
            raise
        finally:
            if watch is not None:
                watch(None)
    sink(board.finished_event())
    return out


def _write(outcome: EpisodeOutcome, board: Scoreboard, sink: Sink, out: EpisodeRun) -> None:
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
        return EpisodeOutcome(episode, error=f"the worker running episode {episode} was lost:\n{text}")


def _drain(backend: Backend, pending: dict[Future, int], buffered: dict[int, EpisodeOutcome]) -> None:
    """Stop the running episodes and collect what they return within the grace period."""
    backend.stop()
    for future in pending:
        future.cancel()
    live = [f for f in pending if not f.cancelled()]
    done, not_done = wait(live, timeout=STOP_GRACE_SECONDS)
    for future in done:
        outcome = _outcome(future, pending[future])
        if outcome.records or outcome.summary is not None:
            buffered[outcome.episode] = outcome
    if not_done:
        log.warning("%d episode(s) did not stop within %.0f s; ending their workers", len(not_done), STOP_GRACE_SECONDS)
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
