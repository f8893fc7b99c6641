"""Offline data for IQL: behaviour episodes (the heuristic with ε-random valid actions, in
``training.policies.behaviour``) run through the one episode driver and turned into transitions.

Every transition keeps its state under all three feature sets (27 "none", 37 "seed", 54 "full"),
so one collection feeds the whole 27/37/54 ablation. Each episode's ε-draws come from the
episode's own seed, so an episode gives the same transitions whichever worker runs it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from training.env.features import ALL_FEATURE_SETS, FEATURE_SETS, feature_names
from training.policies.offline_data import OfflineDataset
from training.records import Record
from training.runs.config import RunConfig
from training.runs.driver import InProcessBackend, run_episodes
from training.runs.lanes import Lane


def collection_metadata(config: RunConfig, epsilon: float, feature_set: str) -> dict:
    return {
        "feature_set": feature_set,
        "state_dim": FEATURE_SETS[feature_set],
        "feature_names": list(feature_names(feature_set)),
        "feature_sets": list(ALL_FEATURE_SETS),
        "preset": config.env.preset,
        "slots": config.env.slots,
        "epochs": config.env.max_epochs,
        "episodes": config.episodes,
        "seeds": [config.episode_env(k).seed for k in range(1, config.episodes + 1)],
        "data_seed": config.env.data_seed,
        "epsilon": epsilon,
        "behaviour": "heuristic",
        "param_rent": config.env.param_rent,
    }


def collect(
    config: RunConfig,
    epsilon: float,
    feature_set: str,
    sink: Callable[[Record], None] | None = None,
    stop_event=None,
    backend=None,
    progress=None,
    threads: int = 1,
) -> tuple[OfflineDataset, dict]:
    """Run ``config.episodes`` behaviour episodes (in this process, or on ``backend``'s workers;
    the caller closes it) and return their transitions, in episode order, and the metadata
    (also the dataset's), which names the failed episodes' ``errors`` too."""
    config = replace(config, mode="head-to-head", executing_lane=None)
    with InProcessBackend(stop_event=stop_event) as in_process:
        outcome = run_episodes(
            config,
            [Lane.behaviour(epsilon, feature_set)],
            sink or (lambda record: None),
            backend or in_process,
            progress=progress,
            threads=threads,
            collect=True,
            stop=stop_event,
        )
    metadata = collection_metadata(config, epsilon, feature_set)
    metadata["failed_episodes"] = list(outcome.result.failed)
    if outcome.result.stopped:  # interrupted: only the episodes that finished, and say so
        finished = [e.episode for e in outcome.result.episodes]
        metadata["seeds"] = [config.episode_env(k).seed for k in finished]
        metadata["episodes"] = len(finished)
        metadata["interrupted"] = True
    metadata["errors"] = {str(k): v for k, v in outcome.result.errors.items()}
    return OfflineDataset.concatenate(outcome.transitions, feature_set, metadata), metadata
