"""Paired statistics over episodes, from ``scipy.stats``: one episode each proves nothing, so a
comparison reports the mean paired difference with its t interval, and the sign test."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from functools import lru_cache

from scipy import stats

from training.records.views import PairedResult

# The plan's threshold: a lane "wins" an episode when it beats the other by more than this.
TIE_THRESHOLD = 0.5

__all__ = [
    "PairedResult",
    "TIE_THRESHOLD",
    "paired_result",
    "sign_test_p",
    "t_critical",
    "t_interval",
]


@lru_cache(maxsize=256)
def t_critical(df: int, confidence: float = 0.95) -> float:
    """The two-sided critical value of Student's t: P(|T| > t) = 1 - confidence."""
    if df < 1:
        raise ValueError("a confidence interval needs at least two paired episodes")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    return float(stats.t.ppf(0.5 + confidence / 2.0, df))


def t_interval(values: Sequence[float], confidence: float = 0.95) -> tuple[float, float]:
    """The t confidence interval of the mean of ``values`` (at least two)."""
    n = len(values)
    if n < 2:
        raise ValueError("a confidence interval needs at least two paired episodes")
    mean = statistics.fmean(values)
    sd = statistics.stdev(values)
    if sd == 0.0:  # every difference equal: scipy needs a positive scale, the interval is a point
        return mean, mean
    low, high = stats.t.interval(confidence, n - 1, loc=mean, scale=sd / math.sqrt(n))
    return float(low), float(high)


def sign_test_p(wins: int, losses: int) -> float:
    """Two-sided exact binomial sign test over the non-tied pairs."""
    n = wins + losses
    if n == 0:
        return 1.0
    return float(stats.binomtest(wins, n, 0.5, alternative="two-sided").pvalue)


def paired_result(
    lane: str,
    reference: str,
    lane_acc: Sequence[float],
    ref_acc: Sequence[float],
    threshold: float = TIE_THRESHOLD,
) -> PairedResult:
    if len(lane_acc) != len(ref_acc):
        raise ValueError("paired results need the same number of episodes on both lanes")
    diffs = [a - b for a, b in zip(lane_acc, ref_acc, strict=True)]
    n = len(diffs)
    mean = statistics.fmean(diffs) if n else 0.0
    low, high = t_interval(diffs) if n >= 2 else (None, None)
    wins = sum(d > threshold for d in diffs)
    losses = sum(d < -threshold for d in diffs)
    return PairedResult(
        lane,
        reference,
        n,
        mean,
        low,
        high,
        wins,
        n - wins - losses,
        losses,
        sign_test_p(wins, losses),
    )
