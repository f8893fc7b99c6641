"""Paired statistics over episodes, from ``scipy.stats``: one episode each proves nothing, so a
comparison reports the mean paired difference with its t interval, the sign test, and its power:
the paired standard deviation, the smallest effect these episodes would detect, and the episodes
a target effect needs (``paired_power``)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import optimize, stats

from training.records.views import PairedResult

# The plan's threshold: a lane "wins" an episode when it beats the other by more than this.
TIE_THRESHOLD = 0.5
# Power analysis: the target effect (accuracy points) whose episodes-needed a result reports,
# the two-sided level and the power it is sized for.
DEFAULT_EFFECT = 0.5
ALPHA = 0.05
POWER = 0.8
# Beyond this many episodes "needed" means "not with this spread": the search stops there.
MAX_EPISODES_NEEDED = 10**7

__all__ = [
    "ALPHA",
    "DEFAULT_EFFECT",
    "POWER",
    "PairedPower",
    "PairedResult",
    "TIE_THRESHOLD",
    "paired_power",
    "paired_result",
    "t_test_power",
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


def t_test_power(
    effect_size: float | np.ndarray, episodes: int | np.ndarray, alpha: float = ALPHA
) -> np.ndarray:
    """The power of the two-sided paired (one-sample) t-test at level ``alpha``: the chance that
    ``episodes`` pairs whose differences have mean/sd = ``effect_size`` reject "no difference".
    Both tails count, as in statsmodels' ``TTestPower``. Vectorised over both arguments."""
    n = np.asarray(episodes, dtype=float)
    df = n - 1.0
    noncentrality = np.asarray(effect_size, dtype=float) * np.sqrt(n)
    critical = stats.t.isf(alpha / 2.0, df)
    upper = stats.nct.sf(critical, df, noncentrality)
    # The far tail: scipy gives NaN where it underflows (df 1, large effects); it is ~0 there.
    lower = np.nan_to_num(stats.nct.cdf(-critical, df, noncentrality), nan=0.0)
    return np.asarray(upper + lower)


@dataclass(frozen=True)
class PairedPower:
    """What a paired comparison of ``episodes`` pairs can tell, given its paired sd.

    ``detectable_effect``: the smallest true mean difference (accuracy points) that a two-sided
    t-test at ``alpha`` detects with probability ``power`` at this many episodes.
    ``episodes_needed``: the fewest episodes that detect ``effect`` points that way.
    Either is None when it cannot be computed, and ``note`` says why in one sentence."""

    episodes: int
    sd: float | None
    effect: float
    detectable_effect: float | None
    episodes_needed: int | None
    alpha: float = ALPHA
    power: float = POWER
    note: str = ""


def paired_power(
    sd: float | None,
    episodes: int,
    effect: float = DEFAULT_EFFECT,
    alpha: float = ALPHA,
    power: float = POWER,
) -> PairedPower:
    """The paired result's power: the detectable effect at ``episodes`` pairs and the episodes
    needed for ``effect`` points, from the paired standard deviation ``sd`` (None: unknown, as
    with fewer than two episodes). The one place these numbers are computed."""
    if not (effect > 0.0 and math.isfinite(effect)):
        raise ValueError(f"the target effect must be a positive number of points, got {effect}")
    if not 0.0 < alpha < 1.0 or not alpha < power < 1.0:
        raise ValueError(f"need 0 < alpha < power < 1, got alpha={alpha}, power={power}")
    if episodes < 0:
        raise ValueError(f"episodes must be at least 0, got {episodes}")

    def result(detectable: float | None, needed: int | None, note: str = "") -> PairedPower:
        return PairedPower(episodes, sd, effect, detectable, needed, alpha, power, note)

    if sd is None or episodes < 2:
        return result(None, None, "the paired sd needs at least two finished episodes")
    if not (sd >= 0.0 and math.isfinite(sd)):
        raise ValueError(f"the paired sd must be a finite number at least 0, got {sd}")
    if sd == 0.0:
        return result(
            None,
            None,
            "every paired difference is the same, so there is no spread to size a test on",
        )
    needed = _episodes_needed(effect / sd, alpha, power)
    note = (
        ""
        if needed is not None
        else f"{effect:g} points needs over {MAX_EPISODES_NEEDED:,} episodes at this spread"
    )
    return result(sd * _detectable_effect_size(episodes, alpha, power), needed, note)


@lru_cache(maxsize=1024)
def _detectable_effect_size(episodes: int, alpha: float, power: float) -> float:
    """The standardised effect (mean/sd) that the t-test detects with ``power`` at ``episodes``."""
    high = 1.0
    while float(t_test_power(high, episodes, alpha)) < power:
        high *= 2.0
    return float(
        optimize.brentq(
            lambda d: float(t_test_power(d, episodes, alpha)) - power, 0.0, high, xtol=1e-12
        )
    )


def _episodes_needed(effect_size: float, alpha: float, power: float) -> int | None:
    """The fewest episodes (at least 2) whose t-test detects ``effect_size`` with ``power``;
    None beyond ``MAX_EPISODES_NEEDED``. Starts from the normal approximation, then walks."""
    z = stats.norm.isf(alpha / 2.0) + stats.norm.isf(1.0 - power)
    guess = (z / effect_size) ** 2
    if guess > MAX_EPISODES_NEEDED:
        return None
    n = max(2, math.floor(guess))
    while float(t_test_power(effect_size, n, alpha)) < power:  # the t-test needs a few more
        n += 1
    while n > 2 and float(t_test_power(effect_size, n - 1, alpha)) >= power:
        n -= 1
    return n if n <= MAX_EPISODES_NEEDED else None


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
