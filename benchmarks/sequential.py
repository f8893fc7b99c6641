"""The sequential test of ``esper-iql compare --until-decided``, by simulation (no training).

Simulated paired differences (sd 1.05 points, as measured on the bundled policy's 20 paired
episodes) go through ``training.runs.stats.confidence_sequences``, the function the driver uses,
up to N episodes (default 200). Printed per distribution:

- false decisions: the share of runs with no true effect whose sequence ever excluded 0
  (the promise: at most 5 %), with a 95 % Clopper-Pearson interval, the simulation's margin;
- the same for the ordinary t interval looked at after every episode, to show why it is not
  the stopping rule, and for the asymptotic confidence sequence of Waudby-Smith et al. (2024),
  the alternative we did not pick;
- under a true effect of 1 sd and of 0.5 sd: the share of runs that stopped before N, the mean
  episodes they used, and the episodes a fixed-n t-test needs for the same power
  (``training.runs.stats.paired_power``), with the ratio of the two, and for reference the
  fixed-n test at the conventional power 0.8.

    python benchmarks/sequential.py [--runs 10000] [--horizon 200] [--seed 0]
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
from scipy import stats

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from training.runs.stats import (  # noqa: E402
    MIN_EPISODES,
    confidence_sequences,
    paired_power,
)

SD = 1.05  # the bundled policy's paired sd, from its 20-episode interval [-0.46, +0.52]


def normal(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    return rng.normal(0.0, SD, shape)


def heavy(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Student's t with 3 df (no fourth moment), scaled to sd 1.05."""
    return rng.standard_t(3, shape) * SD / math.sqrt(3.0)


def tied(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """60 % of episodes end exactly level; the rest differ in 0.625-point steps, t3-tailed."""
    steps = np.round(rng.standard_t(3, shape) / 0.625) * 0.625
    x = np.where(rng.random(shape) < 0.6, 0.0, steps)
    return x * SD / float(np.std(x))


def skewed(rng: np.random.Generator, shape: tuple[int, int]) -> np.ndarray:
    """Centred log-normal (skewness about 6): beyond what the method promises; shown as a limit."""
    x = rng.lognormal(0.0, 1.0, shape) - math.exp(0.5)
    return x * SD / math.sqrt((math.exp(1.0) - 1.0) * math.exp(1.0))


DISTRIBUTIONS: dict[str, Callable[[np.random.Generator, tuple[int, int]], np.ndarray]] = {
    "normal": normal,
    "heavy-tailed (t3)": heavy,
    "tied + heavy-tailed": tied,
    "skewed (log-normal)": skewed,
}


def first_decision(x: np.ndarray) -> np.ndarray:
    """Per run, the episode at which the sequence first excluded 0 (0: never within N)."""
    low, high = confidence_sequences(x)
    decided = (low > 0) | (high < 0)
    return np.where(decided.any(axis=1), decided.argmax(axis=1) + 1, 0)


def repeated_t_decides(x: np.ndarray) -> np.ndarray:
    """Per run, whether the 95 % t interval, looked at after every episode from the minimum on,
    ever excluded 0."""
    n = np.arange(1, x.shape[1] + 1)
    mean = np.cumsum(x, axis=1) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.maximum(np.cumsum(x * x, axis=1) - n * mean * mean, 0.0) / (n - 1))
        rejects = np.abs(mean) / (sd / np.sqrt(n)) > stats.t.isf(0.025, n - 1)
    return rejects[:, MIN_EPISODES - 1 :].any(axis=1)


def asymptotic_cs_decides(x: np.ndarray, alpha: float = 0.05, optimal_n: int = 20) -> np.ndarray:
    """Per run, whether the asymptotic confidence sequence of Waudby-Smith, Arbour, Sinha,
    Kennedy & Ramdas (2024), the alternative we did not pick, ever excluded 0: the running mean
    ± sd_n sqrt(2 (n r + 1) / (n^2 r) log(sqrt(n r + 1) / alpha)), its mixing r tuned to be
    tightest at ``optimal_n`` episodes, the sd plugged in as if known."""
    n = np.arange(1, x.shape[1] + 1)
    mean = np.cumsum(x, axis=1) / n
    r = (-2 * math.log(alpha) + math.log(-2 * math.log(alpha) + 1)) / optimal_n
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt(np.maximum(np.cumsum(x * x, axis=1) - n * mean * mean, 0.0) / (n - 1))
        radius = sd * np.sqrt(2 * (n * r + 1) / (n * n * r) * np.log(np.sqrt(n * r + 1) / alpha))
    return (np.abs(mean) > radius)[:, MIN_EPISODES - 1 :].any(axis=1)


def interval(k: int, n: int) -> str:
    low = stats.beta.ppf(0.025, k, n - k + 1) if k > 0 else 0.0
    high = stats.beta.ppf(0.975, k + 1, n - k) if k < n else 1.0
    return f"{100 * k / n:5.2f} % [{100 * low:.2f}, {100 * high:.2f}]"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--horizon", type=int, default=200)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    runs, horizon = args.runs, args.horizon
    rng = np.random.default_rng(args.seed)
    shape = (runs, horizon)
    print(
        f"{runs} simulated runs per row, up to N = {horizon} episodes, paired sd {SD}, "
        f"decisions from episode {MIN_EPISODES}; anytime 95 % t confidence sequence\n"
    )
    print(
        f"{'no true effect':<22} {'false decisions [95% CI]':>28} "
        f"{'repeated t intervals':>28} {'asymptotic CS':>28}"
    )
    for name, draw in DISTRIBUTIONS.items():
        x = draw(rng, shape)
        false = int(np.count_nonzero(first_decision(x)))
        naive = int(np.count_nonzero(repeated_t_decides(x)))
        asymptotic = int(np.count_nonzero(asymptotic_cs_decides(x)))
        print(
            f"{name:<22} {interval(false, runs):>28} {interval(naive, runs):>28} "
            f"{interval(asymptotic, runs):>28}"
        )
    print()
    print(
        f"{'true effect':<42} {'stopped before N [95% CI]':>28} {'mean episodes':>14} "
        f"{'fixed-n, same power':>20} {'ratio':>6} {'fixed-n, power 0.8':>19}"
    )
    for effect_sds in (1.0, 0.5):
        for name, draw in DISTRIBUTIONS.items():
            if name.startswith("skewed"):
                continue
            stops = first_decision(effect_sds * SD + draw(rng, shape))
            early = (stops > 0) & (stops < horizon)
            k = int(np.count_nonzero(early))
            used = float(np.where(stops > 0, stops, horizon).mean())
            # A fixed-n t-test as powerful as the sequential run (its Clopper-Pearson lower
            # bound where every run stopped: a power of 1 has no finite n).
            power = k / runs if k < runs else float(stats.beta.ppf(0.025, k, 1))
            fixed = paired_power(SD, 2, effect=effect_sds * SD, power=power).episodes_needed
            conventional = paired_power(SD, 2, effect=effect_sds * SD).episodes_needed
            ratio = f"{used / fixed:.2f}" if fixed else "—"
            label = f"{effect_sds:g} sd ({effect_sds * SD:.2f} points), {name}"
            print(
                f"{label:<42} {interval(k, runs):>28} {used:>14.1f} "
                f"{fixed if fixed else '—':>20} {ratio:>6} {conventional:>19}"
            )


if __name__ == "__main__":
    main()
