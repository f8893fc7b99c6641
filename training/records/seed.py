"""One slot of one lane at the end of an epoch."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from training.records.fields import RecordError, conform
from training.seeds.gates import GateResult
from training.seeds.lifecycle import SeedStage, stage_name
from training.seeds.telemetry import SeedTelemetry


@dataclass(frozen=True)
class SeedRecord:
    """One slot of one lane at the end of an epoch. Dormant slots have ``seed_id`` None."""

    lane: str
    slot_id: str
    slot_index: int
    layer_id: str
    layer_index: int
    seed_id: str | None
    blueprint_id: str
    stage: int
    stage_name: str
    epochs_in_stage: int
    alpha: float
    paused: bool
    params: int
    telemetry: SeedTelemetry  # raw values, as synced at the epoch boundary
    features: tuple[float, ...]  # the 10 normalised values the agent sees
    gradients_measured: bool  # False: paused, dormant or failed this epoch; never "healthy"
    gradient_batches: int
    has_vanishing: bool  # latched over the epoch
    has_exploding: bool
    gate: GateResult | None
    improvement: float  # accuracy points since the seed began to contribute
    germinated_epoch: int
    timeline: tuple[tuple[int, int, int, str], ...] = ()  # (epoch, from, to, reason)
    epoch: int = 0  # the epoch this record closes

    @property
    def is_dormant(self) -> bool:
        return self.seed_id is None

    @classmethod
    def dormant(
        cls,
        lane: str,
        slot_id: str,
        slot_index: int,
        layer_id: str,
        layer_index: int,
        epoch: int,
        max_epochs: int,
    ) -> SeedRecord:
        telemetry = SeedTelemetry.dormant(epoch, max_epochs, layer_id)
        return cls(
            lane,
            slot_id,
            slot_index,
            layer_id,
            layer_index,
            None,
            "",
            int(SeedStage.DORMANT),
            "DORMANT",
            0,
            0.0,
            False,
            0,
            telemetry,
            tuple(telemetry.to_features()),
            False,
            0,
            False,
            False,
            None,
            0.0,
            0,
            (),
            epoch,
        )

    @classmethod
    def from_state(
        cls,
        state: Any,
        *,
        lane: str,
        slot_index: int,
        layer_index: int,
        gradient_batches: int,
        epoch: int = 0,
    ) -> SeedRecord:
        """Build from a ``training.seeds.slot.SeedState`` (duck-typed: this module stays torch-free)."""
        t = state.telemetry
        telemetry = SeedTelemetry.from_dict(t.to_dict())
        return cls(
            lane=lane,
            slot_id=state.slot_id,
            slot_index=slot_index,
            layer_id=state.layer_id,
            layer_index=layer_index,
            seed_id=state.seed_id,
            blueprint_id=state.blueprint_id,
            stage=int(state.stage),
            stage_name=stage_name(state.stage),
            epochs_in_stage=state.metrics.epochs_in_current_stage,
            alpha=float(state.alpha),
            paused=bool(state.is_paused),
            params=int(state.params),
            telemetry=telemetry,
            features=tuple(telemetry.to_features()),
            gradients_measured=bool(state.gradients_measured),
            gradient_batches=int(gradient_batches),
            has_vanishing=bool(t.has_vanishing) and state.gradients_measured,
            has_exploding=bool(t.has_exploding) and state.gradients_measured,
            gate=state.last_gate,
            improvement=float(state.metrics.contribution),
            germinated_epoch=int(state.germinated_epoch),
            timeline=tuple(
                (tr.epoch, tr.from_stage, tr.to_stage, tr.reason) for tr in state.transitions
            ),
            epoch=epoch,
        )

    def to_dict(self) -> dict:
        return {
            "lane": self.lane,
            "slot_id": self.slot_id,
            "slot_index": self.slot_index,
            "layer_id": self.layer_id,
            "layer_index": self.layer_index,
            "seed_id": self.seed_id,
            "blueprint_id": self.blueprint_id,
            "stage": self.stage,
            "stage_name": self.stage_name,
            "epochs_in_stage": self.epochs_in_stage,
            "alpha": self.alpha,
            "paused": self.paused,
            "params": self.params,
            "telemetry": self.telemetry.to_dict(),
            "features": list(self.features),
            "gradients_measured": self.gradients_measured,
            "gradient_batches": self.gradient_batches,
            "has_vanishing": self.has_vanishing,
            "has_exploding": self.has_exploding,
            "gate": None if self.gate is None else self.gate.to_dict(),
            "improvement": self.improvement,
            "germinated_epoch": self.germinated_epoch,
            "timeline": [list(t) for t in self.timeline],
            "epoch": self.epoch,
        }

    @classmethod
    def from_dict(cls, d: dict) -> SeedRecord:
        d = conform(cls, d, nested=("telemetry", "gate"))
        conform(SeedTelemetry, d["telemetry"])
        if d["gate"] is not None:
            conform(GateResult, d["gate"])
        if len(d["features"]) != SeedTelemetry.feature_dim():  # widgets index all ten
            raise RecordError(f"features must hold {SeedTelemetry.feature_dim()} values")
        return cls(
            lane=d["lane"],
            slot_id=d["slot_id"],
            slot_index=int(d["slot_index"]),
            layer_id=d["layer_id"],
            layer_index=int(d["layer_index"]),
            seed_id=d["seed_id"],
            blueprint_id=d["blueprint_id"],
            stage=int(d["stage"]),
            stage_name=d["stage_name"],
            epochs_in_stage=int(d["epochs_in_stage"]),
            alpha=float(d["alpha"]),
            paused=bool(d["paused"]),
            params=int(d["params"]),
            telemetry=SeedTelemetry.from_dict(d["telemetry"]),
            features=tuple(float(x) for x in d["features"]),
            gradients_measured=bool(d["gradients_measured"]),
            gradient_batches=int(d["gradient_batches"]),
            has_vanishing=bool(d["has_vanishing"]),
            has_exploding=bool(d["has_exploding"]),
            gate=None if d["gate"] is None else GateResult.from_dict(d["gate"]),
            improvement=float(d["improvement"]),
            germinated_epoch=int(d["germinated_epoch"]),
            timeline=tuple(
                (int(a), int(b), int(c), str(r)) for a, b, c, r in d.get("timeline", ())
            ),
            epoch=int(d.get("epoch", 0)),
        )
