"""Shared pieces of the record modules."""

from __future__ import annotations

SCHEMA_VERSION = 1
ACTION_NAMES = ("WAIT", "GERMINATE_CONV", "GERMINATE_ATTENTION", "GERMINATE_NORM",
                "GERMINATE_DEPTHWISE", "ADVANCE", "CULL")  # fmt: skip


class RecordError(ValueError):
    """A line that is not a record this version understands."""
