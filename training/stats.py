"""Paired statistics over episodes: one episode each proves nothing (PITFALLS.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence

from training.records.views import PairedResult

# The plan's threshold: a lane "wins" an episode when it beats the other by more than this.
TIE_THRESHOLD = 0.5

__all__ = ["PairedResult", "TIE_THRESHOLD", "paired_result", "sign_test_p", "t_critical"]

# Two-sided 95 % critical values of Student's t by degrees of freedom.
_T975 = {
    1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
    10: 2.228, 11: 2.201, 12: 2.179, 13: 2.160, 14: 2.145, 15: 2.131, 16: 2.120, 17: 2.110,
    18: 2.101, 19: 2.093, 20: 2.086, 21: 2.080, 22: 2.074, 23: 2.069, 24: 2.064, 25: 2.060,
    26: 2.056, 27: 2.052, 28: 2.048, 29: 2.045, 30: 2.042, 40: 2.021, 60: 2.000, 120: 1.980,
}  # fmt: skip


def t_critical(df: int) -> float:
    if df < 1:
        raise ValueError("a confidence interval needs at least two paired episodes")
    if df in _T975:
        return _T975[df]
    larger = [k for k in _T975 if k > df]
    return _T975[min(larger)] if larger else 1.960


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact binomial sign test over the non-tied pairs."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    tail = sum(math.comb(n, i) for i in range(k + 1)) / 2**n
    return min(1.0, 2.0 * tail)


def paired_result(lane: str, reference: str, lane_acc: Sequence[float], ref_acc: Sequence[float],
                  threshold: float = TIE_THRESHOLD) -> PairedResult:  # fmt: skip
    if len(lane_acc) != len(ref_acc):
        raise ValueError("paired results need the same number of episodes on both lanes")
    diffs = [a - b for a, b in zip(lane_acc, ref_acc, strict=True)]
    n = len(diffs)
    mean = sum(diffs) / n if n else 0.0
    low = high = None
    if n >= 2:
        sd = math.sqrt(sum((d - mean) ** 2 for d in diffs) / (n - 1))
        half = t_critical(n - 1) * sd / math.sqrt(n)
        low, high = mean - half, mean + half
    wins = sum(d > threshold for d in diffs)
    losses = sum(d < -threshold for d in diffs)
    return PairedResult(lane, reference, n, mean, low, high, wins, n - wins - losses, losses,
                        sign_test_p(wins, losses))  # fmt: skip
