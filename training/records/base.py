"""Shared pieces of the record modules."""

from __future__ import annotations

from typing import Any

SCHEMA_VERSION = 1
ACTION_NAMES = ("WAIT", "GERMINATE_CONV", "GERMINATE_ATTENTION", "GERMINATE_NORM",
                "GERMINATE_DEPTHWISE", "ADVANCE", "CULL")  # fmt: skip


class RecordError(ValueError):
    """A line that is not a record this version understands."""


def opt_tuple(values: Any) -> tuple | None:
    return None if values is None else tuple(values)


def opt_list(values: tuple | None) -> list | None:
    return None if values is None else list(values)
