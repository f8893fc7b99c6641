"""Epochs, runs and the events of a run."""

from __future__ import annotations

from dataclasses import dataclass, field

from training.records.base import SCHEMA_VERSION, RecordError
from training.records.decision import DecisionRecord
from training.records.fields import check_event_data, conform
from training.records.seed import SeedRecord


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
            "kind": "epoch",
            "v": SCHEMA_VERSION,
            "run_id": self.run_id,
            "episode": self.episode,
            "lane": self.lane,
            "epoch": self.epoch,
            "max_epochs": self.max_epochs,
            "train_loss": self.train_loss,
            "val_loss": self.val_loss,
            "train_accuracy": self.train_accuracy,
            "val_accuracy": self.val_accuracy,
            "host_params": self.host_params,
            "seed_params": self.seed_params,
            "seeds": [s.to_dict() for s in self.seeds],
            "decision": None if self.decision is None else self.decision.to_dict(),
            "wall_seconds": self.wall_seconds,
            "samples_per_second": self.samples_per_second,
            "reward": self.reward,
            "plateau_epochs": self.plateau_epochs,
        }

    @classmethod
    def from_dict(cls, d: dict) -> EpochRecord:
        d = conform(cls, d, nested=("seeds", "decision"))
        return cls(
            run_id=d["run_id"],
            episode=int(d["episode"]),
            lane=d["lane"],
            epoch=int(d["epoch"]),
            max_epochs=int(d["max_epochs"]),
            train_loss=float(d["train_loss"]),
            val_loss=float(d["val_loss"]),
            train_accuracy=float(d["train_accuracy"]),
            val_accuracy=float(d["val_accuracy"]),
            host_params=int(d["host_params"]),
            seed_params=int(d["seed_params"]),
            seeds=tuple(SeedRecord.from_dict(s) for s in d["seeds"]),
            decision=None if d["decision"] is None else DecisionRecord.from_dict(d["decision"]),
            wall_seconds=float(d["wall_seconds"]),
            samples_per_second=float(d["samples_per_second"]),
            reward=float(d.get("reward", 0.0)),
            plateau_epochs=int(d.get("plateau_epochs", 0)),
        )


@dataclass(frozen=True)
class LaneInfo:
    name: str
    policy_kind: str  # "heuristic" or "iql"
    model_path: str | None = None
    state_dim: int | None = None
    telemetry_type: str | None = None  # none / seed / full / unknown
    feature_names: tuple[str, ...] = ()  # names of the policy's inputs, for the dashboard
    model_format: str | None = None  # "esper-iql" (ours, normalised) or "plan" (esper-lite's, raw)
    metrics: dict | None = None  # an esper-lite checkpoint's own training metrics, as saved

    def to_dict(self) -> dict:
        return {
            "name": self.name,
            "policy_kind": self.policy_kind,
            "model_path": self.model_path,
            "state_dim": self.state_dim,
            "telemetry_type": self.telemetry_type,
            "feature_names": list(self.feature_names),
            "model_format": self.model_format,
            "metrics": self.metrics,
        }

    @classmethod
    def from_dict(cls, d: dict) -> LaneInfo:
        d = conform(cls, d)
        metrics = d.get("metrics")
        return cls(
            d["name"],
            d["policy_kind"],
            d.get("model_path"),
            d.get("state_dim"),
            d.get("telemetry_type"),
            tuple(d.get("feature_names", ())),
            d.get("model_format"),
            metrics if isinstance(metrics, dict) else None,
        )


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
    data_seed: int = 0

    def to_dict(self) -> dict:
        return {
            "kind": "run",
            "v": SCHEMA_VERSION,
            "run_id": self.run_id,
            "mode": self.mode,
            "lanes": [lane.to_dict() for lane in self.lanes],
            "preset": self.preset,
            "device": self.device,
            "seed": self.seed,
            "epochs": self.epochs,
            "episodes": self.episodes,
            "slots": self.slots,
            "created_at": self.created_at,
            "executing_lane": self.executing_lane,
            "data_seed": self.data_seed,
        }

    @classmethod
    def from_dict(cls, d: dict) -> RunInfo:
        d = conform(cls, d, nested=("lanes",))
        return cls(
            run_id=d["run_id"],
            mode=d["mode"],
            lanes=tuple(LaneInfo.from_dict(x) for x in d["lanes"]),
            preset=d["preset"],
            device=d["device"],
            seed=int(d["seed"]),
            epochs=int(d["epochs"]),
            episodes=int(d["episodes"]),
            slots=int(d["slots"]),
            created_at=d.get("created_at", ""),
            executing_lane=d.get("executing_lane"),
            data_seed=int(d.get("data_seed", 0)),
        )


EVENT_KINDS = (
    "started", "paused", "resumed", "command_applied", "command_refused", "episode_finished",
    "finished", "stopped", "crashed", "record_failed", "episode_failed",
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
            "kind": "event",
            "v": SCHEMA_VERSION,
            "run_id": self.run_id,
            "event": self.event,
            "message": self.message,
            "lane": self.lane,
            "episode": self.episode,
            "epoch": self.epoch,
            "slot": self.slot,
            "traceback": self.traceback,
            "data": self.data,
        }

    @classmethod
    def from_dict(cls, d: dict) -> RunEvent:
        d = conform(cls, d)
        check_event_data(d.get("data") or {})
        return cls(
            run_id=d["run_id"],
            event=d["event"],
            message=d.get("message", ""),
            lane=d.get("lane"),
            episode=d.get("episode"),
            epoch=d.get("epoch"),
            slot=d.get("slot"),
            traceback=d.get("traceback"),
            data=dict(d.get("data") or {}),
        )
