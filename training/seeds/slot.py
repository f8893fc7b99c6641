"""Seeds: their metrics and state (the plan's Task 2), the alpha ramp, and the slot that grafts
a seed into the host with straight-through isolation while it trains.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import torch
from torch import nn

from training.seeds.alpha_ramp import AlphaRamp
from training.seeds.blueprints import build_blueprint, count_parameters
from training.seeds.gates import GateResult, LifecycleConfig, evaluate_gate
from training.seeds.lifecycle import (
    SeedStage,
    is_failure_stage,
    is_live_stage,
    is_terminal_stage,
    is_valid_transition,
    stage_name,
)
from training.seeds.telemetry import SeedTelemetry

__all__ = [
    "AlphaRamp",
    "InvalidTransitionError",
    "Refusal",
    "SeedMetrics",
    "SeedSlot",
    "SeedState",
    "StageTransition",
]


def _utc_now() -> datetime:
    return datetime.now(UTC)


class InvalidTransitionError(ValueError):
    """A transition outside ``VALID_TRANSITIONS`` was asked for."""


class Refusal(Exception):
    """An action or command that cannot be carried out now; ``str()`` is the reason shown."""


@dataclass
class SeedMetrics:
    """Accuracy bookkeeping for one seed, in validation-accuracy points."""

    epochs_total: int = 0
    epochs_in_current_stage: int = 0
    initial_val_accuracy: float = 0.0
    previous_val_accuracy: float = 0.0
    current_val_accuracy: float = 0.0
    best_val_accuracy: float = 0.0
    accuracy_at_stage_start: float = 0.0
    # Set when blending begins (alpha leaves 0). Before that the seed cannot have changed the
    # host's output, so host progress is not credited to it.
    accuracy_at_blend_start: float | None = None

    def record_accuracy(self, accuracy: float, advance_clock: bool = True) -> None:
        """Record this epoch's validation accuracy; a paused seed records without ageing."""
        if self.epochs_total == 0 and self.current_val_accuracy == 0.0:
            self.initial_val_accuracy = accuracy
            self.accuracy_at_stage_start = accuracy
        self.previous_val_accuracy = self.current_val_accuracy
        self.current_val_accuracy = accuracy
        self.best_val_accuracy = max(self.best_val_accuracy, accuracy)
        if advance_clock:
            self.epochs_total += 1
            self.epochs_in_current_stage += 1

    def baseline(self, accuracy: float) -> None:
        """Start the books at germination from the host's current validation accuracy."""
        self.initial_val_accuracy = accuracy
        self.previous_val_accuracy = accuracy
        self.current_val_accuracy = accuracy
        self.best_val_accuracy = accuracy
        self.accuracy_at_stage_start = accuracy

    @property
    def improvement_since_stage_start(self) -> float:
        return self.current_val_accuracy - self.accuracy_at_stage_start

    @property
    def total_improvement(self) -> float:
        return self.current_val_accuracy - self.initial_val_accuracy

    @property
    def contribution(self) -> float:
        """Accuracy change since the seed began to contribute (0 while its alpha is still 0)."""
        if self.accuracy_at_blend_start is None:
            return 0.0
        return self.current_val_accuracy - self.accuracy_at_blend_start


@dataclass(frozen=True, slots=True)
class StageTransition:
    """One entry of a seed's stage timeline; ``from_stage`` is read before the update."""

    epoch: int
    from_stage: int
    to_stage: int
    reason: str


