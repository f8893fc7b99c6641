"""One episode as a self-contained unit of work: what a worker process or a Ray task runs.

An episode is fixed by its task (run config, lanes, episode number, threads), never by the
process that runs it: lanes are built fresh from plain specs, the image task is rebuilt from its
config, and torch runs with ``threads`` threads. So an episode gives the same records in the
parent, in a spawned worker or on a Ray node, and the parent only puts them in order.
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

from training.runs.comparison import EpisodeSummary, Lane, RunConfig, run_lanes_episode
from training.env.data import DataConfig, ImageTask, load_task
from training.runs.collect import EpsilonHeuristic, TransitionBuilder, Transitions
from training.policies.heuristic import HeuristicPolicy
from training.records import EpochRecord, LaneInfo, Record, RunInfo


@dataclass(frozen=True)
class LaneSpec:
    """A lane as plain data, so that any process can build it. ``epsilon`` set: the ε-random
    behaviour policy of ``esper-iql collect`` (seeded by the episode); ``model``: the bytes of
    an IQL checkpoint (carried, so that a cluster node needs no copy of the file); otherwise the
    heuristic."""

    info: LaneInfo
    epsilon: float | None = None
    feature_set: str = "seed"
    model: bytes | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.info.name

    def build(self, episode_seed: int, device: str) -> Lane:
        name = self.info.name
        if self.epsilon is not None:
            return Lane(name, EpsilonHeuristic(self.epsilon, self.feature_set, seed=episode_seed, name=name), self.info)
        if self.info.policy_kind == "heuristic":
            return Lane(name, HeuristicPolicy(name=name), self.info)
        from training.policies.checkpoint import IQLPolicy, load_checkpoint

        if self.model is None:
            raise ValueError(f"lane {name!r} is a {self.info.policy_kind} lane without a model")
        # From memory: no temporary file, so a full disk or a file-size limit cannot fail the episode.
        loaded = load_checkpoint(self.info.model_path or name, device, data=self.model)
        return Lane(name, IQLPolicy(loaded, name=name, device=device), self.info)


@dataclass(frozen=True)
class EpisodeTask:
    info: RunInfo
    config: RunConfig
    lanes: tuple[LaneSpec, ...]
    episode: int
    threads: int = 1
    collect: bool = False  # also return the episode's transitions (behaviour collection)


@dataclass
class EpisodeOutcome:
    """What an episode gave back. ``summary`` None: stopped (``error`` None) or failed."""

    episode: int
    records: list[Record] = field(default_factory=list)
    summary: EpisodeSummary | None = None
    error: str | None = None  # the traceback of a failed episode
    transitions: Transitions | None = None
    interrupted: bool = False  # Ctrl+C reached the episode itself (in-process runs)
    seconds: float = 0.0

    @property
    def finished(self) -> bool:
        return self.summary is not None


@functools.lru_cache(maxsize=2)
def cached_task(config: DataConfig) -> ImageTask:
    """The image task, built once per process (the synthetic task takes seconds to generate)."""
    return load_task(config)


def run_episode(task: EpisodeTask, stop: threading.Event | None = None,
                on_epoch: Callable[[], None] | None = None) -> EpisodeOutcome:  # fmt: skip
    """Run one episode; an exception becomes a failed outcome carrying its traceback.
    ``on_epoch`` is called after every lane-epoch (progress)."""
    start = time.perf_counter()
    outcome = EpisodeOutcome(task.episode)
    threads = torch.get_num_threads()
    torch.set_num_threads(task.threads)
    try:
        env_config = task.config.episode_env(task.episode)
        lanes = [spec.build(env_config.seed, env_config.device) for spec in task.lanes]
        builder = TransitionBuilder(task.lanes[0].feature_set) if task.collect else None

        def sink(record: Record) -> None:
            outcome.records.append(record)
            if isinstance(record, EpochRecord):
                if builder is not None:
                    behaviour = lanes[0].policy
                    assert isinstance(behaviour, EpsilonHeuristic)  # a collecting episode's first lane
                    builder.add(record, behaviour.last_features)
                if on_epoch is not None:
                    on_epoch()

        outcome.summary = run_lanes_episode(task.config, lanes, task.info, task.episode,
                                            cached_task(env_config.data_config()), sink, queue.Queue(),
                                            stop if stop is not None else threading.Event())  # fmt: skip
        if builder is not None and outcome.summary is not None:
            outcome.transitions = builder.transitions()
    except KeyboardInterrupt:
        outcome.summary, outcome.interrupted = None, True
    except Exception:  # noqa: BLE001 - a failed episode is reported, the others go on
        outcome.summary, outcome.error = None, traceback.format_exc()
    finally:
        torch.set_num_threads(threads)
        outcome.seconds = time.perf_counter() - start
    return outcome
