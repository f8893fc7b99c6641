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
# The confidence sequence's mixture: the prior variance of the standardised effect (mean/sd) that
# its Gaussian mixture spreads over. 1 puts its power at effects of about one paired sd.
CS_PRIOR_VARIANCE = 1.0
# An until-decided run decides no earlier than this many episodes (the sd needs a few).
MIN_EPISODES = 5
# Beyond this many episodes "needed" means "not with this spread": the search stops there.
MAX_EPISODES_NEEDED = 10**7

__all__ = [
    "ALPHA",
    "CS_PRIOR_VARIANCE",
    "MIN_EPISODES",
    "DEFAULT_EFFECT",
    "POWER",
    "PairedPower",
    "PairedResult",
    "TIE_THRESHOLD",
    "confidence_sequence",
    "confidence_sequences",
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


def confidence_sequences(
    differences: np.ndarray,
    alpha: float = ALPHA,
    prior_variance: float = CS_PRIOR_VARIANCE,
    min_episodes: int = MIN_EPISODES,
) -> tuple[np.ndarray, np.ndarray]:
    """An anytime-valid confidence sequence for the mean of ``differences`` (along the last axis;
    any leading axes are independent runs): after every prefix n, the interval (low, high), which
    covers the true mean at every n at once with probability at least 1 - ``alpha``, so a run may
    look after every episode and stop whenever it likes. Before ``min_episodes``, before it is
    informative (with alpha 0.05 and the default prior, 5 episodes) and while every difference
    so far is equal, it is (-inf, +inf).

    The method is the scale-invariant t confidence sequence of Lai (1976) as set out by Wang &
    Ramdas (2023, "Anytime-valid t-tests and confidence sequences for Gaussian means with unknown
    variance"): for each candidate mean m, the right-Haar mixture over the unknown sd and a
    Gaussian mixture N(0, ``prior_variance``) over the standardised effect (m' - m)/sd give the
    Bayes factor B_n(m) = (1 + n g)^(-1/2) [(1 + t^2/v) / (1 + t^2/(v (1 + n g)))]^(n/2), with t
    the ordinary t statistic of m and v = n - 1. It is a nonnegative martingale under m in the
    filtration of the scale-invariant statistics, so by Ville's inequality B_n(m) ever reaching
    1/alpha has probability at most alpha; the sequence is {m : B_n(m) < 1/alpha}, which solves
    to mean ± sd/sqrt(n) sqrt(v (A - 1) / (1 - A/(1 + n g))), A = (sqrt(1 + n g)/alpha)^(2/n).
    It needs no bound on the differences and no estimate of their variance plugged in as if
    known; each interval is a monotone function of |t|, which Efron (1969) showed conservative
    under symmetric heavy tails. Each returned interval is the running intersection of the
    intervals since ``min_episodes`` (an intersection of anytime-valid intervals is one), unless
    the data made it empty, when it is that prefix's own interval. Starting the intersection
    there, not at 2, keeps a skewed early sd from deciding for the whole run."""
    if min_episodes < 2:
        raise ValueError(f"a confidence sequence needs at least 2 episodes, got {min_episodes}")
    x = np.asarray(differences, dtype=float)
    if x.shape[-1] == 0:
        return np.empty(x.shape), np.empty(x.shape)
    n = np.arange(1, x.shape[-1] + 1, dtype=float)
    mean = np.cumsum(x, axis=-1) / n
    centred = x - x[..., :1]  # sums of squares about the first value: no cancellation
    sum_c = np.cumsum(centred, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        var = (np.cumsum(centred * centred, axis=-1) - sum_c * sum_c / n) / (n - 1.0)
        sd = np.sqrt(np.maximum(var, 0.0))
        g = prior_variance
        log_a = (2.0 / n) * (0.5 * np.log1p(n * g) - math.log(alpha))
        a = np.exp(log_a)
        shrink = 1.0 - a / (1.0 + n * g)
        # Differences with no spread yet (all equal, as when every episode so far tied exactly)
        # bound nothing: the Gaussian model's sd 0 would make the interval a point and pin every
        # later intersection to it.
        bounded = (n >= min_episodes) & (shrink > 0.0) & (sd > 0.0)
        factor = np.where(bounded, np.sqrt((n - 1.0) * np.expm1(log_a) / shrink / n), np.inf)
        radius = np.where(bounded, sd * factor, np.inf)
    low = np.maximum.accumulate(mean - radius, axis=-1)
    high = np.minimum.accumulate(mean + radius, axis=-1)
    empty = low > high
    return np.where(empty, mean - radius, low), np.where(empty, mean + radius, high)


def confidence_sequence(
    differences: Sequence[float],
    alpha: float = ALPHA,
    prior_variance: float = CS_PRIOR_VARIANCE,
    min_episodes: int = MIN_EPISODES,
) -> tuple[float, float]:
    """The confidence sequence's interval after all of ``differences`` (see
    ``confidence_sequences``); (-inf, +inf) while it is not yet informative."""
    if len(differences) == 0:
        return -math.inf, math.inf
    low, high = confidence_sequences(
        np.asarray(differences, dtype=float), alpha, prior_variance, min_episodes
    )
    return float(low[-1]), float(high[-1])


def paired_result(
    lane: str,
    reference: str,
    lane_acc: Sequence[float],
    ref_acc: Sequence[float],
    threshold: float = TIE_THRESHOLD,
    effect: float = DEFAULT_EFFECT,
    min_episodes: int = MIN_EPISODES,
) -> PairedResult:
    """Lane minus reference over paired episodes: the mean difference, its t interval, the
    win/tie/loss count and sign test, the power (``paired_power`` for ``effect`` points), and
    the anytime-valid confidence sequence, decided when it excludes 0 (never before
    ``min_episodes``)."""
    if len(lane_acc) != len(ref_acc):
        raise ValueError("paired results need the same number of episodes on both lanes")
    diffs = [a - b for a, b in zip(lane_acc, ref_acc, strict=True)]
    n = len(diffs)
    mean = statistics.fmean(diffs) if n else 0.0
    low, high = t_interval(diffs) if n >= 2 else (None, None)
    wins = sum(d > threshold for d in diffs)
    losses = sum(d < -threshold for d in diffs)
    sd = statistics.stdev(diffs) if n >= 2 else None
    power = paired_power(sd, n, effect)
    cs_low, cs_high = confidence_sequence(diffs, min_episodes=min_episodes)
    bounded = math.isfinite(cs_low) and math.isfinite(cs_high)
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
        sd=sd,
        effect=effect,
        detectable_effect=power.detectable_effect,
        episodes_needed=power.episodes_needed,
        cs_low=cs_low if bounded else None,
        cs_high=cs_high if bounded else None,
        decided=bounded and (cs_low > 0.0 or cs_high < 0.0),
    )
