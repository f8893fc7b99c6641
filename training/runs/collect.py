"""Offline data for IQL: heuristic behaviour with ε-random valid actions, recorded through the
same comparison loop as everything else and turned into (s, a, r, s', done) transitions.

Every transition keeps its state under all three feature sets (27 "none", 37 "seed", 54 "full"),
so one collection feeds the whole 27/37/54 ablation. Each episode's ε-draws come from the
episode's own seed, so an episode gives the same transitions whichever worker runs it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from training.env.actions import ACTION_DIM, Action
from training.runs.comparison import RunConfig
from training.env.features import FEATURE_SETS, feature_names, features_for
from training.policies.base import Decision, allowed
from training.policies.heuristic import HeuristicPolicy
from training.records import EpochRecord, Record
from training.env.signals import TrainingSnapshot

# The order feature sets are stored in, smallest first.
ALL_FEATURE_SETS = tuple(sorted(FEATURE_SETS, key=FEATURE_SETS.__getitem__))


class EpsilonHeuristic:
    """The heuristic, except that with probability ε it takes a uniformly random valid action.
    Its decisions carry the input vector of ``feature_set`` (for the record), and
    ``last_features`` holds the same state under every feature set (for the transitions)."""

    kind = "heuristic"

    def __init__(self, epsilon: float, feature_set: str, seed: int, name: str = "behaviour") -> None:
        if not 0.0 <= epsilon <= 1.0:
            raise ValueError(f"epsilon must be between 0 and 1, got {epsilon}")
        if feature_set not in FEATURE_SETS:
            raise ValueError(f"unknown feature set {feature_set!r}; choose none, seed or full")
        self.name = name
        self.epsilon = epsilon
        self.feature_set = feature_set
        self.heuristic = HeuristicPolicy(name=name)
        self._rng = random.Random(seed)
        self.last_features: dict[str, tuple[float, ...]] = {}

    def reset(self) -> None:
        self.heuristic.reset()

    def decide(self, observation: TrainingSnapshot, action_mask: Sequence[bool]) -> Decision:
        decision = self.heuristic.decide(observation, action_mask)
        self.last_features = {fs: tuple(features_for(observation, fs)) for fs in ALL_FEATURE_SETS}
        features = self.last_features[self.feature_set]
        if self._rng.random() < self.epsilon:
            valid = [a for a in Action if allowed(a, action_mask)]
            action = self._rng.choice(valid)
            return Decision(action, f"ε-random ({self.epsilon:.2f}); heuristic wanted {decision.action.name}",
                            features=features)  # fmt: skip
        return Decision(decision.action, decision.reason, decision.target_slot, features=features)


@dataclass(frozen=True, eq=False)
class Transitions:
    """Transitions as arrays. ``states``/``next_states`` hold the collection's own feature set;
    ``by_set``/``next_by_set`` hold every feature set it recorded."""

    actions: np.ndarray
    rewards: np.ndarray
    dones: np.ndarray
    masks: np.ndarray
    next_masks: np.ndarray
    feature_set: str
    by_set: dict[str, np.ndarray] = field(default_factory=dict)
    next_by_set: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def states(self) -> np.ndarray:
        return self.by_set[self.feature_set]

    @property
    def next_states(self) -> np.ndarray:
        return self.next_by_set[self.feature_set]

    def __len__(self) -> int:
        return int(self.actions.shape[0])

    @classmethod
    def concatenate(cls, parts: Sequence[Transitions], feature_set: str) -> Transitions:
        """Episodes' transitions joined in the given (episode) order."""
        parts = [p for p in parts if len(p)]
        sets = ALL_FEATURE_SETS if not parts else tuple(parts[0].by_set)

        def cat(arrays: list[np.ndarray], dtype, width: int | None) -> np.ndarray:
            if arrays:
                return np.concatenate(arrays).astype(dtype, copy=False)
            return np.zeros((0,) if width is None else (0, width), dtype=dtype)

        return cls(
            actions=cat([p.actions for p in parts], np.int64, None),
            rewards=cat([p.rewards for p in parts], np.float32, None),
            dones=cat([p.dones for p in parts], np.float32, None),
            masks=cat([p.masks for p in parts], bool, ACTION_DIM),
            next_masks=cat([p.next_masks for p in parts], bool, ACTION_DIM),
            feature_set=feature_set,
            by_set={fs: cat([p.by_set[fs] for p in parts], np.float32, FEATURE_SETS[fs]) for fs in sets},
            next_by_set={fs: cat([p.next_by_set[fs] for p in parts], np.float32, FEATURE_SETS[fs]) for fs in sets},
        )  # fmt: skip


