"""The record contract between trainer, store, file and widgets: plain, frozen records.

See docs/architecture.md, "Records". Frozen dataclasses, one JSON object per line, each with
``kind`` and the schema version ``v``. No torch here; widgets import this package and nothing
else of ``training``, so the seed stages a record names are exported here too.
"""

from __future__ import annotations

import json
from typing import Any

from training.records.base import ACTION_NAMES, SCHEMA_VERSION, RecordError
from training.records.decision import DecisionRecord
from training.records.fields import check_depth
from training.records.run import EVENT_KINDS, EpochRecord, LaneInfo, RunEvent, RunInfo
from training.records.seed import SeedRecord
from training.records.views import PairedResult
from training.seeds.lifecycle import SeedStage, is_failure_stage, stage_name

Record = RunInfo | EpochRecord | RunEvent
_KINDS: dict[str, Any] = {"run": RunInfo, "epoch": EpochRecord, "event": RunEvent}

__all__ = [
    "ACTION_NAMES",
    "EVENT_KINDS",
    "PairedResult",
    "SCHEMA_VERSION",
    "DecisionRecord",
    "EpochRecord",
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
]


MAX_LINE = 2**20  # 1 MiB; our longest lines (a crash traceback) are a few kB


def record_from_dict(d: dict) -> Record:
    if not isinstance(d, dict):
        raise RecordError("a record must be a JSON object")
    kind, version = d.get("kind"), d.get("v")
    if not isinstance(kind, str) or kind not in _KINDS:
        raise RecordError(f"unknown record kind {str(kind)[:40]!r}")
    if version != SCHEMA_VERSION or isinstance(version, bool):
        raise RecordError(
            f"record schema version {str(version)[:20]!r}; this build reads {SCHEMA_VERSION}"
        )
    try:
        return _KINDS[kind].from_dict(d)
    except RecordError as exc:
        raise RecordError(f"malformed {kind} record: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - nothing from a line may escape the record boundary
        raise RecordError(f"malformed {kind} record: {type(exc).__name__}") from None


def record_to_line(record: Record) -> str:
    return json.dumps(record.to_dict(), separators=(",", ":"))


def record_from_line(line: str | bytes) -> Record:
    """One line of a record file, or ``RecordError``: never any other exception, whatever the
    line holds (any JSON shape, a BOM, NaN, numbers that overflow, deep nesting, megabytes)."""
    if len(line) > MAX_LINE:
        raise RecordError(f"line longer than {MAX_LINE} bytes")
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    line = line.lstrip("\ufeff")
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not JSON: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # huge integers, deep nesting
        raise RecordError(f"not a usable JSON line ({type(exc).__name__})") from None
    check_depth(data)
    return record_from_dict(data)
