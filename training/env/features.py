"""What a policy sees: the plan's 27 base features, the 10 seed-telemetry features (37, "seed")
and the legacy 54 ("full": 27 base + 27 diagnostics). No torch here.

**Upstream fidelity.** The plan imports ``obs_to_base_features`` and the 27 diagnostics from
esper-lite's ``simic.features``, and plan-format checkpoints were trained on exactly those
vectors with no normalisation. So both are esper-lite's, value for value: raw epochs, steps,
losses and percentages, ``safe()`` defaults for missing or non-finite values. Rescaling belongs
to our own checkpoints (``obs_mean``/``obs_std``, applied inside the policy), never to the
feature functions. One addition: a non-finite accuracy, alpha or improvement becomes 0, so no
NaN ever reaches a network (esper-lite passed those through as they were).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from training.env.signals import GRADIENT_LAYERS, Diagnostics, TrainingSnapshot
from training.seeds.telemetry import SEED_FEATURES, SeedTelemetry


def safe(v: object, default: float = 0.0, max_val: float = 100.0) -> float:
    """esper-lite's ``safe``: ``default`` for None, NaN or ±inf, else clipped to ±``max_val``."""
    if v is None:
        return default
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return default
    return max(-max_val, min(float(v), max_val))  # type: ignore[arg-type]


def finite(v: object) -> float:
    """A value esper-lite passed through as it was, with NaN and ±inf made 0 (our addition)."""
    x = float(v)  # type: ignore[arg-type]
    return x if math.isfinite(x) else 0.0


BASE_FEATURE_NAMES: tuple[str, ...] = (
    "epoch",
    "global_step",
    "train_loss",
    "val_loss",
    "loss_delta",
    "train_accuracy",
    "val_accuracy",
    "accuracy_delta",
    "plateau_epochs",
    "best_val_accuracy",
    "best_val_loss",
    *(f"loss_hist_{i}" for i in range(5)),
    *(f"acc_hist_{i}" for i in range(5)),
    "has_active_seed",
    "seed_stage",
    "seed_epochs_in_stage",
    "seed_alpha",
    "seed_improvement",
    "available_slots",
)
SEED_FEATURE_NAMES: tuple[str, ...] = tuple(f"seed.{spec.name}" for spec in SEED_FEATURES)
DIAGNOSTIC_FEATURE_NAMES: tuple[str, ...] = (
    "grad_overall_norm",  # mean of the per-layer weight-gradient L2 norms, ±10
    "grad_norm_variance",  # population variance of those norms, ±10
    "grad_vanishing_layers",  # layers with > 50 % of |g| < 1e-7
    "grad_exploding_layers",  # layers with > 1 % of |g| > 1e3
    "grad_health_score",  # 1 - 0.2/vanishing - 0.3/exploding - ..., in [0, 1]
    *(f"class_{i}_accuracy" for i in range(10)),  # per-class validation accuracy, percent
    "class_variance",  # population variance of the ten percentages, ±1000
    "sharpness",  # mean |Δ val loss| under weight noise 0.01, / 0.01, ±100
    *(f"layer_{i}_grad_norm" for i in range(7)),  # conv1 bn1 conv2 bn2 conv3 bn3 head weights, ±10
    "flag_severe_class_imbalance",  # class_variance > 200
    "flag_sharp_minimum",  # sharpness > 1
    "flag_gradient_issues",  # vanishing or exploding layers, or health < 0.5 (see diagnostic_features)
)
assert len(BASE_FEATURE_NAMES) == 27 and len(DIAGNOSTIC_FEATURE_NAMES) == 27

FEATURE_SETS = {"none": 27, "seed": 37, "full": 54}
# The order feature sets are stored in, smallest first.
ALL_FEATURE_SETS = tuple(sorted(FEATURE_SETS, key=FEATURE_SETS.__getitem__))


