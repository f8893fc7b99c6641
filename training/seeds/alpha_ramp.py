"""The blending schedule: alpha from exactly 0 to exactly 1 along a sigmoid, one step per batch."""

from __future__ import annotations

import math


class AlphaRamp:
    """A sigmoid ramp from exactly 0 to exactly 1 over ``total_steps`` batches.

    The logistic curve is rescaled so that step 0 gives 0 and the last step gives 1; past the end
    it stays at 1. The slot drops the ramp when blending ends, so no schedule outlives BLENDING.
    """

    def __init__(self, total_steps: int, steepness: float = 8.0) -> None:
        if total_steps < 1:
            raise ValueError(f"an alpha ramp needs at least one step, got {total_steps}")
        self.total_steps = total_steps
        self.steepness = steepness
        self.step_count = 0
        self._lo = self._logistic(0.0)
        self._hi = self._logistic(1.0)

    def _logistic(self, u: float) -> float:
        return 1.0 / (1.0 + math.exp(-self.steepness * (u - 0.5)))

    @property
    def value(self) -> float:
        if self.step_count >= self.total_steps:
            return 1.0
        u = self.step_count / self.total_steps
        return (self._logistic(u) - self._lo) / (self._hi - self._lo)

    def step(self) -> float:
        self.step_count = min(self.step_count + 1, self.total_steps)
        return self.value
