"""Plain records: the contract between trainer, store, file and widgets (DESIGN.md §4).

Frozen dataclasses, one JSON object per line, each with ``kind`` and the schema version ``v``.
No torch here; widgets import this module.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from training.gates import GateResult
from training.lifecycle import SeedStage, stage_name
from training.telemetry import SeedTelemetry

SCHEMA_VERSION = 1
ACTION_NAMES = ("WAIT", "GERMINATE_CONV", "GERMINATE_ATTENTION", "GERMINATE_NORM",
                "GERMINATE_DEPTHWISE", "ADVANCE", "CULL")  # fmt: skip


class RecordError(ValueError):
    """A line that is not a record this version understands."""


def _opt_tuple(values: Any) -> tuple | None:
    return None if values is None else tuple(values)


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

    @property
    def is_dormant(self) -> bool:
        return self.seed_id is None

    @classmethod
    def dormant(cls, lane: str, slot_id: str, slot_index: int, layer_id: str, layer_index: int,
                epoch: int, max_epochs: int) -> SeedRecord:  # fmt: skip
        telemetry = SeedTelemetry.dormant(epoch, max_epochs, layer_id)
        return cls(
            lane, slot_id, slot_index, layer_id, layer_index, None, "", int(SeedStage.DORMANT),
            "DORMANT", 0, 0.0, False, 0, telemetry, tuple(telemetry.to_features()), False, 0,
            False, False, None, 0.0, 0,
        )  # fmt: skip

    @classmethod
    def from_state(cls, state: Any, *, lane: str, slot_index: int, layer_index: int,
                   gradient_batches: int) -> SeedRecord:  # fmt: skip
        """Build from a ``training.seeds.SeedState`` (duck-typed: this module stays torch-free)."""
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
            timeline=tuple((tr.epoch, tr.from_stage, tr.to_stage, tr.reason) for tr in state.transitions),
        )

    def to_dict(self) -> dict:
        return {
            "lane": self.lane, "slot_id": self.slot_id, "slot_index": self.slot_index,
            "layer_id": self.layer_id, "layer_index": self.layer_index, "seed_id": self.seed_id,
            "blueprint_id": self.blueprint_id, "stage": self.stage, "stage_name": self.stage_name,
            "epochs_in_stage": self.epochs_in_stage, "alpha": self.alpha, "paused": self.paused,
            "params": self.params, "telemetry": self.telemetry.to_dict(),
            "features": list(self.features), "gradients_measured": self.gradients_measured,
            "gradient_batches": self.gradient_batches, "has_vanishing": self.has_vanishing,
            "has_exploding": self.has_exploding,
            "gate": None if self.gate is None else self.gate.to_dict(),
            "improvement": self.improvement, "germinated_epoch": self.germinated_epoch,
            "timeline": [list(t) for t in self.timeline],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> SeedRecord:
        return cls(
            lane=d["lane"], slot_id=d["slot_id"], slot_index=int(d["slot_index"]),
            layer_id=d["layer_id"], layer_index=int(d["layer_index"]), seed_id=d["seed_id"],
            blueprint_id=d["blueprint_id"], stage=int(d["stage"]), stage_name=d["stage_name"],
            epochs_in_stage=int(d["epochs_in_stage"]), alpha=float(d["alpha"]),
            paused=bool(d["paused"]), params=int(d["params"]),
            telemetry=SeedTelemetry.from_dict(d["telemetry"]),
            features=tuple(float(x) for x in d["features"]),
            gradients_measured=bool(d["gradients_measured"]),
            gradient_batches=int(d["gradient_batches"]), has_vanishing=bool(d["has_vanishing"]),
            has_exploding=bool(d["has_exploding"]),
            gate=None if d["gate"] is None else GateResult.from_dict(d["gate"]),
            improvement=float(d["improvement"]), germinated_epoch=int(d["germinated_epoch"]),
            timeline=tuple((int(a), int(b), int(c), str(r)) for a, b, c, r in d.get("timeline", ())),
        )  # fmt: skip


def _opt_list(values: tuple | None) -> list | None:
    return None if values is None else list(values)


@dataclass(frozen=True)
class DecisionRecord:
    """One policy decision and what became of it."""

    lane: str
    epoch: int
    policy: str
    action: int
    target_slot: int | None
    reason: str
    action_mask: tuple[bool, ...]
    executed: bool
    outcome: str  # why it was refused, or what it did
    q_values: tuple[float, ...] | None = None  # None for the heuristic
    value: float | None = None
    advantage: float | None = None
    probabilities: tuple[float, ...] | None = None
    features: tuple[float, ...] | None = None
    z_scores: tuple[float, ...] | None = None
    reference_action: int | None = None  # the heuristic's choice on the same state
    # Shadow mode: what the other policies chose on this same state (never executed).
    shadow: tuple[DecisionRecord, ...] = ()

    @property
    def action_name(self) -> str:
        return ACTION_NAMES[self.action] if 0 <= self.action < len(ACTION_NAMES) else str(self.action)

    @property
    def agrees(self) -> bool | None:
        return None if self.reference_action is None else self.reference_action == self.action

    def to_dict(self) -> dict:
        return {
            "lane": self.lane, "epoch": self.epoch, "policy": self.policy, "action": self.action,
            "target_slot": self.target_slot, "reason": self.reason,
            "action_mask": list(self.action_mask), "executed": self.executed,
            "outcome": self.outcome, "q_values": _opt_list(self.q_values), "value": self.value,
            "advantage": self.advantage, "probabilities": _opt_list(self.probabilities),
            "features": _opt_list(self.features), "z_scores": _opt_list(self.z_scores),
            "reference_action": self.reference_action,
            "shadow": [s.to_dict() for s in self.shadow],
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> DecisionRecord:
        return cls(
            lane=d["lane"], epoch=int(d["epoch"]), policy=d["policy"], action=int(d["action"]),
            target_slot=d["target_slot"], reason=d["reason"],
            action_mask=tuple(bool(x) for x in d["action_mask"]), executed=bool(d["executed"]),
            outcome=d["outcome"], q_values=_opt_tuple(d.get("q_values")), value=d.get("value"),
            advantage=d.get("advantage"), probabilities=_opt_tuple(d.get("probabilities")),
            features=_opt_tuple(d.get("features")), z_scores=_opt_tuple(d.get("z_scores")),
            reference_action=d.get("reference_action"),
            shadow=tuple(DecisionRecord.from_dict(s) for s in d.get("shadow", ())),
        )  # fmt: skip


@dataclass(frozen=True)
class EpochRecord:
    """One epoch of one lane: its numbers, every slot, and the decision taken after it."""

    run_id: str
    episode: int
    lane: str
    epoch: int
    max_epochs: int
    train_loss: float
    val_loss: float
    train_accuracy: float
    val_accuracy: float
    host_params: int
    seed_params: int
    seeds: tuple[SeedRecord, ...]
    decision: DecisionRecord | None
    wall_seconds: float
    samples_per_second: float
    reward: float = 0.0
    plateau_epochs: int = 0

    def to_dict(self) -> dict:
        return {
            "kind": "epoch", "v": SCHEMA_VERSION, "run_id": self.run_id, "episode": self.episode,
            "lane": self.lane, "epoch": self.epoch, "max_epochs": self.max_epochs,
            "train_loss": self.train_loss, "val_loss": self.val_loss,
            "train_accuracy": self.train_accuracy, "val_accuracy": self.val_accuracy,
            "host_params": self.host_params, "seed_params": self.seed_params,
            "seeds": [s.to_dict() for s in self.seeds],
            "decision": None if self.decision is None else self.decision.to_dict(),
            "wall_seconds": self.wall_seconds, "samples_per_second": self.samples_per_second,
            "reward": self.reward, "plateau_epochs": self.plateau_epochs,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> EpochRecord:
        return cls(
            run_id=d["run_id"], episode=int(d["episode"]), lane=d["lane"], epoch=int(d["epoch"]),
            max_epochs=int(d["max_epochs"]), train_loss=float(d["train_loss"]),
            val_loss=float(d["val_loss"]), train_accuracy=float(d["train_accuracy"]),
            val_accuracy=float(d["val_accuracy"]), host_params=int(d["host_params"]),
            seed_params=int(d["seed_params"]),
            seeds=tuple(SeedRecord.from_dict(s) for s in d["seeds"]),
            decision=None if d["decision"] is None else DecisionRecord.from_dict(d["decision"]),
            wall_seconds=float(d["wall_seconds"]),
            samples_per_second=float(d["samples_per_second"]),
            reward=float(d.get("reward", 0.0)), plateau_epochs=int(d.get("plateau_epochs", 0)),
        )  # fmt: skip


@dataclass(frozen=True)
class LaneInfo:
    name: str
    policy_kind: str  # "heuristic" or "iql"
    model_path: str | None = None
    state_dim: int | None = None
    telemetry_type: str | None = None  # none / seed / full / unknown
    feature_names: tuple[str, ...] = ()  # names of the policy's inputs, for the dashboard

    def to_dict(self) -> dict:
        return {"name": self.name, "policy_kind": self.policy_kind, "model_path": self.model_path,
                "state_dim": self.state_dim, "telemetry_type": self.telemetry_type,
                "feature_names": list(self.feature_names)}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> LaneInfo:
        return cls(d["name"], d["policy_kind"], d.get("model_path"), d.get("state_dim"),
                   d.get("telemetry_type"), tuple(d.get("feature_names", ())))  # fmt: skip


@dataclass(frozen=True)
class RunInfo:
    """What a run is: written first in every record file."""

    run_id: str
    mode: str
    lanes: tuple[LaneInfo, ...]
    preset: str
    device: str
    seed: int
    epochs: int
    episodes: int
    slots: int
    created_at: str = ""
    executing_lane: str | None = None  # shadow mode: the one lane that trains

    def to_dict(self) -> dict:
        return {
            "kind": "run", "v": SCHEMA_VERSION, "run_id": self.run_id, "mode": self.mode,
            "lanes": [lane.to_dict() for lane in self.lanes], "preset": self.preset,
            "device": self.device, "seed": self.seed, "epochs": self.epochs,
            "episodes": self.episodes, "slots": self.slots, "created_at": self.created_at,
            "executing_lane": self.executing_lane,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> RunInfo:
        return cls(
            run_id=d["run_id"], mode=d["mode"],
            lanes=tuple(LaneInfo.from_dict(x) for x in d["lanes"]), preset=d["preset"],
            device=d["device"], seed=int(d["seed"]), epochs=int(d["epochs"]),
            episodes=int(d["episodes"]), slots=int(d["slots"]),
            created_at=d.get("created_at", ""), executing_lane=d.get("executing_lane"),
        )  # fmt: skip


EVENT_KINDS = (
    "started", "paused", "resumed", "command_applied", "command_refused", "episode_finished",
    "finished", "stopped", "crashed",
)  # fmt: skip


@dataclass(frozen=True)
class RunEvent:
    """Something that happened to the run rather than to an epoch."""

    run_id: str
    event: str
    message: str = ""
    lane: str | None = None
    episode: int | None = None
    epoch: int | None = None
    slot: int | None = None
    traceback: str | None = None
    data: dict = field(default_factory=dict)  # e.g. the paired result of a finished episode

    def __post_init__(self) -> None:
        if self.event not in EVENT_KINDS:
            raise RecordError(f"unknown event {self.event!r}")

    def to_dict(self) -> dict:
        return {
            "kind": "event", "v": SCHEMA_VERSION, "run_id": self.run_id, "event": self.event,
            "message": self.message, "lane": self.lane, "episode": self.episode,
            "epoch": self.epoch, "slot": self.slot, "traceback": self.traceback, "data": self.data,
        }  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict) -> RunEvent:
        return cls(
            run_id=d["run_id"], event=d["event"], message=d.get("message", ""),
            lane=d.get("lane"), episode=d.get("episode"), epoch=d.get("epoch"),
            slot=d.get("slot"), traceback=d.get("traceback"), data=dict(d.get("data") or {}),
        )  # fmt: skip


Record = RunInfo | EpochRecord | RunEvent
_KINDS: dict[str, Any] = {"run": RunInfo, "epoch": EpochRecord, "event": RunEvent}


def record_from_dict(d: dict) -> Record:
    if not isinstance(d, dict):
        raise RecordError("a record must be a JSON object")
    kind, version = d.get("kind"), d.get("v")
    if kind not in _KINDS:
        raise RecordError(f"unknown record kind {kind!r}")
    if version != SCHEMA_VERSION:
        raise RecordError(f"record schema version {version!r}; this build reads {SCHEMA_VERSION}")
    try:
        return _KINDS[kind].from_dict(d)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise RecordError(f"malformed {kind} record: {exc!s}") from None


def record_to_line(record: Record) -> str:
    return json.dumps(record.to_dict(), separators=(",", ":"))


def record_from_line(line: str) -> Record:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not JSON: {exc.msg}") from None
    return record_from_dict(data)
