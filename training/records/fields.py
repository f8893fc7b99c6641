"""The checks a record's typed fields cannot express: nesting in the free-form parts.

Every typed field is checked by the decoder against its type and bounds
(``training.seeds.bounds``). Two parts of a record are free-form JSON objects: an event's
``data`` and a lane's ``metrics``. Their nesting is bounded here, and the parts of ``data`` that
the store reads (each lane's final accuracy, the paired results) are checked like typed fields.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Any

import msgspec

from training.records.base import RecordError
from training.records.views import PairedResult
from training.seeds.bounds import Text, items

MAX_DEPTH = 32  # nesting anywhere in a line; our records use 5


class EventData(msgspec.Struct, frozen=True):
    """The parts of an event's ``data`` that the store reads; any other key is kept as it is."""

    final_accuracy: Annotated[dict[Text, float], msgspec.Meta(max_length=8)] | None = None
    paired: Annotated[tuple[PairedResult, ...], items(8)] | None = None
    type: Text | None = None  # command events: which command (its id is not read)
    agreement_rate: float | None = None


def check_depth(value: Any, limit: int = MAX_DEPTH) -> None:
    """``RecordError`` if lists/objects nest deeper than ``limit`` anywhere (iterative walk)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        children: Iterable[Any]
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth >= limit:
            raise RecordError(f"nested deeper than {limit} levels")
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))


def check_event_data(data: dict) -> None:
    """``RecordError`` unless the parts of ``data`` the store reads have their types."""
    check_depth(data, MAX_DEPTH - 1)  # data sits one level into the line
    try:
        msgspec.convert(data, EventData)
    except msgspec.ValidationError as exc:
        raise RecordError(f"data: {exc}") from None
