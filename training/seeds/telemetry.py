"""The per-seed telemetry contract of the user's plan (Task 1) and the feature descriptions
the dashboard uses to show what the agent sees and where a normalisation saturates.

No torch here: widgets import this module through ``training.records``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime


def _utc_now() -> datetime:
    return datetime.now(UTC)


# Normalisation constants of ``SeedTelemetry.to_features``. Named once so the saturation panel
# reads the same bounds the features use.
GRADIENT_NORM_SCALE = 10.0
EPOCHS_IN_STAGE_SCALE = 50
ACCURACY_DELTA_SCALE = 10.0


@dataclass(slots=True)
class SeedTelemetry:
    """Per-seed telemetry snapshot: the seed's local picture, as the plan defines it.

    ``gradient_norm`` is the global L2 norm of the seed's gradients averaged over the epoch's
    batches (docs/architecture.md, "Gradient telemetry"), not the plan's per-tensor average.
    """

    seed_id: str
    blueprint_id: str = ""
    layer_id: str = ""

    # Health signals (lightweight, always collected)
    gradient_norm: float = 0.0
    gradient_health: float = 1.0  # 0-1, higher is healthier
    has_vanishing: bool = False
    has_exploding: bool = False

    # Progress signals
    accuracy: float = 0.0  # percentage (0-100)
    accuracy_delta: float = 0.0  # positive = improving
    epochs_in_stage: int = 0

    # Stage context
    stage: int = 1  # SeedStage value (1-7)
    alpha: float = 0.0  # blending weight (0-1)

    # Temporal context
    epoch: int = 0
    max_epochs: int = 25

    # Timestamp for staleness detection
    captured_at: datetime = field(default_factory=_utc_now)

    def to_features(self) -> list[float]:
        """The 10-dim feature vector for RL policies, each approximately in [0, 1]."""
        return [
            min(self.gradient_norm, GRADIENT_NORM_SCALE) / GRADIENT_NORM_SCALE,
            self.gradient_health,
            float(self.has_vanishing),
            float(self.has_exploding),
            min(self.epochs_in_stage, EPOCHS_IN_STAGE_SCALE) / EPOCHS_IN_STAGE_SCALE,
            self.accuracy / 100.0,
            max(-1.0, min(1.0, self.accuracy_delta / ACCURACY_DELTA_SCALE)),
            (self.stage - 1) / 6.0,  # stages 1-7 -> [0, 1]
            self.alpha,
            self.epoch / max(self.max_epochs, 1),  # temporal position
        ]

    @classmethod
    def feature_dim(cls) -> int:
        """Return current feature vector dimension."""
        return 10

    def to_dict(self) -> dict:
        return {
            "seed_id": self.seed_id,
            "blueprint_id": self.blueprint_id,
            "layer_id": self.layer_id,
            "gradient_norm": self.gradient_norm,
            "gradient_health": self.gradient_health,
            "has_vanishing": self.has_vanishing,
            "has_exploding": self.has_exploding,
            "accuracy": self.accuracy,
            "accuracy_delta": self.accuracy_delta,
            "epochs_in_stage": self.epochs_in_stage,
            "stage": self.stage,
            "alpha": self.alpha,
            "epoch": self.epoch,
            "max_epochs": self.max_epochs,
            "captured_at": self.captured_at.isoformat(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> SeedTelemetry:
        values = dict(data)
        values["captured_at"] = datetime.fromisoformat(values["captured_at"])
        return cls(**values)

    @classmethod
    def dormant(cls, epoch: int, max_epochs: int, layer_id: str = "") -> SeedTelemetry:
        """What an empty slot looks like to the agent, never zeros: the plan's defaults with
        the run's temporal context. Used instead of zero padding when there is no focus seed."""
        return cls(seed_id="dormant", layer_id=layer_id, epoch=epoch, max_epochs=max_epochs)


@dataclass(frozen=True, slots=True)
class FeatureSpec:
    """One normalised seed feature: what the agent sees, from which raw field, clipped where.

    ``lower``/``upper`` are the raw values at which the normalised feature stops moving; None
    where the normalisation does not clip.
    """

    index: int
    name: str
    raw_field: str
    description: str
    lower: float | None = None
    upper: float | None = None

    @property
    def clips(self) -> bool:
        return self.lower is not None or self.upper is not None

    def pegged(self, raw: float) -> bool:
        """True when the raw value sits at or beyond a clip bound (the feature is saturated)."""
        if raw != raw:  # NaN saturates nothing; it is a separate failure shown elsewhere
            return False
        if self.upper is not None and raw >= self.upper:
            return True
        return self.lower is not None and raw <= self.lower

    def bound_text(self) -> str:
        if self.lower is not None and self.upper is not None:
            return f"±{self.upper:g}"
        if self.upper is not None:
            return f"≤{self.upper:g}"
        return "—"


SEED_FEATURES: tuple[FeatureSpec, ...] = (
    FeatureSpec(
        0,
        "grad_norm",
        "gradient_norm",
        "global L2 gradient norm / 10, clipped at 10",
        upper=GRADIENT_NORM_SCALE,
    ),
    FeatureSpec(1, "grad_health", "gradient_health", "0-1 share of healthy gradient tensors"),
    FeatureSpec(2, "vanishing", "has_vanishing", "a tensor's gradient norm fell below 1e-7"),
    FeatureSpec(
        3, "exploding", "has_exploding", "a tensor's gradient norm rose above 100 or was non-finite"
    ),
    FeatureSpec(
        4,
        "epochs_in_stage",
        "epochs_in_stage",
        "epochs in the current stage / 50, clipped at 50",
        upper=float(EPOCHS_IN_STAGE_SCALE),
    ),
    FeatureSpec(5, "seed_accuracy", "accuracy", "validation accuracy / 100"),
    FeatureSpec(
        6,
        "accuracy_delta",
        "accuracy_delta",
        "improvement since stage start / 10, clipped at ±10",
        lower=-ACCURACY_DELTA_SCALE,
        upper=ACCURACY_DELTA_SCALE,
    ),
    FeatureSpec(7, "stage", "stage", "(stage - 1) / 6: DORMANT 0 .. FOSSILIZED 1"),
    FeatureSpec(8, "alpha", "alpha", "blending weight 0-1"),
    FeatureSpec(9, "temporal", "epoch", "epoch / max_epochs"),
)


class LayerRegistry:
    """Maps ``layer_id`` strings to small integers once, when the model is built, so per-epoch
    code never hashes strings (a review note of the plan)."""

    def __init__(self) -> None:
        self._ids: dict[str, int] = {}

    def register(self, layer_id: str) -> int:
        if layer_id not in self._ids:
            self._ids[layer_id] = len(self._ids)
        return self._ids[layer_id]

    def index(self, layer_id: str) -> int:
        try:
            return self._ids[layer_id]
        except KeyError:
            raise KeyError(f"unknown layer {layer_id!r}; known: {', '.join(self._ids)}") from None

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self):
        return iter(self._ids)

    def items(self) -> list[tuple[str, int]]:
        return list(self._ids.items())
