"""Each run's own colour, the same in the runs list, the comparison's curves and its table.

A run's home colour comes from its run id (a CRC, never Python's salted ``hash``), so it is the
same in every session. Runs compared together must not share one: ``RunColours`` hands out
colours in the order runs are selected, each its home colour when free and otherwise the next
free one, and keeps what it gave, so selecting a third run never recolours the first two.
"""

from __future__ import annotations

import zlib

# Tableau 10, readable on a dark background and told apart by most colour-blind readers.
PALETTE = (
    "#4e9af1", "#f28e2b", "#59a14f", "#e15759", "#b07aa1",
    "#edc948", "#76b7b2", "#ff9da7", "#c49a7a", "#bab0ac",
)  # fmt: skip


def home_colour(run_key: str) -> int:
    """The palette index a run prefers: the same for the same run id, in every process."""
    return zlib.crc32(run_key.encode("utf-8", "replace")) % len(PALETTE)


class RunColours:
    """The colours of the runs selected so far, kept while the list lives."""

    def __init__(self) -> None:
        self._given: dict[str, int] = {}

    def colour(self, run_key: str, taken: set[str] | None = None) -> str:
        """``run_key``'s colour; one not yet given to any run in ``taken`` (the other selected
        runs) when its home colour is, chosen once and then kept."""
        index = self._given.get(run_key)
        if index is None:
            others = {self._given[k] for k in (taken or set()) if k in self._given and k != run_key}
            index = home_colour(run_key)
            for step in range(len(PALETTE)):
                candidate = (index + step) % len(PALETTE)
                if candidate not in others:
                    index = candidate
                    break
            self._given[run_key] = index
        return PALETTE[index]

    def forget(self, run_key: str) -> None:
        """A run deselected: its colour is free again for a run selected later."""
        self._given.pop(run_key, None)