def obs_to_base_features(obs: dict) -> list[float]:
    """esper-lite's 27 base features, in the observation dict's order, raw."""
    return [
        float(obs["epoch"]),
        float(obs["global_step"]),
        safe(obs["train_loss"], 10.0),
        safe(obs["val_loss"], 10.0),
        safe(obs["loss_delta"], 0.0),
        finite(obs["train_accuracy"]),
        finite(obs["val_accuracy"]),
        safe(obs["accuracy_delta"], 0.0),
        float(obs["plateau_epochs"]),
        finite(obs["best_val_accuracy"]),
        safe(obs["best_val_loss"], 10.0),
        *(safe(v, 10.0) for v in obs["loss_history_5"]),
        *(finite(v) for v in obs["accuracy_history_5"]),
        float(obs["has_active_seed"]),
        float(obs["seed_stage"]),
        float(obs["seed_epochs_in_stage"]),
        finite(obs["seed_alpha"]),
        finite(obs["seed_improvement"]),
        float(obs["available_slots"]),
    ]


def snapshot_to_features(
    snapshot: TrainingSnapshot,
    use_telemetry: bool = False,
    seed_telemetry: SeedTelemetry | None = None,
) -> list[float]:
    """The plan's Task 4: 27 dims, or 37 with the seed's 10 telemetry features.

    With ``use_telemetry`` and no telemetry this warns and pads with zeros, as the plan does; a
    live run never gets there because the env always supplies the focus seed's telemetry or a
    dormant slot's (``SeedTelemetry.dormant``).
    """
    features = obs_to_base_features(snapshot.as_observation())
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


@dataclass(frozen=True, slots=True)
class GradientHealth:
    """esper-lite's aggregate over per-layer gradient stats (``nissa`` ``GradientHealth``)."""

    overall_norm: float = 0.0
    norm_variance: float = 0.0
    vanishing_layers: int = 0
    exploding_layers: int = 0
    health_score: float = 1.0

    @classmethod
    def from_layers(
        cls, norms: Sequence[float], vanishing: Sequence[float], exploding: Sequence[float]
    ) -> GradientHealth:
        if not norms:
            return cls()
        overall = float(np.mean(norms))
        variance = float(np.var(norms))
        n_vanishing = sum(1 for v in vanishing if v > 0.5)
        n_exploding = sum(1 for e in exploding if e > 0.01)
        score = 1.0 - 0.2 * n_vanishing - 0.3 * n_exploding
        score -= 0.1 if variance > 10 else 0.0
        score -= 0.3 if overall < 1e-5 else 0.0
        score -= 0.2 if overall > 100 else 0.0
        return cls(overall, variance, n_vanishing, n_exploding, max(0.0, min(1.0, score)))

    @property
    def has_issues(self) -> bool:
        """What esper-lite's tracker flags as vanishing, exploding or poor gradient health."""
        return self.vanishing_layers > 0 or self.exploding_layers > 0 or self.health_score < 0.5


def diagnostic_features(snapshot: TrainingSnapshot) -> list[float]:
    """esper-lite's 27 telemetry features, from our own measurements in its units.

    ``flag_gradient_issues``: esper-lite looked for a red flag its tracker never raised, so its
    models always saw 0 there. We raise it when the tracker would have raised any of its three
    gradient flags (vanishing, exploding, poor health): 0 in the healthy runs those models were
    trained on, 1 exactly when gradients go bad, which is what the slot's name promises.
    """
    d: Diagnostics = snapshot.diagnostics
    health = GradientHealth.from_layers(d.layer_weight_norms, d.layer_vanishing, d.layer_exploding)
    per_class = [safe(a, 50.0, 100.0) for a in d.per_class_accuracy[:10]]
    per_class += [50.0] * (10 - len(per_class))
    variance = float(np.var(list(d.per_class_accuracy))) if d.per_class_accuracy else 0.0
    sharp = d.sharpness
    layers = [safe(n, 0.0, 10.0) for n in d.layer_weight_norms[:GRADIENT_LAYERS]]
    layers += [0.0] * (GRADIENT_LAYERS - len(layers))
    return [
        safe(health.overall_norm, 0.0, 10.0),
        safe(health.norm_variance, 0.0, 10.0),
        float(health.vanishing_layers),
        float(health.exploding_layers),
        safe(health.health_score, 1.0, 1.0),
        *per_class,
        safe(variance, 0.0, 1000.0),
        safe(sharp, 0.0, 100.0),
        *layers,
        1.0 if variance > 200 else 0.0,
        1.0 if sharp is not None and sharp > 1.0 else 0.0,
        1.0 if health.has_issues else 0.0,
    ]