@dataclass
class SeedState:
    """Complete state of a seed through its lifecycle."""

    seed_id: str
    blueprint_id: str
    slot_id: str = ""

    stage: SeedStage = SeedStage.DORMANT
    previous_stage: SeedStage = SeedStage.UNKNOWN
    stage_entered_at: datetime = field(default_factory=_utc_now)

    alpha: float = 0.0
    metrics: SeedMetrics = field(default_factory=SeedMetrics)

    # Flags
    is_healthy: bool = True
    is_paused: bool = False

    # History
    stage_history: list[tuple[SeedStage, datetime]] = field(default_factory=list)

    # Telemetry (initialized in __post_init__)
    telemetry: SeedTelemetry = field(default=None)  # type: ignore[assignment]

    # Beyond the plan: where the seed lives and what the dashboard shows about it.
    layer_id: str = ""
    germinated_epoch: int = 0
    germination_order: int = 0
    params: int = 0
    gradients_measured: bool = False  # measured in the last epoch
    gradient_epochs: int = 0  # epochs in which gradients were measured at all
    last_gate: GateResult | None = None
    gate_history: list[GateResult] = field(default_factory=list)
    transitions: list[StageTransition] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Initialize telemetry with seed identity."""
        if self.telemetry is None:
            self.telemetry = SeedTelemetry(
                seed_id=self.seed_id,
                blueprint_id=self.blueprint_id,
                layer_id=self.layer_id,
            )

    def sync_telemetry(
        self,
        gradient_norm: float,
        gradient_health: float,
        has_vanishing: bool,
        has_exploding: bool,
        epoch: int = 0,
        max_epochs: int = 25,
    ) -> None:
        """Sync telemetry from metrics + gradient signals, once per epoch after validation.

        SeedMetrics remains the source of truth for accuracy/epoch data.
        """
        self.telemetry.accuracy = self.metrics.current_val_accuracy
        self.telemetry.accuracy_delta = self.metrics.improvement_since_stage_start
        self.telemetry.epochs_in_stage = self.metrics.epochs_in_current_stage
        self.telemetry.stage = self.stage.value
        self.telemetry.alpha = self.alpha

        self.telemetry.gradient_norm = gradient_norm
        self.telemetry.gradient_health = gradient_health
        self.telemetry.has_vanishing = has_vanishing
        self.telemetry.has_exploding = has_exploding

        self.telemetry.epoch = epoch
        self.telemetry.max_epochs = max_epochs
        self.telemetry.captured_at = _utc_now()

    def transition(self, to_stage: SeedStage, epoch: int, reason: str) -> None:
        """Move to ``to_stage``; anything outside ``VALID_TRANSITIONS`` raises."""
        if not is_valid_transition(self.stage, to_stage):
            raise InvalidTransitionError(
                f"seed {self.seed_id} cannot go from {stage_name(self.stage)} to "
                f"{stage_name(to_stage)}"
            )
        self.transitions.append(StageTransition(epoch, int(self.stage), int(to_stage), reason))
        self.previous_stage = self.stage
        self.stage = SeedStage(to_stage)
        self.stage_entered_at = _utc_now()
        self.stage_history.append((self.stage, self.stage_entered_at))
        self.metrics.epochs_in_current_stage = 0
        self.metrics.accuracy_at_stage_start = self.metrics.current_val_accuracy
        if self.stage is SeedStage.BLENDING:
            self.metrics.accuracy_at_blend_start = self.metrics.current_val_accuracy

    def keep_gate(self, result: GateResult) -> None:
        self.last_gate = result
        self.gate_history.append(result)


class SeedSlot(nn.Module):
    """An injection point in the host. Empty, it is the identity; holding a seed it applies the
    lifecycle's rule for the seed's stage:

    - GERMINATED/TRAINING: ``h + (s - s.detach())`` with ``s = seed(h.detach())``: the forward
      value and the host's gradients are exactly those without the seed; the seed still learns
      from the task loss.
    - BLENDING..PROBATIONARY: ``h + alpha * (s - h)`` with ``s = seed(h)``, trained jointly.
    - FOSSILIZED: ``s``; the seed is part of the host.
    """

    def __init__(self, index: int, channels: int, layer_id: str, layer_index: int) -> None:
        super().__init__()
        self.index = index
        self.slot_id = f"slot{index}"
        self.channels = channels
        self.layer_id = layer_id
        self.layer_index = layer_index
        self.seed: nn.Module | None = None
        self.state: SeedState | None = None
        self.ramp: AlphaRamp | None = None

    # ----------------------------------------------------------------------- queries
    @property
    def stage(self) -> SeedStage:
        return SeedStage.DORMANT if self.state is None else self.state.stage

    @property
    def is_dormant(self) -> bool:
        return self.state is None

    @property
    def is_paused(self) -> bool:
        return self.state is not None and self.state.is_paused

    @property
    def alpha(self) -> float:
        return 0.0 if self.state is None else self.state.alpha

    @property
    def trains_seed(self) -> bool:
        """The seed gets optimizer steps of its own this epoch."""
        return (
            self.seed is not None
            and not self.is_paused
            and self.stage
            in (
                SeedStage.TRAINING,
                SeedStage.BLENDING,
                SeedStage.SHADOWING,
                SeedStage.PROBATIONARY,
            )
        )

    @property
    def measures_gradients(self) -> bool:
        """Gradients are collected for every live, unpaused seed (fossilized included)."""
        return self.seed is not None and not self.is_paused and is_live_stage(self.stage)

    # ----------------------------------------------------------------------- forward
    def forward(self, h: torch.Tensor) -> torch.Tensor:
        state, seed = self.state, self.seed
        if state is None or seed is None:
            return h
        stage = state.stage
        if stage in (SeedStage.GERMINATED, SeedStage.TRAINING):
            if state.is_paused:
                return h  # the straight-through value is h anyway; skip the seed's cost
            s = seed(h.detach())
            return h + (s - s.detach())
        if stage in (SeedStage.BLENDING, SeedStage.SHADOWING, SeedStage.PROBATIONARY):
            s = seed(h)
            alpha = state.alpha
            return s if alpha >= 1.0 else h + alpha * (s - h)
        if stage is SeedStage.FOSSILIZED:
            return seed(h)
        return h

    def train(self, mode: bool = True) -> SeedSlot:
        super().train(mode)
        if self.seed is not None and self.is_paused:
            self.seed.eval()  # a paused seed's batch-norm statistics must not move either
        return self

    # ----------------------------------------------------------------------- lifecycle
    def germinate(
        self,
        blueprint_id: str,
        seed_id: str,
        epoch: int,
        order: int,
        init_seed: int,
        device: torch.device,
        val_accuracy: float = 0.0,
    ) -> GateResult:
        """Grow ``blueprint_id`` here. The module is initialised from ``init_seed`` alone so that
        identical lanes grow identical seeds whatever else used the global RNG."""
        if self.state is not None:
            raise Refusal(f"{self.slot_id} is {stage_name(self.stage)}, not DORMANT")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(init_seed)
            module = build_blueprint(blueprint_id, self.channels)
        state = SeedState(
            seed_id=seed_id,
            blueprint_id=blueprint_id,
            slot_id=self.slot_id,
            layer_id=self.layer_id,
            germinated_epoch=epoch,
            germination_order=order,
            params=count_parameters(module),
        )
        state.metrics.baseline(val_accuracy)
        state.stage_history.append((SeedStage.DORMANT, state.stage_entered_at))
        gate = evaluate_gate(state, SeedStage.GERMINATED, LifecycleConfig(), epoch)
        state.keep_gate(gate)
        state.transition(SeedStage.GERMINATED, epoch, f"germinated {blueprint_id}")
        self.seed = module.to(device)
        self.seed.train(self.training)
        self.state = state
        return gate

    def move(
        self, to_stage: SeedStage, epoch: int, reason: str, config: LifecycleConfig
    ) -> GateResult:
        """Pass the gate for ``to_stage`` and transition; a failed gate raises ``Refusal``."""
        state = self._require_state()
        gate = evaluate_gate(state, to_stage, config, epoch)
        state.keep_gate(gate)
        if not gate.passed:
            raise Refusal(gate.reason())
        state.transition(to_stage, epoch, reason)
        if to_stage is SeedStage.BLENDING:
            self.ramp = None  # built by start_blending once the batch count is known
        elif to_stage is SeedStage.SHADOWING:
            self.ramp = None
            state.alpha = 1.0
        elif to_stage is SeedStage.CULLED:
            self.seed = None
            self.ramp = None
            state.alpha = 0.0
            state.is_paused = False
        elif to_stage is SeedStage.DORMANT:
            self.seed = None
            self.state = None
        return gate

    def start_blending(self, total_steps: int) -> None:
        self.ramp = AlphaRamp(total_steps)
        self._require_state().alpha = self.ramp.value

    def step_alpha(self) -> None:
        """One batch of blending. Does nothing outside BLENDING or while paused."""
        state = self.state
        if self.ramp is None or state is None or state.is_paused:
            return
        if state.stage is not SeedStage.BLENDING:
            self.ramp = None
            return
        state.alpha = self.ramp.step()

    def set_paused(self, paused: bool) -> None:
        state = self._require_state()
        if self.seed is None or not is_live_stage(state.stage):
            raise Refusal(f"{self.slot_id} holds no live seed to {'pause' if paused else 'resume'}")
        if is_terminal_stage(state.stage):
            raise Refusal(f"the seed in {self.slot_id} is FOSSILIZED; it is part of the host")
        if state.is_paused == paused:
            raise Refusal(
                f"the seed in {self.slot_id} is already {'paused' if paused else 'running'}"
            )
        state.is_paused = paused
        for p in self.seed.parameters():
            p.requires_grad_(not paused)
        self.seed.train(self.training and not paused)

    def _require_state(self) -> SeedState:
        if self.state is None:
            raise Refusal(f"{self.slot_id} is empty (DORMANT)")
        return self.state

    @property
    def is_failed(self) -> bool:
        return self.state is not None and is_failure_stage(self.state.stage)
