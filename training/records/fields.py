"""Every field of a record line is checked against its dataclass's type before it is used.

A record file is input like any other: hand-edited, truncated, or crafted. A field of the wrong
type (a list where a lane name goes), a number that overflows, or a count so large that a widget
would draw millions of cells must make the line count as corrupt, never reach the store or the
screen. ``conform`` checks one dict against a frozen dataclass's annotations and the bounds below;
``check_depth`` bounds nesting anywhere in a parsed line. Every string is made printable as it
is checked (``training.records.text``): a name holding terminal escape codes is shown, escaped,
never obeyed.
"""

from __future__ import annotations

import math
import types
import typing
from collections.abc import Iterable
from datetime import datetime
from functools import cache
from typing import Any

from training.records.base import RecordError
from training.records.text import MULTILINE_FIELDS, printable, printable_tree
from training.records.views import PairedResult

MAX_TEXT = 4096  # names, reasons, messages
MAX_LONG_TEXT = 65536  # tracebacks
MAX_ITEMS = 1024  # any list: features, q-values, names, timeline
MAX_DEPTH = 32  # nesting anywhere in a line; our records use 5
MAX_INT = 2**53  # beyond this no field means anything

# Fields whose values a widget uses as sizes, indices or fractions: held to what a run can produce.
INT_BOUNDS: dict[str, tuple[int, int]] = {
    "episode": (0, 10**6), "epoch": (0, 10**6), "max_epochs": (0, 10**6), "epochs": (0, 10**6),
    "episodes": (0, 10**6), "slots": (1, 16), "slot_index": (0, 15), "slot": (0, 15),
    "target_slot": (0, 15), "layer_index": (0, 64), "action": (0, 6), "reference_action": (0, 6),
    "stage": (0, 10), "from_stage": (0, 10), "to_stage": (0, 10), "epochs_in_stage": (0, 10**6),
    "state_dim": (0, 4096), "plateau_epochs": (0, 10**6), "germinated_epoch": (-1, 10**6),
    "gradient_batches": (0, 10**9), "host_params": (0, 10**12), "seed_params": (0, 10**12),
    "params": (0, 10**12), "seed": (0, 2**64), "data_seed": (0, 2**64), "wins": (0, 10**6),
    "ties": (0, 10**6), "losses": (0, 10**6),
}  # fmt: skip
FLOAT_BOUNDS: dict[str, tuple[float, float]] = {
    "alpha": (-1e-6, 1.000001), "gradient_health": (-1e-6, 1.000001),
    "train_accuracy": (-1e-6, 100.000001), "val_accuracy": (-1e-6, 100.000001),
    "accuracy": (-1e-6, 100.000001),
}  # fmt: skip
LONG_TEXT = {"traceback", "message"}
LIST_BOUNDS = {"seeds": 16, "lanes": 8, "shadow": 8, "timeline": 256}


@cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def conform(cls: type, d: Any, nested: tuple[str, ...] = ()) -> dict:
    """``d`` itself, its strings made printable, if every field present in it has its annotated
    type and lies in its bounds; ``RecordError`` otherwise. Fields named in ``nested`` are records
    checked by their own class."""
    if not isinstance(d, dict):
        raise RecordError(f"a {cls.__name__} must be a JSON object")
    for name, hint in _hints(cls).items():
        if name in d and name not in nested:
            value = d[name]
            checked = _check(name, hint, value)
            if checked is not value:
                d[name] = checked
    return d


def _check(name: str, hint: Any, value: Any) -> Any:
    """``value`` if it fits ``hint`` (its strings made printable: then a new value), else
    ``RecordError``."""
    origin, args = typing.get_origin(hint), typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return value
        options = [a for a in args if a is not type(None)]
        if len(options) == 1:
            return _check(name, options[0], value)
        for option in options:
            try:
                return _check(name, option, value)
            except RecordError:
                continue
        raise RecordError(f"{name} has the wrong type")
    if origin is tuple:
        if not isinstance(value, list) or len(value) > LIST_BOUNDS.get(name, MAX_ITEMS):
            raise RecordError(
                f"{name} must be a list of at most {LIST_BOUNDS.get(name, MAX_ITEMS)} items"
            )
        if len(args) == 2 and args[1] is Ellipsis:
            items = [_check(name, args[0], item) for item in value]
        elif args:
            if len(value) != len(args):
                raise RecordError(f"{name} must have {len(args)} items")
            items = [_check(name, arg, item) for item, arg in zip(value, args, strict=True)]
        else:
            return value
        return value if all(a is b for a, b in zip(items, value, strict=True)) else items
    if hint is bool:
        if not isinstance(value, bool):
            raise RecordError(f"{name} must be true or false")
    elif hint is int:
        _whole(name, value)
    elif hint is float:
        _real(name, value)
    elif hint is str:
        limit = MAX_LONG_TEXT if name in LONG_TEXT else MAX_TEXT
        if not isinstance(value, str) or len(value) > limit:
            raise RecordError(f"{name} must be text of at most {limit} characters")
        return printable(value, name in MULTILINE_FIELDS)
    elif hint is datetime:
        if not isinstance(value, str) or len(value) > 64:
            raise RecordError(f"{name} must be an ISO date")
        return printable(value)
    elif hint is dict or origin is dict:
        if not isinstance(value, dict):
            raise RecordError(f"{name} must be a JSON object")
        return printable_tree(value)
    elif isinstance(hint, type) and hasattr(hint, "from_dict"):
        if not isinstance(value, dict):
            raise RecordError(f"{name} must be a JSON object")
    return value


def _whole(name: str, value: Any) -> None:
    if not isinstance(value, int) or isinstance(value, bool):
        raise RecordError(f"{name} must be a whole number")
    low, high = INT_BOUNDS.get(name, (-MAX_INT, MAX_INT))
    if not low <= value <= high:
        raise RecordError(f"{name} is outside {low}..{high}")


def _real(name: str, value: Any) -> None:
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise RecordError(f"{name} must be a number")
    if isinstance(value, int) and abs(value) > MAX_INT:
        raise RecordError(f"{name} is too large")
    bounds = FLOAT_BOUNDS.get(name)
    if bounds is not None and not (math.isfinite(value) and bounds[0] <= value <= bounds[1]):
        raise RecordError(f"{name} is outside {bounds[0]:g}..{bounds[1]:g}")


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


def check_event_data(data: Any) -> None:
    """The parts of an event's free-form ``data`` that the store reads: the final accuracy of
    each lane and the paired results; anything else is kept as it is (nesting is bounded)."""
    if not isinstance(data, dict):
        raise RecordError("data must be a JSON object")
    finals = data.get("final_accuracy")
    if finals is not None:
        if not isinstance(finals, dict) or len(finals) > LIST_BOUNDS["lanes"]:
            raise RecordError("final_accuracy must map at most 8 lanes to numbers")
        for lane, value in finals.items():
            _check("lane", str, lane)
            _real("final_accuracy", value)
    paired = data.get("paired")
    if paired is not None:
        if not isinstance(paired, list) or len(paired) > LIST_BOUNDS["lanes"]:
            raise RecordError("paired must be a list of at most 8 results")
        for item in paired:
            PairedResult.from_dict(conform(PairedResult, item))
    if "type" in data:  # command events: which command (its id is not read)
        _check("type", str, data["type"])
    rate = data.get("agreement_rate")
    if rate is not None:
        _real("agreement_rate", rate)
