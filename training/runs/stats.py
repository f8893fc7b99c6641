"""Paired statistics over episodes: one episode each proves nothing (PITFALLS.md)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from functools import lru_cache

from training.records.views import PairedResult

# The plan's threshold: a lane "wins" an episode when it beats the other by more than this.
TIE_THRESHOLD = 0.5

__all__ = ["PairedResult", "TIE_THRESHOLD", "paired_result", "sign_test_p", "t_critical"]

_CF_EPS = 1e-15
_CF_TINY = 1e-300


def _beta_continued_fraction(x: float, a: float, b: float) -> float:
    """The continued fraction of I_x(a, b) (modified Lentz), converging fast for
    x < (a + 1) / (a + b + 2). Its terms: d_{2m+1} = -(a+m)(a+b+m)x / ((a+2m)(a+2m+1)),
    d_{2m} = m(b-m)x / ((a+2m-1)(a+2m))."""
    c, d = 1.0, 1.0 - (a + b) * x / (a + 1.0)
    d = 1.0 / (d if abs(d) > _CF_TINY else _CF_TINY)
    result = d
    for m in range(1, 100_000):
        for numerator in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                          -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):  # fmt: skip
            d = 1.0 + numerator * d
            d = 1.0 / (d if abs(d) > _CF_TINY else _CF_TINY)
            c = 1.0 + numerator / c
            c = c if abs(c) > _CF_TINY else _CF_TINY
            result *= c * d
        if abs(c * d - 1.0) < _CF_EPS:
            return result
    raise ArithmeticError(f"incomplete beta did not converge (x={x}, a={a}, b={b})")


def regularized_beta(x: float, a: float, b: float, one_minus_x: float | None = None) -> float:
    """I_x(a, b), the regularised incomplete beta function, for 0 <= x <= 1 and a, b > 0.
    ``one_minus_x`` may carry 1 - x computed without cancellation when x is close to 1."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x must lie in [0, 1], got {x}")
    if x in (0.0, 1.0):
        return x
    y = 1.0 - x if one_minus_x is None else one_minus_x
    log_beta = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)
    log_front = a * math.log(x) + b * math.log(y) - log_beta
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _beta_continued_fraction(x, a, b) / a
    return 1.0 - math.exp(log_front) * _beta_continued_fraction(y, b, a) / b


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| > t) for Student's t with ``df`` degrees of freedom: I_{df/(df+t²)}(df/2, 1/2)."""
    return regularized_beta(df / (df + t * t), df / 2.0, 0.5, one_minus_x=t * t / (df + t * t))


@lru_cache(maxsize=256)
def t_critical(df: int, confidence: float = 0.95) -> float:
    """The two-sided critical value of Student's t: P(|T| > t) = 1 - confidence. Exact for any
    df (to ~1e-12), found by bisection on the tail, which falls monotonically in t."""
    if df < 1:
        raise ValueError("a confidence interval needs at least two paired episodes")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie in (0, 1), got {confidence}")
    alpha = 1.0 - confidence
    low, high = 0.0, 1.0
    while t_two_sided_p(high, df) > alpha:
        low, high = high, 2.0 * high
    for _ in range(200):
        mid = 0.5 * (low + high)
        if mid in (low, high):
            break
        low, high = (mid, high) if t_two_sided_p(mid, df) > alpha else (low, mid)
    return 0.5 * (low + high)


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
