"""One record to one line and back: the encoder the trainer writes with and the decoder every
reader uses.

Decoding is one msgspec pass into the tagged, typed records, which checks every field's type and
bounds as it parses. A line msgspec's strict JSON refuses is given a second chance through
``json.loads``, which reads what earlier versions of this project wrote and still means
something: ``NaN``, ``Infinity``, and floats that overflow to infinity (a diverged loss), and
bytes that are not UTF-8. Nothing but ``RecordError`` leaves ``record_from_line``, whatever the
line holds: any JSON shape, a BOM, numbers that overflow, deep nesting, megabytes.
"""

from __future__ import annotations

import json

import msgspec

from training.records.base import SCHEMA_VERSION, RecordError
from training.records.fields import check_depth, check_event_data
from training.records.run import EpochRecord, RunEvent, RunInfo

Record = RunInfo | EpochRecord | RunEvent
MAX_LINE = 2**20  # 1 MiB; our longest lines (a crash traceback) are a few kB
_BOM = "\ufeff"
_BOM_BYTES = _BOM.encode()
_DECODER = msgspec.json.Decoder(Record)


def record_to_line(record: Record) -> str:
    """The line a record is written as (without its newline). msgspec turns the record into
    plain values; ``json`` writes them, so a NaN or infinite loss is written as ``NaN`` or
    ``Infinity`` and reads back as itself (msgspec would write ``null``)."""
    return json.dumps(msgspec.to_builtins(record, enc_hook=_plain), separators=(",", ":"))


def _plain(value: object) -> object:
    """A number msgspec does not know as one: a subclass of float or int, or a numpy or torch
    scalar that a policy left in a tuple of features."""
    if isinstance(value, float):
        return float(value)
    if isinstance(value, int):
        return int(value)
    item = getattr(value, "item", None)
    if callable(item):
        try:
            plain = item()
        except (ValueError, RuntimeError):  # an array of more than one value
            plain = None
        if isinstance(plain, int | float | bool):
            return plain
    raise TypeError(f"a record cannot hold a {type(value).__name__}")


def record_from_line(line: str | bytes) -> Record:
    """One line of a record file, or ``RecordError``: never any other exception."""
    if len(line) > MAX_LINE:
        raise RecordError(f"line longer than {MAX_LINE} bytes")
    try:
        record = _DECODER.decode(line)
    except (msgspec.DecodeError, RecursionError, MemoryError):
        record = _lenient(line)
    except msgspec.ValidationError as exc:
        if "Number out of range" not in str(exc):
            raise _refused(exc) from None
        record = _lenient(line)  # a float beyond the double range: infinity, as json reads it
    return _checked(record)


def record_from_dict(data: object) -> Record:
    """A record from plain values (a line ``json.loads`` parsed), checked as a line is."""
    if not isinstance(data, dict):
        raise RecordError("a record must be a JSON object")
    check_depth(data)
    try:
        record = msgspec.convert(data, Record)
    except msgspec.ValidationError as exc:
        raise _refused(exc) from None
    return _checked(record)


def _lenient(line: str | bytes) -> Record:
    if isinstance(line, bytes):
        line = line.decode("utf-8", errors="replace")
    line = line.removeprefix(_BOM)
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise RecordError(f"not JSON: {exc.msg}") from None
    except (ValueError, RecursionError, MemoryError) as exc:  # huge integers, deep nesting
        raise RecordError(f"not a usable JSON line ({type(exc).__name__})") from None
    return record_from_dict(data)


def _checked(record: Record) -> Record:
    """The free-form parts of a decoded record, checked (events and runs only: rare lines). Text
    is kept exactly as written; what shows a record makes it printable (the store,
    ``read_records``, ``read_summary``)."""
    if isinstance(record, RunEvent):
        check_event_data(record.data)
    elif isinstance(record, RunInfo):
        for lane in record.lanes:
            if lane.metrics is not None:
                check_depth(lane.metrics, 30)  # the metrics sit three levels into the line
    return record


def _refused(exc: msgspec.ValidationError) -> RecordError:
    """msgspec's reason in our words: which field, and why (one line)."""
    text = str(exc)
    if text.endswith("`$.v`"):
        return RecordError(f"record schema version not {SCHEMA_VERSION}: {text}")
    if text.endswith("`$.kind`") and text.startswith("Invalid value "):
        kind = text.removeprefix("Invalid value ").rsplit(" - at ", 1)[0]
        return RecordError(f"unknown record kind {kind[:40]}")
    if text.endswith("`$.kind`") or "missing required field `kind`" in text:
        return RecordError(f"not a record kind this build reads ({text})")
    return RecordError(f"malformed record: {text}"[:300])


__all__ = ["MAX_LINE", "Record", "record_from_dict", "record_from_line", "record_to_line"]
