"""The user's plan, Tasks 1, 2, 3 and 7, with this project's import paths."""

from datetime import UTC, datetime

import pytest


class TestSeedTelemetry:
    """Tests for SeedTelemetry dataclass."""

    def test_import_from_contract_module(self):
        from training.seeds.telemetry import SeedTelemetry

        # Defined in the contract module (docs/architecture.md, "Where things live"), not re-exported.
        assert SeedTelemetry.__module__ == "training.seeds.telemetry"

    def test_create_with_seed_id(self):
        from training.seeds.telemetry import SeedTelemetry

        telem = SeedTelemetry(seed_id="test_seed_1")
        assert telem.seed_id == "test_seed_1"

    def test_default_values(self):
        from training.seeds.telemetry import SeedTelemetry

        telem = SeedTelemetry(seed_id="test")
        assert telem.gradient_norm == 0.0
        assert telem.gradient_health == 1.0
        assert telem.has_vanishing is False
        assert telem.has_exploding is False
        assert telem.accuracy == 0.0
        assert telem.stage == 1
        assert telem.alpha == 0.0

    def test_to_features_returns_10_dims(self):
        from training.seeds.telemetry import SeedTelemetry

        telem = SeedTelemetry(seed_id="test")
        features = telem.to_features()
        assert len(features) == 10
        assert SeedTelemetry.feature_dim() == 10

    def test_to_features_normalized_range(self):
        from training.seeds.telemetry import SeedTelemetry

        telem = SeedTelemetry(
            seed_id="test",
            gradient_norm=5.0,
            gradient_health=0.8,
            has_vanishing=True,
            has_exploding=False,
            accuracy=75.0,
            accuracy_delta=2.5,
            epochs_in_stage=10,
            stage=4,  # BLENDING
            alpha=0.5,
            epoch=12,
            max_epochs=25,
        )
        features = telem.to_features()
        for i, f in enumerate(features):
            assert -1.0 <= f <= 1.0, f"Feature {i} out of range: {f}"

    def test_stage_normalization(self):
        from training.seeds.telemetry import SeedTelemetry

        assert SeedTelemetry(seed_id="test", stage=1).to_features()[7] == 0.0
        assert SeedTelemetry(seed_id="test", stage=7).to_features()[7] == 1.0

    def test_temporal_position(self):
        from training.seeds.telemetry import SeedTelemetry

        telem = SeedTelemetry(seed_id="test", epoch=10, max_epochs=20)
        assert telem.to_features()[9] == 0.5

    def test_captured_at_timestamp(self):
        from training.seeds.telemetry import SeedTelemetry

        before = datetime.now(UTC)
        telem = SeedTelemetry(seed_id="test")
        after = datetime.now(UTC)
        assert before <= telem.captured_at <= after
        assert telem.captured_at.tzinfo is not None

    def test_uses_slots(self):
        from training.seeds.telemetry import SeedTelemetry

        assert not hasattr(SeedTelemetry(seed_id="x"), "__dict__")


class TestSeedStateTelemetry:
    """Tests for SeedState.telemetry integration."""

    def test_seed_state_has_telemetry(self):
        from training.seeds.slot import SeedState

        state = SeedState(seed_id="test", blueprint_id="conv_enhance")
        assert hasattr(state, "telemetry")
        assert state.telemetry is not None

    def test_telemetry_initialized_with_seed_info(self):
        from training.seeds.slot import SeedState

        state = SeedState(seed_id="seed_1", blueprint_id="attention")
        assert state.telemetry.seed_id == "seed_1"
        assert state.telemetry.blueprint_id == "attention"

    def test_sync_telemetry_updates_from_metrics(self):
        from training.seeds.lifecycle import SeedStage
        from training.seeds.slot import SeedState

        state = SeedState(seed_id="test", blueprint_id="conv")
        state.stage = SeedStage.TRAINING
        state.metrics.current_val_accuracy = 75.0
        state.metrics.epochs_in_current_stage = 5
        state.alpha = 0.3

        state.sync_telemetry(
            gradient_norm=2.5,
            gradient_health=0.9,
            has_vanishing=False,
            has_exploding=False,
            epoch=10,
            max_epochs=25,
        )

        assert state.telemetry.accuracy == 75.0
        assert state.telemetry.epochs_in_stage == 5
        assert state.telemetry.stage == SeedStage.TRAINING.value
        assert state.telemetry.alpha == 0.3
        assert state.telemetry.gradient_norm == 2.5
        assert state.telemetry.gradient_health == 0.9
        assert state.telemetry.epoch == 10
        assert state.telemetry.max_epochs == 25


class TestSeedGradientCollector:
    """Tests for lightweight gradient collection."""

    def test_import_collector(self):
        from training.seeds.gradients import SeedGradientCollector

        assert SeedGradientCollector.__module__ == "training.seeds.gradients"

    def test_collect_gradient_stats(self):
        import torch
        from torch import nn

        from training.seeds.gradients import SeedGradientCollector

        model = nn.Linear(10, 5)
        model(torch.randn(4, 10)).sum().backward()

        stats = SeedGradientCollector().collect(model.parameters())

        assert "gradient_norm" in stats
        assert "gradient_health" in stats
        assert "has_vanishing" in stats
        assert "has_exploding" in stats
        # The global L2 norm over all tensors, not divided by the tensor count (which shows 0.3 for a norm of 15).
        expected = torch.sqrt(sum(p.grad.pow(2).sum() for p in model.parameters())).item()
        assert stats["gradient_norm"] == pytest.approx(expected, rel=1e-5)
        assert 0 <= stats["gradient_health"] <= 1

    def test_detect_vanishing_gradients(self):
        import torch
        from torch import nn

        from training.seeds.gradients import SeedGradientCollector

        model = nn.Linear(10, 5)
        for p in model.parameters():
            p.grad = torch.zeros_like(p) + 1e-10

        stats = SeedGradientCollector(vanishing_threshold=1e-7).collect(model.parameters())
        assert stats["has_vanishing"] is True

    def test_detect_exploding_gradients(self):
        import torch
        from torch import nn

        from training.seeds.gradients import SeedGradientCollector

        model = nn.Linear(10, 5)
        for p in model.parameters():
            p.grad = torch.ones_like(p) * 1000

        stats = SeedGradientCollector(exploding_threshold=100).collect(model.parameters())
        assert stats["has_exploding"] is True


class TestFullIntegration:
    """End-to-end integration tests."""

    def test_seed_telemetry_flow(self):
        import torch
        from torch import nn

        from training.seeds.gradients import collect_seed_gradients
        from training.seeds.lifecycle import SeedStage
        from training.seeds.slot import SeedState

        state = SeedState(seed_id="integration_test", blueprint_id="conv_enhance")
        assert state.telemetry is not None

        state.stage = SeedStage.TRAINING
        state.metrics.record_accuracy(70.0)
        state.metrics.record_accuracy(75.0)
        state.alpha = 0.0

        model = nn.Linear(10, 5)
        model(torch.randn(4, 10)).sum().backward()
        grad_stats = collect_seed_gradients(model.parameters())

        state.sync_telemetry(
            gradient_norm=grad_stats["gradient_norm"],
            gradient_health=grad_stats["gradient_health"],
            has_vanishing=grad_stats["has_vanishing"],
            has_exploding=grad_stats["has_exploding"],
            epoch=2,
            max_epochs=25,
        )

        features = state.telemetry.to_features()
        assert len(features) == 10
        assert features[5] == 0.75
        assert features[7] == (SeedStage.TRAINING.value - 1) / 6.0
        assert features[9] == 2 / 25
