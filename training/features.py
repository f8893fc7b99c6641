"""What a policy sees: the plan's 27 base features, the 10 seed-telemetry features (37, "seed")
and the legacy 54 ("full": 27 base + 27 real diagnostics). No torch here.

The plan fixes the base features' order (its observation dict) but not their scales; ours are
below, each derived from the run's configuration where one applies (``max_epochs``,
``num_slots``), never from a hard-coded episode length.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

from training.signals import Diagnostics, TrainingSnapshot
from training.telemetry import SEED_FEATURES, SeedTelemetry

CHANCE_LOSS = math.log(10.0)  # cross-entropy of a uniform guess over 10 classes
STEP_SCALE = math.log1p(1e5)


def _clip(x: float, lo: float = -1.0, hi: float = 1.0) -> float:
    if x != x:  # NaN: a diverged run reads as the worst value, never as NaN
        return hi
    return max(lo, min(hi, x))


BASE_FEATURE_NAMES: tuple[str, ...] = (
    "epoch",  # epoch / max_epochs
    "global_step",  # log1p(step) / log1p(1e5)
    "train_loss",  # / ln 10 (chance), clipped to [0, 3]
    "val_loss",
    "loss_delta",  # val loss change / ln 10, clipped to ±1
    "train_accuracy",  # / 100
    "val_accuracy",
    "accuracy_delta",  # points / 10, clipped to ±1
    "plateau_epochs",  # / max_epochs
    "best_val_accuracy",
    "best_val_loss",
    *(f"loss_hist_{i}" for i in range(5)),
    *(f"acc_hist_{i}" for i in range(5)),
    "has_active_seed",
    "seed_stage",  # stage value / 10
    "seed_epochs_in_stage",  # / max_epochs
    "seed_alpha",
    "seed_improvement",  # points / 10, clipped to ±1
    "available_slots",  # / num_slots
)
SEED_FEATURE_NAMES: tuple[str, ...] = tuple(f"seed.{spec.name}" for spec in SEED_FEATURES)
DIAGNOSTIC_FEATURE_NAMES: tuple[str, ...] = (
    "host_grad_norm",  # global L2 norm of host gradients / 10, clipped at 1
    "host_grad_health",
    "host_vanishing_layers",  # share of the 7 host layers
    "host_exploding_layers",
    "focus_seed_grad_norm",  # / 10, clipped at 1
    *(f"class_{i}_accuracy" for i in range(10)),  # per-class validation accuracy / 100
    "class_accuracy_spread",  # std of per-class accuracy / 50, clipped at 1
    "sharpness_proxy",  # std / mean of the epoch's batch losses, clipped at 1
    *(f"layer_{i}_grad_norm" for i in range(7)),  # conv1 bn1 conv2 bn2 conv3 bn3 head, / 10
    "flag_nonfinite_loss",
    "flag_accuracy_collapse",  # val accuracy 10+ points under its best
    "flag_overfitting",  # train accuracy 15+ points over val
)
assert len(BASE_FEATURE_NAMES) == 27 and len(DIAGNOSTIC_FEATURE_NAMES) == 27

FEATURE_SETS = {"none": 27, "seed": 37, "full": 54}


def obs_to_base_features(obs: dict) -> list[float]:
    """The 27 base features, in the plan's field order."""
    max_epochs = max(int(obs.get("max_epochs", 25)), 1)
    num_slots = max(int(obs.get("num_slots", 3)), 1)
    best_loss = obs["best_val_loss"]
    best_loss = 0.0 if best_loss == float("inf") else best_loss
    return [
        obs["epoch"] / max_epochs,
        math.log1p(max(obs["global_step"], 0)) / STEP_SCALE,
        _clip(obs["train_loss"] / CHANCE_LOSS, 0.0, 3.0),
        _clip(obs["val_loss"] / CHANCE_LOSS, 0.0, 3.0),
        _clip(obs["loss_delta"] / CHANCE_LOSS),
        obs["train_accuracy"] / 100.0,
        obs["val_accuracy"] / 100.0,
        _clip(obs["accuracy_delta"] / 10.0),
        min(obs["plateau_epochs"] / max_epochs, 1.0),
        obs["best_val_accuracy"] / 100.0,
        _clip(best_loss / CHANCE_LOSS, 0.0, 3.0),
        *(_clip(v / CHANCE_LOSS, 0.0, 3.0) for v in obs["loss_history_5"]),
        *(v / 100.0 for v in obs["accuracy_history_5"]),
        float(bool(obs["has_active_seed"])),
        obs["seed_stage"] / 10.0,
        min(obs["seed_epochs_in_stage"] / max_epochs, 1.0),
        float(obs["seed_alpha"]),
        _clip(obs["seed_improvement"] / 10.0),
        obs["available_slots"] / num_slots,
    ]


def _observation(snapshot: TrainingSnapshot) -> dict:
    obs = snapshot.as_observation()
    obs["max_epochs"] = snapshot.max_epochs
    obs["num_slots"] = snapshot.num_slots
    return obs


