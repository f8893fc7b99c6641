"""The hand-written controller of the plan (``HeuristicTamiyo``): germinate on a plateau,
advance on improvement, cull on decline, fossilize after probation if the seed helped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from training.env.actions import BLUEPRINT_IDS, Action
from training.env.signals import TrainingSnapshot
from training.policies.base import Decision, allowed, target_for
from training.seeds.lifecycle import SeedStage


@dataclass(frozen=True)
class HeuristicPolicyConfig:
    plateau_epochs_to_germinate: int = 3  # epochs without a 1-point gain
    min_epochs_before_germinate: int = 3
    # Don't start a seed that cannot finish: it needs about this many epochs to fossilize.
    epochs_to_fossilize: int = 8
    min_training_epochs: int = 2
    cull_decline: float = 3.0  # points lost since the stage began
    min_probation_epochs: int = 1
    blueprints: tuple[str, ...] = BLUEPRINT_IDS

    def __post_init__(self) -> None:
        if not self.blueprints:
            raise ValueError("the heuristic needs at least one blueprint")
        unknown = [b for b in self.blueprints if b not in BLUEPRINT_IDS]
        if unknown:
            raise ValueError(
                f"unknown blueprint(s) {', '.join(unknown)}; known: {', '.join(BLUEPRINT_IDS)}"
            )


class HeuristicPolicy:
    """Rules on the snapshot; works with 1 to 3 slots. Blueprints are tried round-robin."""

    kind = "heuristic"

    def __init__(
        self, config: HeuristicPolicyConfig | None = None, name: str = "heuristic"
    ) -> None:
        self.config = config or HeuristicPolicyConfig()
        self.name = name
        self.reset()

    def reset(self) -> None:
        self._next_blueprint = 0

    def decide(self, observation: TrainingSnapshot, action_mask: Sequence[bool]) -> Decision:
        action, reason = self._rule(observation)
        if not allowed(action, action_mask):
            return Decision(Action.WAIT, f"wanted {action.name} but it is not allowed now; waiting")
        if action.is_germinate():
            self._next_blueprint = (self._next_blueprint + 1) % len(self.config.blueprints)
        return Decision(action, reason, target_for(action, observation))

    def _rule(self, obs: TrainingSnapshot) -> tuple[Action, str]:
        cfg = self.config
        if not obs.has_active_seed:
            return self._maybe_germinate(obs)
        stage, in_stage = obs.seed_stage, obs.seed_epochs_in_stage
        since_stage = obs.seed_telemetry.accuracy_delta if obs.seed_telemetry is not None else 0.0
        if obs.focus_paused:
            return Action.WAIT, "focus seed paused by operator"
        if stage == SeedStage.TRAINING:
            if since_stage <= -cfg.cull_decline:
                return Action.CULL, f"accuracy fell {since_stage:+.1f} points while training → cull"
            if in_stage >= cfg.min_training_epochs:
                if since_stage >= 0.0:
                    return (
                        Action.ADVANCE,
                        f"accuracy {since_stage:+.1f} after {in_stage} epochs training → blend",
                    )
                return (
                    Action.WAIT,
                    f"accuracy {since_stage:+.1f} while training; waiting for improvement",
                )
            return (
                Action.WAIT,
                f"training in isolation ({in_stage}/{cfg.min_training_epochs} epochs)",
            )
        if stage in (SeedStage.BLENDING, SeedStage.SHADOWING):
            if obs.seed_improvement <= -cfg.cull_decline:
                return (
                    Action.CULL,
                    f"accuracy {obs.seed_improvement:+.1f} since blending began → cull",
                )
            return Action.WAIT, f"{SeedStage(stage).name.lower()} (alpha {obs.seed_alpha:.2f})"
        if stage == SeedStage.PROBATIONARY:
            if in_stage < cfg.min_probation_epochs:
                return Action.WAIT, f"on probation ({in_stage}/{cfg.min_probation_epochs} epochs)"
            if obs.seed_improvement > 0.0:
                return (
                    Action.ADVANCE,
                    f"seed helped ({obs.seed_improvement:+.1f} points) → fossilize",
                )
            return Action.CULL, f"seed did not help ({obs.seed_improvement:+.1f} points) → cull"
        return Action.WAIT, f"seed {SeedStage(stage).name.lower()}"

    def _maybe_germinate(self, obs: TrainingSnapshot) -> tuple[Action, str]:
        cfg = self.config
        if obs.available_slots <= 0:
            return Action.WAIT, "no free slot"
        if obs.epoch < cfg.min_epochs_before_germinate:
            return Action.WAIT, f"warming up ({obs.epoch}/{cfg.min_epochs_before_germinate} epochs)"
        if obs.max_epochs - obs.epoch < cfg.epochs_to_fossilize:
            return Action.WAIT, "too late in the episode for a new seed to finish"
        if obs.plateau_epochs < cfg.plateau_epochs_to_germinate:
            return (
                Action.WAIT,
                f"still improving (plateau {obs.plateau_epochs}/{cfg.plateau_epochs_to_germinate})",
            )
        blueprint = cfg.blueprints[self._next_blueprint]
        action = Action.from_blueprint(blueprint)
        return action, f"plateau for {obs.plateau_epochs} epochs → germinate {blueprint}"
