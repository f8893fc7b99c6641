"""A differential test: our feature vectors against esper-lite's formulas, transcribed below from
its ``simic.features`` and ``nissa.tracker`` at the plan's date, on many observations including
edge values (infinite best loss, NaN and None losses, zeros, values past ``safe``'s clip).

The one documented difference (a non-finite pass-through value becomes 0) is applied to the
reference's input, and ``flag_gradient_issues`` (a flag esper-lite never raised) is checked
against our documented rule instead.
"""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from training.env.features import diagnostic_features, obs_to_base_features
from training.env.signals import Diagnostics, TrainingSnapshot

# ----------------------------------------------------------------------------- esper-lite's formulas


def ref_safe(v, default=0.0, max_val=100.0):
    if v is None:
        return default
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return default
    return max(-max_val, min(float(v), max_val))


def ref_base(obs: dict) -> list[float]:
    return [
        float(obs["epoch"]),
        float(obs["global_step"]),
        ref_safe(obs["train_loss"], 10.0),
        ref_safe(obs["val_loss"], 10.0),
        ref_safe(obs["loss_delta"], 0.0),
        obs["train_accuracy"],
        obs["val_accuracy"],
        ref_safe(obs["accuracy_delta"], 0.0),
        float(obs["plateau_epochs"]),
        obs["best_val_accuracy"],
        ref_safe(obs["best_val_loss"], 10.0),
        *[ref_safe(v, 10.0) for v in obs["loss_history_5"]],
        *obs["accuracy_history_5"],
        float(obs["has_active_seed"]),
        float(obs["seed_stage"]),
        float(obs["seed_epochs_in_stage"]),
        obs["seed_alpha"],
        obs["seed_improvement"],
        float(obs["available_slots"]),
    ]


def ref_health(stats: list[dict]) -> dict:
    if not stats:
        return {}
    norms = [s["norm"] for s in stats]
    h = {
        "overall_norm": float(np.mean(norms)),
        "norm_variance": float(np.var(norms)),
        "vanishing_layers": sum(1 for s in stats if s["vanishing_pct"] > 0.5),
        "exploding_layers": sum(1 for s in stats if s["exploding_pct"] > 0.01),
    }
    score = 1.0
    if h["vanishing_layers"] > 0:
        score -= 0.2 * h["vanishing_layers"]
    if h["exploding_layers"] > 0:
        score -= 0.3 * h["exploding_layers"]
    if h["norm_variance"] > 10:
        score -= 0.1
    if h["overall_norm"] < 1e-5:
        score -= 0.3
    if h["overall_norm"] > 100:
        score -= 0.2
    h["health_score"] = max(0.0, min(1.0, score))
    return h


def ref_telemetry(d: Diagnostics) -> dict:
    """The dict esper-lite's tracker made of the same measurements (its ``EpochSnapshot``)."""
    stats = [
        {"norm": n, "vanishing_pct": v, "exploding_pct": e}
        for n, v, e in zip(d.layer_weight_norms, d.layer_vanishing, d.layer_exploding, strict=True)
    ]
    telem: dict = {"gradient_stats": stats, "red_flags": []}
    if stats:
        telem["gradient_health"] = ref_health(stats)
    if d.per_class_accuracy:
        telem["per_class_accuracy"] = {str(i): a for i, a in enumerate(d.per_class_accuracy)}
        variance = float(np.var(list(d.per_class_accuracy)))
        if variance > 0:
            telem["class_variance"] = variance
        if variance > 200:
            telem["red_flags"].append("severe_class_imbalance")
    if d.sharpness is not None:
        telem["sharpness"] = d.sharpness
        if d.sharpness and d.sharpness > 1.0:
            telem["red_flags"].append("sharp_minimum")
    return telem


def ref_telemetry_features(telem: dict) -> list[float]:
    gh = telem.get("gradient_health", {})
    out = [
        ref_safe(gh.get("overall_norm", 0), 0, 10),
        ref_safe(gh.get("norm_variance", 0), 0, 10),
        float(gh.get("vanishing_layers", 0)),
        float(gh.get("exploding_layers", 0)),
        ref_safe(gh.get("health_score", 1), 1, 1),
    ]
    pca = telem.get("per_class_accuracy", {})
    out += [ref_safe(pca.get(str(i), 50), 50, 100) for i in range(10)]
    out.append(ref_safe(telem.get("class_variance", 0), 0, 1000))
    out.append(ref_safe(telem.get("sharpness", 0), 0, 100))
    norms = [ref_safe(g.get("norm", 0), 0, 10) for g in telem.get("gradient_stats", [])[:7]]
    out += norms + [0.0] * (7 - len(norms))
    rf = telem.get("red_flags", [])
    out += [
        1.0 if f in rf else 0.0
        for f in ("severe_class_imbalance", "sharp_minimum", "gradient_issues")
    ]
    return out


# ----------------------------------------------------------------------------- observations

EDGES = [
    0.0,
    -0.0,
    1e-9,
    -1e-9,
    99.9,
    100.0,
    100.5,
    -250.0,
    1e6,
    float("inf"),
    float("-inf"),
    float("nan"),
]


def _value(rng: random.Random, lo: float, hi: float, edges: bool = True) -> float:
    if edges and rng.random() < 0.25:
        return rng.choice(EDGES)
    return rng.uniform(lo, hi)


