"""The behaviour policy of ``esper-iql collect``: the heuristic with ε-random valid actions."""

from __future__ import annotations

import random
from collections.abc import Sequence

from training.env.actions import Action
from training.env.features import ALL_FEATURE_SETS, FEATURE_SETS, features_for
from training.env.signals import TrainingSnapshot
from training.policies.base import Decision, allowed
from training.policies.heuristic import HeuristicPolicy


class EpsilonHeuristic:
    """The heuristic, except that with probability ε it takes a uniformly random valid action.
    Its decisions carry the input vector of ``feature_set`` (for the record), and
    ``last_features`` holds the same state under every feature set (for the transitions)."""

    kind = "heuristic"

    def __init__(
        self, epsilon: float, feature_set: str, seed: int, name: str = "behaviour"
    ) -> None:
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
            return Decision(
                action,
                f"ε-random ({self.epsilon:.2f}); heuristic wanted {decision.action.name}",
                features=features,
            )
        return Decision(decision.action, decision.reason, decision.target_slot, features=features)
