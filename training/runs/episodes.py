"""One episode as a self-contained unit of work: what the driver hands to a backend, and what a
worker process or a Ray task runs.

An episode is fixed by its task (run config, lanes, episode number, threads), never by the
process that runs it: lanes build their controllers fresh from plain data, the image task is
rebuilt from its config, and torch runs with ``threads`` threads. So an episode gives the same
records in the parent, in a spawned worker or on a Ray node, and the driver only puts them in
order.
"""

from __future__ import annotations

import functools
import queue
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field

import torch

from training.env.data import DataConfig, ImageTask, load_task
from training.env.progress import ProgressSink
from training.policies.behaviour import EpsilonHeuristic
from training.policies.offline_data import OfflineDataset, TransitionBuilder
from training.records import EpochRecord, Record, RunInfo
from training.runs.comparison import Sink, play_episode
from training.runs.config import RunConfig
from training.runs.lanes import Lane
from training.runs.scorekeeper import EpisodeSummary


@dataclass(frozen=True)
class EpisodeTask:
    info: RunInfo
    config: RunConfig
    lanes: tuple[Lane, ...]
    episode: int
    threads: int | None = 1  # torch threads for the episode; None: leave this process's setting
    collect: bool = False  # also return the episode's transitions (behaviour collection)


@dataclass
class EpisodeOutcome:
    """What an episode gave back. ``summary`` None: stopped (``error`` None) or failed.
    ``records`` holds what the episode did not already stream to its sink."""

    episode: int
    records: list[Record] = field(default_factory=list)
    summary: EpisodeSummary | None = None
    error: str | None = None  # the traceback of a failed episode
    transitions: OfflineDataset | None = None
    interrupted: bool = False  # Ctrl+C reached the episode itself (in-process runs)
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return self.summary is not None


@functools.lru_cache(maxsize=2)
def cached_task(config: DataConfig) -> ImageTask:
    """The image task, built once per process (the synthetic task takes seconds to generate)."""
    return load_task(config)


@dataclass
class EpisodeContext:
    """What the process that runs an episode adds to its task: the stop flag polled at batch
    boundaries, the operator's command inbox, a callback after every lane-epoch (progress), a
    sink that takes the records as they happen (else they come back in the outcome), an image
    task already built, whether a training error propagates (else it fails the episode), and
    where each epoch is, batch by batch (the dashboard's header; not recorded)."""

    stop: threading.Event | None = None
    inbox: queue.Queue | None = None
    on_epoch: Callable[[], None] | None = None
    stream: Sink | None = None
    image_task: ImageTask | None = None
    raise_errors: bool = False
    progress: ProgressSink | None = None


def run_episode(task: EpisodeTask, context: EpisodeContext | None = None) -> EpisodeOutcome:
    """Run one episode; an exception becomes a failed outcome carrying its traceback (or, with
    ``context.raise_errors``, reaches the caller)."""
    context = context or EpisodeContext()
    start = time.perf_counter()
    outcome = EpisodeOutcome(task.episode)
    threads = torch.get_num_threads()
    if task.threads is not None:
        torch.set_num_threads(task.threads)
    try:
        env_config = task.config.episode_env(task.episode)
        policies = [lane.build(env_config.seed, env_config.device) for lane in task.lanes]
        builder = TransitionBuilder(task.lanes[0].feature_set) if task.collect else None
        keep = context.stream or outcome.records.append

        def sink(record: Record) -> None:
            keep(record)
            if isinstance(record, EpochRecord):
                if builder is not None:
                    behaviour = policies[0]
                    # a collecting episode's first lane
                    assert isinstance(behaviour, EpsilonHeuristic)
                    builder.add(record, behaviour.last_features)
                if context.on_epoch is not None:
                    context.on_epoch()

        if context.image_task is None and context.progress is not None:
            context.progress("loading", "", task.episode, 0, 0, 0)
        image_task = context.image_task or cached_task(env_config.data_config())
        inbox = context.inbox if context.inbox is not None else queue.Queue()
        stop = context.stop if context.stop is not None else threading.Event()
        outcome.summary = play_episode(
            task.config,
            task.lanes,
            policies,
            task.info,
            task.episode,
            image_task,
            sink,
            inbox,
            stop,
            context.progress,
        )
        if builder is not None and outcome.summary is not None:
            outcome.transitions = builder.dataset()
    except KeyboardInterrupt:
        outcome.summary, outcome.interrupted = None, True
    except Exception:  # noqa: BLE001 - a failed episode is reported, the others go on
        if context.raise_errors:
            raise
        outcome.summary, outcome.error = None, traceback.format_exc()
    finally:
        torch.set_num_threads(threads)
        outcome.seconds = time.perf_counter() - start
    return outcome
