"""Plain records: the contract between trainer, store, file and widgets (DESIGN.md §4).

Frozen dataclasses, one JSON object per line, each with ``kind`` and the schema version ``v``.
No torch here; widgets import this package and nothing else of ``training``.
"""

from __future__ import annotations

import json
from typing import Any

from training.records.base import ACTION_NAMES, SCHEMA_VERSION, RecordError
from training.records.decision import DecisionRecord
from training.records.run import EVENT_KINDS, EpochRecord, LaneInfo, RunEvent, RunInfo
from training.records.seed import SeedRecord
from training.records.views import PairedResult

Record = RunInfo | EpochRecord | RunEvent
_KINDS: dict[str, Any] = {"run": RunInfo, "epoch": EpochRecord, "event": RunEvent}

__all__ = [
    "ACTION_NAMES", "EVENT_KINDS", "PairedResult", "SCHEMA_VERSION", "DecisionRecord", "EpochRecord", "LaneInfo",
    "Record", "RecordError", "RunEvent", "RunInfo", "SeedRecord", "record_from_dict",
    "record_from_line", "record_to_line",
]  # fmt: skip


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