def features_for(snapshot: TrainingSnapshot, feature_set: str) -> list[float]:
    """The input vector of a feature set: "none" (27), "seed" (37) or "full" (54)."""
    if feature_set == "none":
        return snapshot_to_features(snapshot)
    if feature_set == "seed":
        return snapshot_to_features(
            snapshot, use_telemetry=True, seed_telemetry=_telemetry(snapshot)
        )
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


# ----------------------------------------------------------------------------- plan ranges
# The range each feature takes in esper-lite's own pipeline at the plan's date (CIFAR-10, up to
# 100 epochs of ~400 steps, 3 slots): what a plan-format model, which has no normaliser, was
# trained on. Losses and deltas are bounded by ``safe``'s ±100.
_BASE_RANGES: dict[str, tuple[float, float]] = {
    "epoch": (0.0, 100.0), "global_step": (0.0, 50_000.0),
    "train_loss": (0.0, 10.0), "val_loss": (0.0, 10.0), "loss_delta": (-10.0, 10.0),
    "train_accuracy": (0.0, 100.0), "val_accuracy": (0.0, 100.0), "accuracy_delta": (-100.0, 100.0),
    "plateau_epochs": (0.0, 100.0), "best_val_accuracy": (0.0, 100.0), "best_val_loss": (0.0, 10.0),
    **{f"loss_hist_{i}": (0.0, 10.0) for i in range(5)},
    **{f"acc_hist_{i}": (0.0, 100.0) for i in range(5)},
    "has_active_seed": (0.0, 1.0), "seed_stage": (0.0, 10.0), "seed_epochs_in_stage": (0.0, 100.0),
    "seed_alpha": (0.0, 1.0), "seed_improvement": (-100.0, 100.0), "available_slots": (0.0, 3.0),
}  # fmt: skip
_SEED_RANGES = {
    name: (-1.0 / 6.0, 1.5)
    if name == "seed.stage"
    else (-1.0, 1.0)
    if name == "seed.accuracy_delta"
    else (0.0, 1.0)
    for name in SEED_FEATURE_NAMES
}
_DIAGNOSTIC_RANGES = {
    "grad_overall_norm": (0.0, 10.0), "grad_norm_variance": (0.0, 10.0),
    "grad_vanishing_layers": (0.0, 7.0), "grad_exploding_layers": (0.0, 7.0), "grad_health_score": (0.0, 1.0),
    **{f"class_{i}_accuracy": (0.0, 100.0) for i in range(10)},
    "class_variance": (0.0, 1000.0), "sharpness": (0.0, 100.0),
    **{f"layer_{i}_grad_norm": (0.0, 10.0) for i in range(7)},
    "flag_severe_class_imbalance": (0.0, 1.0), "flag_sharp_minimum": (0.0, 1.0), "flag_gradient_issues": (0.0, 1.0),
}  # fmt: skip
PLAN_RANGES: dict[str, tuple[float, float]] = {**_BASE_RANGES, **_SEED_RANGES, **_DIAGNOSTIC_RANGES}


def range_excess(features: Sequence[float], feature_set: str) -> list[float]:
    """For each input, how many range-widths it lies beyond esper-lite's range (signed; 0 inside).

    The plan-format analogue of a z-score: such checkpoints carry no statistics, so the only
    honest reference is the range esper-lite's own pipeline produced.
    """
    out = []
    for name, x in zip(feature_names(feature_set), features, strict=True):
        lo, hi = PLAN_RANGES.get(name, (-math.inf, math.inf))
        width = hi - lo if math.isfinite(hi - lo) and hi > lo else 1.0
        out.append((x - hi) / width if x > hi else (x - lo) / width if x < lo else 0.0)
    return out


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
    def fit(cls, rows: Sequence[Sequence[float]] | np.ndarray) -> FeatureNormalizer:
        """Population mean and std per feature of ``rows`` ([N, D]: a numpy array or rows)."""
        states = np.asarray(rows, dtype=np.float64)
        if states.ndim != 2 or states.shape[0] == 0:
            raise ValueError("cannot fit a normalizer on no data")
        mean, std = states.mean(0), states.std(0)
        return cls(tuple(mean.tolist()), tuple(np.where(std > 1e-6, std, 1.0).tolist()))

    @property
    def dim(self) -> int:
        return len(self.mean)

    def z_scores(self, features: Sequence[float]) -> list[float]:
        return [(x - m) / s for x, m, s in zip(features, self.mean, self.std, strict=True)]
