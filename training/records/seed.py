"""One slot of one lane at the end of an epoch."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec

from training.seeds.bounds import (
    Batches,
    Count,
    Fraction,
    GerminatedEpoch,
    LayerIndex,
    Params,
    SlotIndex,
    StageValue,
    Text,
    items,
)
from training.seeds.gates import GateResult
from training.seeds.lifecycle import SeedStage, stage_name
from training.seeds.telemetry import SeedTelemetry

FEATURES = 10  # SeedTelemetry.feature_dim(): the widgets index all ten


class SeedRecord(msgspec.Struct, frozen=True, gc=False):
    """One slot of one lane at the end of an epoch. Dormant slots have ``seed_id`` None."""

    lane: Text
    slot_id: Text
    slot_index: SlotIndex
    layer_id: Text
    layer_index: LayerIndex
    seed_id: Text | None
    blueprint_id: Text
    stage: StageValue
    stage_name: Text
    epochs_in_stage: Count
    alpha: Fraction
    paused: bool
    params: Params
    telemetry: SeedTelemetry  # raw values, as synced at the epoch boundary
    # the 10 normalised values the agent sees
    features: Annotated[tuple[float, ...], msgspec.Meta(min_length=FEATURES, max_length=FEATURES)]
    gradients_measured: bool  # False: paused, dormant or failed this epoch; never "healthy"
    gradient_batches: Batches
    has_vanishing: bool  # latched over the epoch
    has_exploding: bool
    gate: GateResult | None
    improvement: float  # accuracy points since the seed began to contribute
    germinated_epoch: GerminatedEpoch
    # (epoch, from, to, reason)
    timeline: Annotated[tuple[tuple[Count, StageValue, StageValue, Text], ...], items(256)] = ()
    epoch: Count = 0  # the epoch this record closes

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
        telemetry = msgspec.structs.replace(t)  # a copy: the slot's own goes on changing
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
