"""Where episodes run: in this process, or in spawned worker processes (Ray tasks live in
``training.runs.cluster``). A backend runs ``EpisodeTask``s and hands back futures of
``EpisodeOutcome``s; the driver (``training.runs.driver``) keeps them in episode order.
"""

from __future__ import annotations

import multiprocessing
import queue
import signal
import threading
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from multiprocessing.sharedctypes import Synchronized
from typing import Protocol, Self

from training.env.data import DataConfig, ImageTask
from training.env.progress import ProgressSink
from training.runs.comparison import Sink
from training.runs.episodes import (
    EpisodeContext,
    EpisodeOutcome,
    EpisodeTask,
    cached_task,
    run_episode,
)


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

    def __enter__(self) -> Self: ...

    def __exit__(self, *exc: object) -> None: ...


class Closing:
    """``with backend:`` closes it, also on Ctrl+C."""

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Nothing to release."""


class InProcessBackend(Closing):
    """One episode at a time in this process (``--workers 1``, and the dashboard's trainer
    thread). Its episodes stream their records to the driver's sink as they happen, so a
    watcher sees every epoch live; they take the operator's commands from ``inbox`` at batch
    boundaries. ``image_task``: the task already built (else built once per process).
    ``raise_errors``: a training error reaches the caller (the dashboard shows it as a crash)
    instead of failing only its episode."""

    capacity = 1

    def __init__(
        self,
        stop_event: threading.Event | None = None,
        inbox: queue.Queue | None = None,
        image_task: ImageTask | None = None,
        raise_errors: bool = False,
        progress: ProgressSink | None = None,
    ) -> None:
        self._context = EpisodeContext(
            stop_event if stop_event is not None else threading.Event(),
            inbox,
            self._on_epoch,
            None,
            image_task,
            raise_errors,
            progress,
        )
        self._epochs = 0
        self._watch: Callable[[], None] | None = None

    def attach(self, watch: Callable[[], None] | None, sink: Sink | None) -> None:
        """``watch``: called after every lane-epoch (the driver itself waits while an episode
        runs here); ``sink``: where the records go as they happen. None detaches."""
        self._watch = watch
        self._context.stream = sink

    def _on_epoch(self) -> None:
        self._epochs += 1
        if self._watch is not None:
            self._watch()

    def epochs_done(self) -> int:
        return self._epochs

    def submit(self, task: EpisodeTask) -> Future[EpisodeOutcome]:
        future: Future[EpisodeOutcome] = Future()
        future.set_result(run_episode(task, self._context))
        return future

    def stop(self) -> None:
        assert self._context.stop is not None
        self._context.stop.set()


_worker_stop: threading.Event | None = None  # per worker process, set by _init_worker
_worker_epochs: Synchronized[int] | None = (
    None  # a shared counter of lane-epochs, per worker process
)


def _count_epoch() -> None:
    assert _worker_epochs is not None  # set by _init_worker before any episode runs
    with _worker_epochs.get_lock():
        _worker_epochs.value += 1


def _init_worker(stop, threads: int, data: DataConfig | None, started, epochs) -> None:
    """Workers leave Ctrl+C to the parent (which stops them through ``stop`` at a batch
    boundary) and treat SIGTERM the same way. ``data``: the image task to build up front. On a
    machine with several GPUs, worker k makes GPU k mod n its ``cuda``."""
    global _worker_stop, _worker_epochs
    _worker_stop, _worker_epochs = stop, epochs
    _die_with_parent()
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


def _die_with_parent() -> None:
    """Linux: this worker is killed when the process that started it dies, however it dies
    (SIGKILL included), so that no worker outlives its run."""
    try:
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the executor's own shutdown is all there is


def _run_in_worker(task: EpisodeTask) -> EpisodeOutcome:
    return run_episode(task, EpisodeContext(stop=_worker_stop, on_epoch=_count_epoch))


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
        self._workers: dict = {}  # every worker process started, by pid
        self._executor = self._start()

    def _start(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            self.capacity,
            mp_context=self._context,
            initializer=_init_worker,
            initargs=(self._stop, self._threads, self._data, self._started, self._epochs),
        )

    def submit(self, task: EpisodeTask) -> Future[EpisodeOutcome]:
        try:
            future = self._executor.submit(_run_in_worker, task)
        except BrokenProcessPool:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = self._start()
            future = self._executor.submit(_run_in_worker, task)
        # for kill(), whatever the pool does
        self._workers.update(getattr(self._executor, "_processes", None) or {})
        return future

    def epochs_done(self) -> int:
        return int(self._epochs.value)

    def stop(self) -> None:
        self._stop.set()

    def close(self) -> None:
        """Episodes still running (the caller gave up on them) stop at a batch boundary first.
        After a stop the workers have given back what they had: they are ended rather than
        waited for (a worker's own exit, torch's teardown, takes a second or more)."""
        if self._stop.is_set():
            self.kill()
            return
        self._stop.set()
        self._executor.shutdown(wait=True, cancel_futures=True)

    def kill(self) -> None:
        """Last resort when stopped workers do not return: end the processes."""
        self._workers.update(getattr(self._executor, "_processes", None) or {})
        processes = list(self._workers.values())
        for process in processes:
            if process.is_alive():
                process.kill()
        for process in processes:
            process.join(1.0)  # reaped: a SIGKILL takes effect at once
        self._executor.shutdown(wait=False, cancel_futures=True)
