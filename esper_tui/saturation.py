"""Incremental normalisation-saturation statistics, per lane, over a window of recent epochs.

What the agent sees of a seed is the focus seed's ten features (or a dormant slot's). For each
feature that clips, we count how many of the recent epochs had the raw value at or past the
bound: a feature pegged there most of the time no longer informs the agent (the plan's example:
gradient norm pegged at 1.0 because the 10.0 scale is too low).
"""

from __future__ import annotations

import statistics
from collections import deque

from training.records import EpochRecord, SeedRecord
from training.seeds.lifecycle import SeedStage
from training.seeds.telemetry import SEED_FEATURES
from widgets.model import SaturationRow

WINDOW = 20
WARN_SHARE = 0.8
WARN_MIN_EPOCHS = 5
_FOCUS_STAGES = frozenset(
    {
        SeedStage.GERMINATED,
        SeedStage.TRAINING,
        SeedStage.BLENDING,
        SeedStage.SHADOWING,
        SeedStage.PROBATIONARY,
    }
)


def focus_record(seeds: tuple[SeedRecord, ...]) -> SeedRecord | None:
    """The seed the agent's ten features come from: the earliest-germinated live seed that is
    neither fossilized nor failed (the env's rule), else None (a dormant slot)."""
    live = [s for s in seeds if s.seed_id is not None and s.stage in _FOCUS_STAGES]
    return min(live, key=lambda s: (s.germinated_epoch, s.slot_index), default=None)


class SaturationTracker:
    """Counts kept up to date as epochs arrive: O(features) per epoch, never a rescan."""

    def __init__(self, lane: str, window: int = WINDOW) -> None:
        self.lane = lane
        self.window = window
        self._flags: deque[tuple[bool, ...]] = deque()
        self._raws: deque[tuple[float, ...]] = deque()
        self._counts = [0] * len(SEED_FEATURES)
        self._latest: SeedRecord | None = None

    def add(self, record: EpochRecord) -> None:
        seed = focus_record(record.seeds) or next(iter(record.seeds), None)
        if seed is None:
            return
        raws = tuple(float(getattr(seed.telemetry, spec.raw_field)) for spec in SEED_FEATURES)
        flags = tuple(
            spec.clips and spec.pegged(raw) for spec, raw in zip(SEED_FEATURES, raws, strict=True)
        )
        if len(self._flags) == self.window:
            for i, old in enumerate(self._flags.popleft()):
                self._counts[i] -= old
            self._raws.popleft()
        self._flags.append(flags)
        self._raws.append(raws)
        for i, flag in enumerate(flags):
            self._counts[i] += flag
        self._latest = seed

    def reset(self) -> None:
        self.__init__(self.lane, self.window)  # type: ignore[misc]

    def rows(self) -> tuple[SaturationRow, ...]:
        seed = self._latest
        if seed is None:
            return ()
        n = len(self._flags)
        rows = []
        for i, spec in enumerate(SEED_FEATURES):
            share = self._counts[i] / n if n else 0.0
            median = statistics.median(r[i] for r in self._raws) if n else 0.0
            warning = ""
            if spec.clips and n >= WARN_MIN_EPOCHS and share >= WARN_SHARE:
                warning = (
                    f"{spec.name} pegged at its bound {spec.bound_text()} in {share:.0%} of the last "
                    f"{n} epochs (raw median {median:.3g}): the scale blinds the agent"
                )
            rows.append(
                SaturationRow(
                    self.lane,
                    spec.name,
                    spec.raw_field,
                    float(getattr(seed.telemetry, spec.raw_field)),
                    float(seed.features[i]),
                    spec.bound_text(),
                    share,
                    n,
                    float(median),
                    warning,
                )
            )
        return tuple(rows)
