"""A loaded IQL checkpoint as a controller: ``IQLPolicy`` builds the inputs the model was trained
on from each epoch's snapshot, acts on the masked policy (or, for the plan's format, the greedy
masked Q) and gives its reason, Q-values and inputs to the decision record.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import torch

from training.env.actions import ACTION_DIM, Action
from training.env.features import FEATURE_SETS, feature_names, features_for, range_excess
from training.env.signals import TrainingSnapshot
from training.policies.base import Decision, target_for
from training.policies.checkpoint import FORMAT, LoadedModel, load_checkpoint
from training.policies.checkpoint_checks import ModelLoadError
from training.policies.iql import masked_logits
from training.records import LaneInfo


class IQLPolicy:
    """A loaded IQL checkpoint behind the Policy protocol. Our format acts by the argmax of the
    masked advantage-weighted policy; the plan's format (no policy) by the greedy masked Q."""

    kind = "iql"

    def __init__(
        self,
        model: LoadedModel | str | os.PathLike[str],
        name: str = "iql",
        device: str | torch.device = "cpu",
    ) -> None:
        if not isinstance(model, LoadedModel):
            model = load_checkpoint(model, device)
        if model.feature_set not in FEATURE_SETS:
            raise ModelLoadError(
                f"cannot use IQL model {model.path}: state_dim {model.state_dim} matches no feature "
                f"set ({', '.join(f'{n} {s}' for s, n in FEATURE_SETS.items())}), so no input can be built."
            )
        self.model = model
        self.name = name
        self.iql = model.iql
        self.state_dim = model.state_dim
        self.telemetry_type = model.telemetry_type
        self.feature_set = model.feature_set
        self.model_path = model.path
        self.feature_names = feature_names(model.feature_set)
        self.normalizer = model.normalizer
        self.model_format = model.format
        self.metrics = model.metrics
        # The ablation's behaviour-cloning baseline is stored in a checkpoint's policy slot: it acts
        # on that network alone and has no Q, V or advantage of its own (the networks beside it
        # are another model's), so none is shown or recorded for it.
        if model.metadata.get("policy") == "bc" and self.iql.has_policy:
            self.kind = "bc"

    def lane_info(self) -> LaneInfo:
        """What the run's header and records say about this lane."""
        return LaneInfo(
            self.name,
            self.kind,
            self.model_path,
            self.state_dim,
            self.telemetry_type,
            tuple(self.feature_names),
            self.model_format,
            dict(self.metrics) or None,
        )

    def reset(self) -> None:
        """IQL is memoryless between decisions."""

    def decide(self, observation: TrainingSnapshot, action_mask: Sequence[bool]) -> Decision:
        if len(action_mask) != ACTION_DIM:
            raise ValueError(f"action mask has {len(action_mask)} entries, expected {ACTION_DIM}")
        features = features_for(observation, self.feature_set)
        # Ours normalise inside the policy with the stored statistics; the plan's format reads the
        # raw vector as esper-lite fed it, and is judged against esper-lite's ranges instead.
        plan = self.model_format != FORMAT
        inputs = features if plan else self.normalizer.z_scores(features)
        device = self.iql.device
        x = torch.tensor([inputs], dtype=torch.float32, device=device)
        mask = torch.tensor([[bool(m) for m in action_mask]], dtype=torch.bool, device=device)
        q = self.iql.q_values(x)[0]
        value = float(self.iql.values(x)[0])
        if self.iql.has_policy:
            probs = torch.softmax(masked_logits(self.iql.policy_logits(x), mask), dim=-1)[0]
            scores, probabilities = probs, tuple(probs.tolist())
        else:
            scores, probabilities = masked_logits(q.unsqueeze(0), mask)[0], None
        action = Action(int(scores.argmax()))
        q_values = tuple(q.tolist())
        if self.kind == "bc":
            return Decision(
                action=action,
                reason=self._reason(action, scores, None, mask[0]),
                target_slot=target_for(action, observation),
                probabilities=probabilities,
                features=tuple(float(f) for f in features),
                z_scores=None if plan else tuple(inputs),
                range_excess=tuple(range_excess(features, self.feature_set)) if plan else None,
            )
        return Decision(
            action=action,
            reason=self._reason(action, scores, q_values, mask[0]),
            target_slot=target_for(action, observation),
            q_values=q_values,
            value=value,
            advantage=q_values[action] - value,
            probabilities=probabilities,
            features=tuple(float(f) for f in features),
            z_scores=None if plan else tuple(inputs),
            range_excess=tuple(range_excess(features, self.feature_set)) if plan else None,
        )

    def _reason(
        self, action: Action, scores: torch.Tensor, q: tuple[float, ...] | None, mask: torch.Tensor
    ) -> str:
        others = [a for a in Action if bool(mask[a]) and a != action]
        if not others:
            return f"only {action.name} is allowed"
        runner = max(others, key=lambda a: float(scores[a]))
        if q is None:  # behaviour cloning: probabilities only
            return (
                f"masked BC policy: {action.name} p={float(scores[action]):.2f} "
                f"vs {runner.name} p={float(scores[runner]):.2f}"
            )
        if self.iql.has_policy:
            return (
                f"masked policy: {action.name} p={float(scores[action]):.2f} (Q {q[action]:.2f}) "
                f"vs {runner.name} p={float(scores[runner]):.2f}"
            )
        return f"argmax masked Q: {action.name} (Q {q[action]:.2f} vs next {q[runner]:.2f})"