@dataclass
class TransitionBuilder:
    """A sink that turns each lane's epoch records into transitions as they arrive. ``add``
    takes the state under every feature set beside the record (``EpsilonHeuristic.last_features``);
    a plain call uses only the record's own feature vector."""

    feature_set: str = "seed"
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    dones: list[bool] = field(default_factory=list)
    masks: list[tuple[bool, ...]] = field(default_factory=list)
    next_masks: list[tuple[bool, ...]] = field(default_factory=list)
    by_set: dict[str, list[tuple[float, ...]]] = field(default_factory=dict)
    next_by_set: dict[str, list[tuple[float, ...]]] = field(default_factory=dict)
    _last: dict[tuple[int, str], tuple[EpochRecord, dict]] = field(default_factory=dict)

    def __call__(self, record: Record) -> None:
        if isinstance(record, EpochRecord) and record.decision is not None:
            if record.decision.features is None:  # no state to learn from; never a silent gap
                raise ValueError(f"the decision of {record.lane!r} at epoch {record.epoch} has no features")
            self.add(record, {self.feature_set: record.decision.features})

    def add(self, record: EpochRecord, features: dict[str, tuple[float, ...]]) -> None:
        if record.decision is None:
            return
        key = (record.episode, record.lane)
        previous = self._last.get(key)
        if previous is not None and (prev_decision := previous[0].decision) is not None:
            prev_features = previous[1]
            self.actions.append(prev_decision.action)
            self.rewards.append(record.reward)
            self.dones.append(record.epoch >= record.max_epochs)
            self.masks.append(prev_decision.action_mask)
            self.next_masks.append(record.decision.action_mask)
            for fs, state in prev_features.items():
                self.by_set.setdefault(fs, []).append(state)
                self.next_by_set.setdefault(fs, []).append(features[fs])
        self._last[key] = (record, features)

    def __len__(self) -> int:
        return len(self.actions)

    def transitions(self) -> Transitions:
        sets = tuple(self.by_set) or (self.feature_set,)
        return Transitions(
            actions=np.asarray(self.actions, dtype=np.int64),
            rewards=np.asarray(self.rewards, dtype=np.float32),
            dones=np.asarray(self.dones, dtype=np.float32),
            masks=np.asarray(self.masks, dtype=bool).reshape(-1, ACTION_DIM),
            next_masks=np.asarray(self.next_masks, dtype=bool).reshape(-1, ACTION_DIM),
            feature_set=self.feature_set,
            by_set={fs: _rows(self.by_set.get(fs, []), FEATURE_SETS[fs]) for fs in sets},
            next_by_set={fs: _rows(self.next_by_set.get(fs, []), FEATURE_SETS[fs]) for fs in sets},
        )  # fmt: skip


def _rows(rows: list, width: int) -> np.ndarray:
    return np.asarray(rows, dtype=np.float32).reshape(-1, width)


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


def collect(config: RunConfig, epsilon: float, feature_set: str, sink: Callable[[Record], None] | None = None,
            stop_event=None, backend=None, progress=None, threads: int = 1) -> tuple[Transitions, dict]:  # fmt: skip
    """Run ``config.episodes`` behaviour episodes (in this process, or on ``backend``'s workers;
    the caller closes it) and return their transitions, in episode order, and the metadata."""
    from training.runs.driver import InProcessBackend, behaviour_lane, run_episodes

    config = replace(config, mode="head-to-head", executing_lane=None)
    with InProcessBackend(stop_event=stop_event) as in_process:
        outcome = run_episodes(config, [behaviour_lane(epsilon, feature_set)], sink or (lambda record: None),
                               backend or in_process, progress=progress, threads=threads, collect=True,
                               stop=stop_event)  # fmt: skip
    metadata = collection_metadata(config, epsilon, feature_set)
    metadata["failed_episodes"] = list(outcome.result.failed)
    if outcome.result.stopped:  # interrupted: only the episodes that finished, and say so
        finished = [e.episode for e in outcome.result.episodes]
        metadata["seeds"] = [config.episode_env(k).seed for k in finished]
        metadata["episodes"] = len(finished)
        metadata["interrupted"] = True
    metadata["errors"] = {str(k): v for k, v in outcome.result.errors.items()}
    return Transitions.concatenate(outcome.transitions, feature_set), metadata


def save_npz(path: str | Path, transitions: Transitions, metadata: dict) -> None:
    """``states``/``next_states`` in the collection's feature set (what older readers expect),
    and ``states_<set>``/``next_states_<set>`` for every feature set."""
    if len(transitions) == 0:
        raise ValueError("no transitions were collected (an episode needs at least 2 epochs)")
    per_set = {}
    for fs in transitions.by_set:
        per_set[f"states_{fs}"] = transitions.by_set[fs]
        per_set[f"next_states_{fs}"] = transitions.next_by_set[fs]
    with open(Path(path), "wb") as handle:
        np.savez_compressed(
            handle, states=transitions.states, actions=transitions.actions, rewards=transitions.rewards,
            next_states=transitions.next_states, dones=transitions.dones, masks=transitions.masks,
            next_masks=transitions.next_masks, metadata=np.asarray(json.dumps(metadata)), **per_set,  # type: ignore[arg-type]  # numpy stubs: **kwds could fill allow_pickle
        )  # fmt: skip
