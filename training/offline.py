"""Offline data for IQL: heuristic behaviour with ε-random valid actions, recorded through the
same comparison loop as everything else and turned into (s, a, r, s', done) transitions."""

from __future__ import annotations

import json
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from training.actions import ACTION_DIM, Action
from training.comparison import Lane, RunConfig, run
from training.features import FEATURE_SETS, feature_names, features_for
from training.policies.base import Decision, allowed
from training.policies.heuristic import HeuristicPolicy
from training.records import EpochRecord, LaneInfo, Record
from training.signals import TrainingSnapshot


class EpsilonHeuristic:
    """The heuristic, except that with probability ε it takes a uniformly random valid action.
    It also records the input vector of ``feature_set`` so the transitions can be rebuilt from
    the record stream."""

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

    def reset(self) -> None:
        self.heuristic.reset()

    def decide(self, observation: TrainingSnapshot, action_mask: Sequence[bool]) -> Decision:
        decision = self.heuristic.decide(observation, action_mask)
        features = tuple(features_for(observation, self.feature_set))
        if self._rng.random() < self.epsilon:
            valid = [a for a in Action if allowed(a, action_mask)]
            action = self._rng.choice(valid)
            return Decision(action, f"ε-random ({self.epsilon:.2f}); heuristic wanted {decision.action.name}",
                            features=features)  # fmt: skip
        return Decision(decision.action, decision.reason, decision.target_slot, features=features)


@dataclass
class TransitionBuilder:
    """A sink that turns each lane's epoch records into transitions as they arrive."""

    states: list[tuple[float, ...]] = field(default_factory=list)
    actions: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    next_states: list[tuple[float, ...]] = field(default_factory=list)
    dones: list[bool] = field(default_factory=list)
    masks: list[tuple[bool, ...]] = field(default_factory=list)
    next_masks: list[tuple[bool, ...]] = field(default_factory=list)
    _last: dict[tuple[int, str], EpochRecord] = field(default_factory=dict)

    def __call__(self, record: Record) -> None:
        if not isinstance(record, EpochRecord) or record.decision is None:
            return
        key = (record.episode, record.lane)
        prev = self._last.get(key)
        if prev is not None and prev.decision is not None:
            self.states.append(prev.decision.features)
            self.actions.append(prev.decision.action)
            self.rewards.append(record.reward)
            self.next_states.append(record.decision.features)
            self.dones.append(record.epoch >= record.max_epochs)
            self.masks.append(prev.decision.action_mask)
            self.next_masks.append(record.decision.action_mask)
        self._last[key] = record

    def __len__(self) -> int:
        return len(self.actions)


def collect(config: RunConfig, epsilon: float, feature_set: str, sink: Callable[[Record], None] | None = None,
            stop_event=None) -> tuple[TransitionBuilder, dict]:  # fmt: skip
    """Run ``config.episodes`` behaviour episodes and return their transitions and metadata."""
    policy = EpsilonHeuristic(epsilon, feature_set, seed=config.env.seed)
    lane = Lane("behaviour", policy, LaneInfo("behaviour", "heuristic"))
    builder = TransitionBuilder()

    def both(record: Record) -> None:
        builder(record)
        if sink is not None:
            sink(record)

    run(replace_mode(config), [lane], both, stop_event=stop_event)
    metadata = {
        "feature_set": feature_set,
        "state_dim": FEATURE_SETS[feature_set],
        "feature_names": list(feature_names(feature_set)),
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
    return builder, metadata


def replace_mode(config: RunConfig) -> RunConfig:
    from dataclasses import replace

    return replace(config, mode="head-to-head", executing_lane=None)


def save_npz(path: str | Path, builder: TransitionBuilder, metadata: dict) -> None:
    if len(builder) == 0:
        raise ValueError("no transitions were collected (an episode needs at least 2 epochs)")
    dim = len(builder.states[0])
    np.savez_compressed(
        Path(path),
        states=np.asarray(builder.states, dtype=np.float32).reshape(-1, dim),
        actions=np.asarray(builder.actions, dtype=np.int64),
        rewards=np.asarray(builder.rewards, dtype=np.float32),
        next_states=np.asarray(builder.next_states, dtype=np.float32).reshape(-1, dim),
        dones=np.asarray(builder.dones, dtype=np.float32),
        masks=np.asarray(builder.masks, dtype=bool).reshape(-1, ACTION_DIM),
        next_masks=np.asarray(builder.next_masks, dtype=bool).reshape(-1, ACTION_DIM),
        metadata=np.asarray(json.dumps(metadata)),
    )
