"""Features: the plan's Task 4 and Task 6 tests with our import paths, and the 54-dim legacy set."""

import warnings

import pytest

from training.env.features import (
    BASE_FEATURE_NAMES,
    DIAGNOSTIC_FEATURE_NAMES,
    FeatureNormalizer,
    feature_names,
    feature_set_for_dim,
    features_for,
    obs_to_base_features,
    snapshot_to_features,
)
from training.env.signals import Diagnostics, TrainingSnapshot
from training.policies.checkpoint import infer_telemetry
from training.seeds.telemetry import SeedTelemetry


def snapshot(**extra) -> TrainingSnapshot:
    return TrainingSnapshot(
        epoch=5,
        global_step=500,
        train_loss=0.5,
        val_loss=0.6,
        loss_delta=-0.1,
        train_accuracy=80.0,
        val_accuracy=75.0,
        accuracy_delta=2.0,
        plateau_epochs=0,
        best_val_accuracy=75.0,
        best_val_loss=0.6,
        loss_history_5=(0.9, 0.8, 0.7, 0.6, 0.6),
        accuracy_history_5=(60.0, 65.0, 70.0, 73.0, 75.0),
        has_active_seed=True,
        seed_stage=3,
        seed_epochs_in_stage=2,
        seed_alpha=0.0,
        seed_improvement=5.0,
        available_slots=0,
        **extra,
    )


class TestComparisonTelemetry:
    """The plan's Task 4."""

    def test_snapshot_to_features_with_seed_telemetry(self):
        seed_telemetry = SeedTelemetry(
            seed_id="test",
            gradient_norm=1.5,
            gradient_health=0.9,
            has_vanishing=False,
            has_exploding=False,
            accuracy=75.0,
            accuracy_delta=5.0,
            epochs_in_stage=2,
            stage=3,
            alpha=0.0,
            epoch=5,
            max_epochs=25,
        )
        features = snapshot_to_features(
            snapshot(), use_telemetry=True, seed_telemetry=seed_telemetry
        )
        assert len(features) == 37
        assert features[-10:] == seed_telemetry.to_features()

    def test_snapshot_to_features_no_telemetry(self):
        snap = TrainingSnapshot(
            epoch=1,
            global_step=100,
            train_loss=1.0,
            val_loss=1.0,
            loss_delta=0.0,
            train_accuracy=50.0,
            val_accuracy=50.0,
            accuracy_delta=0.0,
            plateau_epochs=0,
            best_val_accuracy=50.0,
            best_val_loss=1.0,
            loss_history_5=(1.0,) * 5,
            accuracy_history_5=(50.0,) * 5,
            has_active_seed=False,
            seed_stage=0,
            seed_epochs_in_stage=0,
            seed_alpha=0.0,
            seed_improvement=0.0,
            available_slots=1,
        )
        assert len(snapshot_to_features(snap, use_telemetry=False)) == 27

    def test_missing_telemetry_warns_and_pads_as_the_plan_says(self):
        with pytest.warns(UserWarning, match="zero-padding"):
            features = snapshot_to_features(snapshot(), use_telemetry=True)
        assert features[-10:] == [0.0] * 10


class TestLoadIQLModel:
    """The plan's Task 6: infer the telemetry type from state_dim."""

    @pytest.mark.parametrize(
        ("dim", "expected"),
        [
            (27, (False, "none")),
            (37, (True, "seed")),
            (54, (True, "full")),
            (40, (False, "unknown")),
        ],
    )
    def test_infer_telemetry_from_state_dim(self, dim, expected):
        assert infer_telemetry(dim) == expected
        assert feature_set_for_dim(dim) == expected[1]


def test_base_features_are_esper_lites_raw_values_in_the_plans_field_order():
    features = obs_to_base_features(snapshot().as_observation())
    assert len(features) == len(BASE_FEATURE_NAMES) == 27
    assert features[:2] == [5.0, 500.0]  # epoch and global step as they are, not rescaled
    assert features[6] == 75.0  # val_accuracy in percent
    assert features[16:21] == [60.0, 65.0, 70.0, 73.0, 75.0]
    assert features[22] == 3.0  # the stage's enum value


def test_a_long_run_is_not_rescaled_either():
    assert features_for(snapshot(max_epochs=100), "none")[0] == 5.0


def test_seed_set_uses_the_focus_telemetry_or_a_dormant_slot_never_zeros():
    telemetry = SeedTelemetry(seed_id="s", gradient_norm=4.0, stage=4, alpha=0.5, epoch=5)
    assert features_for(snapshot(seed_telemetry=telemetry), "seed")[-10:] == telemetry.to_features()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no zero-padding fallback in a live path
        dormant = features_for(snapshot(max_epochs=20), "seed")[-10:]
    assert dormant[1] == 1.0 and dormant[9] == 5 / 20


def test_full_set_is_esper_lites_27_diagnostics_from_our_measurements():
    diag = Diagnostics(
        layer_weight_norms=(1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 20.0),
        layer_vanishing=(0.9,) + (0.0,) * 6,
        layer_exploding=(0.0,) * 6 + (0.02,),
        per_class_accuracy=tuple(float(10 * i) for i in range(10)),
        sharpness=1.5,
    )
    features = features_for(snapshot(diagnostics=diag), "full")
    extra = features[27:]
    assert len(features) == 54 and len(DIAGNOSTIC_FEATURE_NAMES) == 27
    assert extra[0] == pytest.approx(41 / 7)  # mean of the layer norms
    assert extra[1] == 10.0  # their variance (~34.1), clipped to 10
    assert extra[2:5] == [
        1.0,
        1.0,
        pytest.approx(1 - 0.2 - 0.3 - 0.1),
    ]  # one vanishing, one exploding layer
    assert extra[5:15] == [10.0 * i for i in range(10)]  # per-class accuracy in percent
    assert extra[15] == pytest.approx(825.0) and extra[16] == 1.5  # class variance, sharpness
    assert extra[17:24] == [1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 10.0]  # layer norms clipped to 10
    assert extra[24:] == [1.0, 1.0, 1.0]  # imbalance (825 > 200), sharp (1.5 > 1), gradient issues


def test_unmeasured_diagnostics_take_esper_lites_defaults():
    extra = features_for(snapshot(), "full")[27:]
    assert extra[:5] == [0.0, 0.0, 0.0, 0.0, 1.0]
    assert extra[5:15] == [50.0] * 10 and extra[15:] == [0.0] * 12


def test_every_feature_has_a_name():
    for feature_set, dim in (("none", 27), ("seed", 37), ("full", 54)):
        names = feature_names(feature_set)
        assert len(names) == dim and len(set(names)) == dim


def test_normalizer_from_data():
    norm = FeatureNormalizer.fit([[0.0, 1.0, 5.0], [2.0, 1.0, 7.0]])
    assert norm.mean == (1.0, 1.0, 6.0)
    assert norm.std == (1.0, 1.0, 1.0)  # the constant feature gets std 1
    assert norm.z_scores([3.0, 1.0, 6.0]) == [2.0, 0.0, 0.0]
    with pytest.raises(ValueError):
        FeatureNormalizer.fit([])