def snapshot_to_features(
    snapshot: TrainingSnapshot,
    use_telemetry: bool = False,
    seed_telemetry: SeedTelemetry | None = None,
) -> list[float]:
    """The plan's Task 4: 27 dims, or 37 with the seed's 10 telemetry features.

    With ``use_telemetry`` and no telemetry this warns and pads with zeros, as the plan does; a
    live run never gets there because the env always supplies the focus seed's telemetry or a
    dormant slot's (DESIGN.md §5).
    """
    features = obs_to_base_features(_observation(snapshot))
    if use_telemetry:
        if seed_telemetry is not None:
            features.extend(seed_telemetry.to_features())
        else:
            warnings.warn(
                "use_telemetry=True but no seed_telemetry provided. "
                "Using zero-padding which may cause distribution shift.",
                UserWarning,
                stacklevel=2,
            )
            features.extend([0.0] * SeedTelemetry.feature_dim())
    return features


def diagnostic_features(snapshot: TrainingSnapshot) -> list[float]:
    """The 27 real diagnostics of the legacy "full" input (never zero padding)."""
    d: Diagnostics = snapshot.diagnostics
    per_class = list(d.per_class_accuracy)[:10] + [0.0] * max(0, 10 - len(d.per_class_accuracy))
    mean = sum(per_class) / 10.0
    spread = math.sqrt(sum((a - mean) ** 2 for a in per_class) / 10.0)
    layers = list(d.layer_gradient_norms)[:7] + [0.0] * max(0, 7 - len(d.layer_gradient_norms))
    return [
        _clip(d.host_gradient_norm / 10.0, 0.0, 1.0),
        d.host_gradient_health,
        d.host_vanishing_layers / 7.0,
        d.host_exploding_layers / 7.0,
        _clip(d.seed_gradient_norm / 10.0, 0.0, 1.0),
        *(a / 100.0 for a in per_class),
        _clip(spread / 50.0, 0.0, 1.0),
        _clip(d.loss_volatility, 0.0, 1.0),
        *(_clip(n / 10.0, 0.0, 1.0) for n in layers),
        float(d.nonfinite_loss),
        float(snapshot.best_val_accuracy - snapshot.val_accuracy >= 10.0),
        float(snapshot.train_accuracy - snapshot.val_accuracy >= 15.0),
    ]


def features_for(snapshot: TrainingSnapshot, feature_set: str) -> list[float]:
    """The input vector of a feature set: "none" (27), "seed" (37) or "full" (54)."""
    if feature_set == "none":
        return snapshot_to_features(snapshot)
    if feature_set == "seed":
        return snapshot_to_features(snapshot, use_telemetry=True, seed_telemetry=_telemetry(snapshot))
    if feature_set == "full":
        return snapshot_to_features(snapshot) + diagnostic_features(snapshot)
    raise ValueError(f"unknown feature set {feature_set!r}; choose none, seed or full")


def _telemetry(snapshot: TrainingSnapshot) -> SeedTelemetry:
    if snapshot.seed_telemetry is not None:
        return snapshot.seed_telemetry
    return SeedTelemetry.dormant(snapshot.epoch, snapshot.max_epochs)


def feature_names(feature_set: str) -> tuple[str, ...]:
    if feature_set == "none":
        return BASE_FEATURE_NAMES
    if feature_set == "seed":
        return BASE_FEATURE_NAMES + SEED_FEATURE_NAMES
    if feature_set == "full":
        return BASE_FEATURE_NAMES + DIAGNOSTIC_FEATURE_NAMES
    return tuple(f"x{i}" for i in range(FEATURE_SETS.get(feature_set, 0)))


def feature_set_for_dim(state_dim: int) -> str:
    """The plan's inference: 27 none, 37 seed, 54 full, anything else unknown."""
    return {27: "none", 37: "seed", 54: "full"}.get(state_dim, "unknown")


@dataclass(frozen=True)
class FeatureNormalizer:
    """Per-feature mean and std from a dataset; stored in checkpoints so that a reloaded policy
    sees the world it was trained on. A constant feature gets std 1 (z = x - mean)."""

    mean: tuple[float, ...]
    std: tuple[float, ...]

    @classmethod
    def identity(cls, dim: int) -> FeatureNormalizer:
        return cls((0.0,) * dim, (1.0,) * dim)

    @classmethod
    def fit(cls, rows: Sequence[Sequence[float]]) -> FeatureNormalizer:
        """Population mean and std per feature of ``rows`` ([N, D]: a numpy array or rows)."""
        import numpy as np

        states = np.asarray(rows, dtype=np.float64)
        if states.ndim != 2 or states.shape[0] == 0:
            raise ValueError("cannot fit a normalizer on no data")
        std = states.std(0)
        return cls(tuple(states.mean(0).tolist()), tuple(np.where(std > 1e-6, std, 1.0).tolist()))

    @property
    def dim(self) -> int:
        return len(self.mean)

    def z_scores(self, features: Sequence[float]) -> list[float]:
        return [(x - m) / s for x, m, s in zip(features, self.mean, self.std, strict=True)]
