"""A lane: one controller playing its own identical copy of every episode of a comparison.

A lane is plain data, so that any process can build its controller: the heuristic, the ε-random
behaviour policy of ``esper-iql collect`` (seeded by the episode), an IQL checkpoint carried as
its bytes (a cluster node needs no copy of the file), or a ready policy object (this process's
runs and tests). ``LaneInfo`` is how a lane appears in the record; ``Lane`` is what plays it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from training.policies.base import Policy
from training.policies.behaviour import EpsilonHeuristic
from training.policies.checkpoint import shared_model
from training.policies.heuristic import HeuristicPolicy
from training.policies.iql_policy import IQLPolicy
from training.records import LaneInfo


@dataclass(frozen=True)
class Lane:
    """``policy``: a ready controller, used as it is and reset at each episode's start;
    ``model``: an IQL checkpoint's bytes; ``epsilon``: the behaviour policy; otherwise the
    heuristic."""

    info: LaneInfo
    policy: Policy | None = field(default=None, compare=False)
    model: bytes | None = field(default=None, repr=False)
    epsilon: float | None = None
    feature_set: str = "seed"  # the behaviour policy's recorded feature set

    @property
    def name(self) -> str:
        return self.info.name

    @classmethod
    def heuristic(cls, name: str = "heuristic") -> Lane:
        return cls(LaneInfo(name, "heuristic"))

    @classmethod
    def behaviour(cls, epsilon: float, feature_set: str, name: str = "behaviour") -> Lane:
        return cls(LaneInfo(name, "heuristic"), epsilon=epsilon, feature_set=feature_set)

    @classmethod
    def playing(cls, policy: Policy, info: LaneInfo | None = None) -> Lane:
        """A lane for a policy object (shown as ``info``, or by the policy's name and kind)."""
        return cls(info or LaneInfo(policy.name, policy.kind), policy=policy)

    def build(self, episode_seed: int, device: str) -> Policy:
        """The controller for one episode (the same object every episode when it is given)."""
        name = self.info.name
        if self.policy is not None:
            return self.policy
        if self.epsilon is not None:
            return EpsilonHeuristic(self.epsilon, self.feature_set, seed=episode_seed, name=name)
        if self.info.policy_kind == "heuristic":
            return HeuristicPolicy(name=name)
        if self.model is None:
            raise ValueError(f"lane {name!r} is a {self.info.policy_kind} lane without a model")
        # From memory, parsed once per process: no temporary file, so a full disk or a
        # file-size limit cannot fail the episode.
        return IQLPolicy(
            shared_model(self.model, device, self.info.model_path or name), name=name, device=device
        )
