"""The range each recorded value may take, as types the record decoder checks in its one pass.

A record file is input like any other: hand-edited, truncated, or crafted. A field of the wrong
type, a number that overflows, or a count so large that a widget would draw millions of cells
makes the line count as corrupt, and never reaches the store or the screen. These aliases are
``Annotated`` types with msgspec constraints; building a record in code checks nothing, decoding
one checks everything. They live this low because seed telemetry and gate results, recorded in
every seed record, are defined here in ``training.seeds``.
"""

from __future__ import annotations

from typing import Annotated

from msgspec import Meta

MAX_TEXT = 4096  # names, reasons
MAX_LONG_TEXT = 65536  # messages, tracebacks
MAX_ITEMS = 1024  # any list: features, q-values, names
MAX_INT = 2**53  # beyond this no field means anything

Text = Annotated[str, Meta(max_length=MAX_TEXT)]
LongText = Annotated[str, Meta(max_length=MAX_LONG_TEXT)]
Int = Annotated[int, Meta(ge=-MAX_INT, le=MAX_INT)]

# Values a widget uses as sizes, indices or fractions: held to what a run can produce.
Count = Annotated[int, Meta(ge=0, le=10**6)]  # episodes, epochs, wins, epochs in a stage
Slots = Annotated[int, Meta(ge=1, le=16)]
SlotIndex = Annotated[int, Meta(ge=0, le=15)]
LayerIndex = Annotated[int, Meta(ge=0, le=64)]
ActionIndex = Annotated[int, Meta(ge=0, le=6)]
StageValue = Annotated[int, Meta(ge=0, le=10)]
StateDim = Annotated[int, Meta(ge=0, le=4096)]
GerminatedEpoch = Annotated[int, Meta(ge=-1, le=10**6)]
Batches = Annotated[int, Meta(ge=0, le=10**9)]
Params = Annotated[int, Meta(ge=0, le=10**12)]
RandomSeed = Annotated[int, Meta(ge=0)]  # to 2**64 - 1: msgspec reads no larger int
# Bounded floats are also finite: inf fails the bound, and NaN fails every comparison.
Fraction = Annotated[float, Meta(ge=-1e-6, le=1.000001)]  # alpha, gradient health
Percent = Annotated[float, Meta(ge=-1e-6, le=100.000001)]  # accuracies


def items(limit: int = MAX_ITEMS) -> Meta:
    """The bound on a list's length (``Annotated[tuple[X, ...], items(8)]``)."""
    return Meta(max_length=limit)
