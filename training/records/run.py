"""Epochs, runs and the events of a run: the three kinds of line a record file holds.

Each is a frozen msgspec ``Struct`` tagged by ``kind``; ``v`` is the schema version. Field
types carry their bounds (``training.seeds.bounds``), so decoding a line checks it in one pass.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

import msgspec

from training.records.base import SCHEMA_VERSION, RecordError
from training.records.decision import DecisionRecord
from training.records.seed import SeedRecord
from training.records.vitals import Vitals
from training.seeds.bounds import (
    Count,
    LongText,
    Params,
    Percent,
    RandomSeed,
    SlotIndex,
    Slots,
    StateDim,
    Text,
    items,
)

Version = Annotated[int, msgspec.Meta(ge=1, le=SCHEMA_VERSION)]


class _Record(msgspec.Struct, frozen=True, gc=False, tag_field="kind"):
    """What every line has: its ``kind`` (the tag) and, last, its schema version ``v``."""


class EpochRecord(_Record, frozen=True, gc=False, tag="epoch"):
    """One epoch of one lane: its numbers, every slot, and the decision taken after it."""

    run_id: Text
    episode: Count
    lane: Text
    epoch: Count
    max_epochs: Count
    train_loss: float
    val_loss: float
    train_accuracy: Percent
    val_accuracy: Percent
    host_params: Params
    seed_params: Params
    seeds: Annotated[tuple[SeedRecord, ...], items(16)]
    decision: DecisionRecord | None
    wall_seconds: float
    samples_per_second: float
    reward: float = 0.0
    plateau_epochs: Count = 0
    vitals: Vitals | None = None  # the process, host and GPUs when the epoch ended
    v: Version = SCHEMA_VERSION


class LaneInfo(msgspec.Struct, frozen=True, gc=False):
    name: Text
    policy_kind: Text  # "heuristic", "iql" or "bc" (the ablation's behaviour-cloning baseline)
    model_path: Text | None = None
    state_dim: StateDim | None = None
    telemetry_type: Text | None = None  # none / seed / full / unknown
    feature_names: Annotated[tuple[Text, ...], items()] = ()  # the policy's inputs, by name
    model_format: Text | None = None  # "esper-iql" (ours, normalised) or "plan" (esper-lite's, raw)
    metrics: dict[str, Any] | None = None  # an esper-lite checkpoint's own training metrics


class RunInfo(_Record, frozen=True, gc=False, tag="run"):
    """What a run is: written first in every record file."""

    run_id: Text
    mode: Text
    lanes: Annotated[tuple[LaneInfo, ...], items(8)]
    preset: Text
    device: Text
    seed: RandomSeed
    epochs: Count
    episodes: Count
    slots: Slots
    created_at: Text = ""  # ISO 8601
    executing_lane: Text | None = None  # shadow mode: the one lane that trains
    data_seed: RandomSeed = 0
    v: Version = SCHEMA_VERSION


EventKind = Literal[
    "started", "paused", "resumed", "command_applied", "command_refused", "episode_finished",
    "finished", "stopped", "crashed", "record_failed", "episode_failed",
    "vitals_unavailable",
]  # fmt: skip
EVENT_KINDS: tuple[str, ...] = get_args(EventKind)
_EVENT_KINDS = frozenset(EVENT_KINDS)


class RunEvent(_Record, frozen=True, gc=False, tag="event"):
    """Something that happened to the run rather than to an epoch."""

    run_id: Text
    event: EventKind
    message: LongText = ""
    lane: Text | None = None
    episode: Count | None = None
    epoch: Count | None = None
    slot: SlotIndex | None = None
    traceback: LongText | None = None
    data: dict[str, Any] = msgspec.field(default_factory=dict)  # e.g. a paired result
    v: Version = SCHEMA_VERSION

    def __post_init__(self) -> None:  # the decoder checks the type; this, what code builds
        if self.event not in _EVENT_KINDS:
            raise RecordError(f"unknown event {self.event[:40]!r}")
