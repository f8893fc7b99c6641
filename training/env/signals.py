"""Training signals per epoch (the plan's ``SignalTracker``/``TrainingSnapshot``).

No torch here: snapshots are plain values that policies, features and records all read.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from training.seeds.telemetry import SeedTelemetry

HISTORY = 5
# An epoch "improves" when validation accuracy beats the best so far by at least this much.
# One point: about twice the sampling noise of the synthetic task's 4,000 validation images, so
# that noise alone rarely resets the plateau count.
PLATEAU_MIN_DELTA = 1.0


@dataclass(frozen=True, slots=True)
class TrainingSignals:
    """Host-level signals after one epoch."""

    epoch: int = 0
    global_step: int = 0
    train_loss: float = 0.0
    val_loss: float = 0.0
    loss_delta: float = 0.0  # val loss change since last epoch (negative = improving)
    train_accuracy: float = 0.0
    val_accuracy: float = 0.0
    accuracy_delta: float = 0.0  # val accuracy change since last epoch, in points
    plateau_epochs: int = 0
    best_val_accuracy: float = 0.0
    best_val_loss: float = float("inf")
    loss_history_5: tuple[float, ...] = (0.0,) * HISTORY
    accuracy_history_5: tuple[float, ...] = (0.0,) * HISTORY


GRADIENT_LAYERS = 7  # the host's weight tensors whose gradients the legacy diagnostics report
VANISHING_GRADIENT = 1e-7  # esper-lite's per-entry thresholds
EXPLODING_GRADIENT = 1e3


@dataclass(frozen=True, slots=True)
class Diagnostics:
    """Raw per-epoch diagnostics behind the legacy 54-dim ("full") features, in esper-lite's
    units (its ``nissa`` tracker): gradient stats of the epoch's last batch, one entry per host
    weight tensor in module order; per-class validation accuracy in percent; sharpness."""

    layer_weight_norms: tuple[float, ...] = ()  # L2 norm of each weight gradient
    layer_vanishing: tuple[float, ...] = ()  # share of its entries with |g| < 1e-7
    layer_exploding: tuple[float, ...] = ()  # share of its entries with |g| > 1e3
    per_class_accuracy: tuple[float, ...] = ()  # percent, classes 0..9
    sharpness: float | None = None  # mean |Δ val loss| under weight noise, / noise scale


@dataclass(frozen=True, slots=True)
class TrainingSnapshot:
    """What a policy sees at a decision: the plan's fields, then ours (all with defaults)."""

    epoch: int
    global_step: int
    train_loss: float
    val_loss: float
    loss_delta: float
    train_accuracy: float
    val_accuracy: float
    accuracy_delta: float
    plateau_epochs: int
    best_val_accuracy: float
    best_val_loss: float
    loss_history_5: tuple[float, ...]
    accuracy_history_5: tuple[float, ...]
    has_active_seed: bool
    seed_stage: int
    seed_epochs_in_stage: int
    seed_alpha: float
    seed_improvement: float
    available_slots: int
    # --- beyond the plan
    max_epochs: int = 25
    num_slots: int = 1
    focus_slot: int | None = None
    focus_paused: bool = False
    seed_telemetry: SeedTelemetry | None = None  # the focus seed's, or a dormant slot's
    diagnostics: Diagnostics = field(default_factory=Diagnostics)

    def as_observation(self) -> dict:
        """The plan's observation dict (``obs_to_base_features`` input)."""
        return {
            "epoch": self.epoch,
            "global_step": self.global_step,
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "loss_delta": self.loss_delta,
            "train_accuracy": self.train_accuracy,
            "val_accuracy": self.val_accuracy,
            "accuracy_delta": self.accuracy_delta,
            "plateau_epochs": self.plateau_epochs,
            "best_val_accuracy": self.best_val_accuracy,
            "best_val_loss": self.best_val_loss,
            "loss_history_5": list(self.loss_history_5),
            "accuracy_history_5": list(self.accuracy_history_5),
            "has_active_seed": self.has_active_seed,
            "seed_stage": self.seed_stage,
            "seed_epochs_in_stage": self.seed_epochs_in_stage,
            "seed_alpha": self.seed_alpha,
            "seed_improvement": self.seed_improvement,
            "available_slots": self.available_slots,
        }


class SignalTracker:
    """Turns each epoch's losses and accuracies into ``TrainingSignals``."""

    def __init__(self, plateau_min_delta: float = PLATEAU_MIN_DELTA) -> None:
        self.plateau_min_delta = plateau_min_delta
        self.reset()

    def reset(self) -> None:
        self._losses: deque[float] = deque(maxlen=HISTORY)
        self._accuracies: deque[float] = deque(maxlen=HISTORY)
        self._best_acc = 0.0
        self._best_loss = float("inf")
        self._plateau = 0
        self._last = TrainingSignals()

    @property
    def last(self) -> TrainingSignals:
        return self._last

    def update(
        self,
        epoch: int,
        global_step: int,
        train_loss: float,
        val_loss: float,
        train_accuracy: float,
        val_accuracy: float,
    ) -> TrainingSignals:
        first = not self._accuracies
        prev_loss = val_loss if first else self._losses[-1]
        prev_acc = 0.0 if first else self._accuracies[-1]
        if val_accuracy >= self._best_acc + self.plateau_min_delta or first:
            self._plateau = 0
        else:
            self._plateau += 1
        self._best_acc = max(self._best_acc, val_accuracy)
        self._best_loss = min(self._best_loss, val_loss)
        self._losses.append(val_loss)
        self._accuracies.append(val_accuracy)
        pad_l = (self._losses[0],) * (HISTORY - len(self._losses))
        pad_a = (self._accuracies[0],) * (HISTORY - len(self._accuracies))
        self._last = TrainingSignals(
            epoch=epoch,
            global_step=global_step,
            train_loss=train_loss,
            val_loss=val_loss,
            loss_delta=val_loss - prev_loss,
            train_accuracy=train_accuracy,
            val_accuracy=val_accuracy,
            accuracy_delta=val_accuracy - prev_acc,
            plateau_epochs=self._plateau,
            best_val_accuracy=self._best_acc,
            best_val_loss=self._best_loss,
            loss_history_5=pad_l + tuple(self._losses),
            accuracy_history_5=pad_a + tuple(self._accuracies),
        )
        return self._last
