"""The record contract between trainer, store, file and widgets: plain, frozen records.

See docs/architecture.md, "Records". Frozen msgspec Structs, one JSON object per line, each
with ``kind`` and the schema version ``v``, decoded and checked in one pass. No torch here;
widgets import this package and nothing else of ``training``, so the seed stages a record
names are exported here too.
"""

from __future__ import annotations

from training.records.base import ACTION_NAMES, SCHEMA_VERSION, RecordError
from training.records.codec import (
    MAX_LINE,
    Record,
    record_from_dict,
    record_from_line,
    record_to_line,
)
from training.records.decision import DecisionRecord
from training.records.run import EVENT_KINDS, EpochRecord, LaneInfo, RunEvent, RunInfo
from training.records.seed import SeedRecord
from training.records.views import PairedResult
from training.records.vitals import GpuVitals, Vitals
from training.seeds.lifecycle import SeedStage, is_failure_stage, stage_name

__all__ = [
    "ACTION_NAMES",
    "EVENT_KINDS",
    "MAX_LINE",
    "PairedResult",
    "SCHEMA_VERSION",
    "DecisionRecord",
    "EpochRecord",
    "GpuVitals",
    "LaneInfo",
    "Record",
    "RecordError",
    "RunEvent",
    "RunInfo",
    "SeedRecord",
    "SeedStage",
    "is_failure_stage",
    "record_from_dict",
    "record_from_line",
    "record_to_line",
    "stage_name",
    "Vitals",
]