def random_snapshot(rng: random.Random) -> TrainingSnapshot:
    loss = lambda: None if rng.random() < 0.03 else _value(rng, 0.0, 5.0)  # noqa: E731
    acc = lambda: _value(rng, 0.0, 100.0)  # noqa: E731
    epoch = rng.choice([0, 1, 5, 25, 99, 400])
    return TrainingSnapshot(
        epoch=epoch,
        global_step=rng.choice([0, 1, 94, 9_999, 10**6]),
        train_loss=loss(),
        val_loss=loss(),
        loss_delta=loss(),
        train_accuracy=acc(),
        val_accuracy=acc(),
        accuracy_delta=_value(rng, -30, 30),
        plateau_epochs=rng.randint(0, 40),
        best_val_accuracy=acc(),
        best_val_loss=rng.choice([float("inf"), 0.0, _value(rng, 0.0, 3.0)]),
        loss_history_5=tuple(loss() for _ in range(5)),
        accuracy_history_5=tuple(acc() for _ in range(5)),
        has_active_seed=rng.random() < 0.5,
        seed_stage=rng.randint(0, 10),
        seed_epochs_in_stage=rng.randint(0, 60),
        seed_alpha=_value(rng, 0.0, 1.0),
        seed_improvement=_value(rng, -20.0, 20.0),
        available_slots=rng.randint(0, 3),
    )


def random_diagnostics(rng: random.Random) -> Diagnostics:
    if rng.random() < 0.1:
        return Diagnostics()  # nothing measured
    n = 7
    norms = tuple(
        rng.choice([0.0, 1e-8, rng.uniform(0, 2), rng.uniform(5, 50), 1e4]) for _ in range(n)
    )
    vanishing = tuple(rng.choice([0.0, 0.2, 0.5, 0.51, 1.0]) for _ in range(n))
    exploding = tuple(rng.choice([0.0, 0.01, 0.011, 0.5]) for _ in range(n))
    per_class = (
        ()
        if rng.random() < 0.1
        else tuple(rng.choice([0.0, 100.0, rng.uniform(0, 100)]) for _ in range(10))
    )
    sharpness = rng.choice([None, 0.0, 0.5, 1.0, 1.01, 30.0, 500.0])
    return Diagnostics(norms, vanishing, exploding, per_class, sharpness)


def our_addition(obs: dict) -> dict:
    """The one thing we add: non-finite pass-through values become 0."""
    fix = lambda v: v if math.isfinite(v) else 0.0  # noqa: E731
    out = dict(obs)
    for key in (
        "train_accuracy",
        "val_accuracy",
        "best_val_accuracy",
        "seed_alpha",
        "seed_improvement",
    ):
        out[key] = fix(obs[key])
    out["accuracy_history_5"] = [fix(v) for v in obs["accuracy_history_5"]]
    return out


# ----------------------------------------------------------------------------- the tests


def test_base_features_equal_esper_lites_on_many_observations():
    rng = random.Random(0)
    for _ in range(3000):
        obs = random_snapshot(rng).as_observation()
        ours, theirs = obs_to_base_features(obs), ref_base(our_addition(obs))
        assert ours == pytest.approx(theirs, abs=1e-6, rel=1e-9), obs
        assert all(math.isfinite(x) for x in ours)  # no NaN or inf ever reaches a network


def test_the_edge_values_named_by_the_contract():
    obs = random_snapshot(random.Random(1)).as_observation() | {
        "best_val_loss": float("inf"),
        "train_loss": float("nan"),
        "val_loss": None,
        "loss_delta": float("-inf"),
        "train_accuracy": 0.0,
        "val_accuracy": float("nan"),
        "loss_history_5": [float("nan"), 0.0, 1e9, -1e9, None],
    }
    features = obs_to_base_features(obs)
    assert features[2:5] == [10.0, 10.0, 0.0]  # safe() defaults
    assert features[5:7] == [0.0, 0.0]  # a NaN accuracy becomes 0
    assert features[10] == 10.0  # an infinite best loss reads as 10
    assert features[11:16] == [10.0, 0.0, 100.0, -100.0, 10.0]


def test_diagnostic_features_equal_esper_lites_on_many_measurements():
    rng = random.Random(2)
    base = random_snapshot(rng)
    for _ in range(3000):
        d = random_diagnostics(rng)
        ours = diagnostic_features(TrainingSnapshot(**{**_fields(base), "diagnostics": d}))
        theirs = ref_telemetry_features(ref_telemetry(d))
        assert ours[:26] == pytest.approx(theirs[:26], abs=1e-6, rel=1e-9), d
        health = ref_health(
            [
                {"norm": n, "vanishing_pct": v, "exploding_pct": e}
                for n, v, e in zip(
                    d.layer_weight_norms, d.layer_vanishing, d.layer_exploding, strict=True
                )
            ]
        )
        issues = bool(health) and (
            health["vanishing_layers"] > 0
            or health["exploding_layers"] > 0
            or health["health_score"] < 0.5
        )
        assert ours[26] == float(issues) and theirs[26] == 0.0


def _fields(snapshot: TrainingSnapshot) -> dict:
    return {name: getattr(snapshot, name) for name in TrainingSnapshot.__dataclass_fields__}
