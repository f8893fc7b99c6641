"""The anytime-valid confidence sequence behind ``compare --until-decided``: its closed form
against the mixture it comes from, integrated numerically; and, by simulation without training,
its false decisions under no effect and its stopping under a real one."""

import math

import numpy as np
import pytest
from scipy import integrate, stats

from training.runs.stats import (
    MIN_EPISODES,
    confidence_sequence,
    confidence_sequences,
    paired_result,
)

# The paired sd measured on the bundled policy (20 episodes, [-0.46, +0.52]): 1.05 points.
MEASURED_SD = 1.05
RUNS, HORIZON = 2000, 200


def mixture_bayes_factor(x: np.ndarray, mean: float, prior_variance: float = 1.0) -> float:
    """B_n(mean) by numerical integration: the right-Haar (1/sd) mixture over the sd and a
    N(0, prior_variance) mixture over the standardised effect, against the same sd mixture
    under "the mean is ``mean``". Written from the definition, not from our closed form."""
    y = x - mean
    n, total, squares = len(y), float(y.sum()), float(y @ y)
    scale = math.sqrt(squares / n)

    def log_likelihood(delta: float, sd: float) -> float:  # Gaussian, (2 pi)^(-n/2) dropped
        return -n * math.log(sd) - (squares - 2 * delta * sd * total + n * (delta * sd) ** 2) / (
            2 * sd * sd
        )

    shift = log_likelihood(0.0, scale)  # pull a constant out to keep exp() in range

    def prior(delta: float) -> float:  # the N(0, prior_variance) density
        return math.exp(-delta * delta / (2 * prior_variance)) / math.sqrt(
            2 * math.pi * prior_variance
        )

    def alternative(delta: float, sd: float) -> float:
        return math.exp(log_likelihood(delta, sd) - shift) * prior(delta) / sd

    def null(sd: float) -> float:
        return math.exp(log_likelihood(0.0, sd) - shift) / sd

    top, _ = integrate.dblquad(alternative, scale / 30, scale * 30, -8.0, 8.0, epsabs=1e-12)
    bottom, _ = integrate.quad(null, scale / 30, scale * 30, epsabs=1e-12)
    return top / bottom


def test_the_boundary_is_where_the_mixture_reaches_one_over_alpha():
    x = np.array([0.9, -0.4, 1.7, 0.3, 1.1, -0.2, 0.8, 1.5])
    low, high = confidence_sequence(list(x), min_episodes=len(x))
    assert mixture_bayes_factor(x, low) == pytest.approx(20.0, rel=1e-4)
    assert mixture_bayes_factor(x, high) == pytest.approx(20.0, rel=1e-4)
    assert mixture_bayes_factor(x, float(x.mean())) < 1.0


def test_it_is_wider_than_the_t_interval_at_every_n():
    x = np.random.default_rng(3).normal(0.3, 1.0, 60)
    low, high = confidence_sequences(x)
    for n in range(MIN_EPISODES, 61):
        t_low, t_high = stats.t.interval(0.95, n - 1, x[:n].mean(), stats.sem(x[:n]))
        assert low[n - 1] <= t_low and high[n - 1] >= t_high


def test_it_is_unbounded_before_the_minimum_and_never_widens():
    x = np.random.default_rng(4).normal(0.0, 1.0, 40)
    low, high = confidence_sequences(x, min_episodes=8)
    assert np.all(np.isinf(low[:7])) and np.all(np.isinf(high[:7]))
    assert np.all(np.isfinite(low[7:]))
    assert np.all(np.diff(low[7:]) >= 0) and np.all(np.diff(high[7:]) <= 0)


def test_all_zero_differences_are_undecided_with_a_sentence():
    accuracies = [61.25, 60.5, 62.0, 59.75, 61.0, 60.25, 62.5]
    result = paired_result("twin", "heuristic", accuracies, accuracies)
    assert result.sd == 0.0 and not result.decided
    assert result.detectable_effect is None and result.episodes_needed is None
    assert result.cs_low is None and result.cs_high is None
    assert result.verdict_text().startswith("undecided: all 7 paired differences are 0")
    assert "no spread" in result.power_text()


def test_a_run_of_ties_does_not_pin_the_sequence():
    # Exact ties are common (lanes that act alike end level); five of them, then real spread,
    # must leave the sequence free to move off 0 and decide.
    x = np.array([0.0] * 5 + [-4.4, -5.0, -5.6, -2.5, -5.6, -4.4, -3.8, -5.0, -4.4, -5.0, -4.4])
    low, high = confidence_sequences(x)
    assert np.all(np.isinf(low[:5]))
    assert high[-1] < 0.0


def test_equal_nonzero_differences_decide_nothing():
    low, high = confidence_sequence([0.62] * 8)
    assert math.isinf(low) and math.isinf(high)


def first_decision(differences: np.ndarray) -> np.ndarray:
    """Per simulated run, the episode at which the sequence first excludes 0 (0: never)."""
    low, high = confidence_sequences(differences)
    decided = (low > 0) | (high < 0)
    return np.where(decided.any(axis=1), decided.argmax(axis=1) + 1, 0)


def upper_bound(successes: int, trials: int) -> float:
    """One-sided 97.5 % Clopper-Pearson upper bound: the simulation's own margin."""
    return float(stats.beta.ppf(0.975, successes + 1, trials - successes))


def lower_bound(successes: int, trials: int) -> float:
    return float(stats.beta.ppf(0.025, successes, trials - successes + 1))


SIMULATED = {
    "normal": lambda rng, shape: rng.normal(0.0, MEASURED_SD, shape),
    # Student's t with 3 df (infinite fourth moment), scaled to the same sd.
    "heavy-tailed t3": lambda rng, shape: rng.standard_t(3, shape) * MEASURED_SD / math.sqrt(3.0),
    # As our episodes are: most end exactly level (lanes that act alike), the rest differ in
    # steps of 0.625 points (a tiny task's validation images), heavy-tailed; same sd.
    "tied and heavy-tailed": lambda rng, shape: tied(rng, shape),
}


def tied(rng: np.random.Generator, shape: tuple[int, int], level: float = 0.6) -> np.ndarray:
    steps = np.round(rng.standard_t(3, shape) / 0.625) * 0.625
    x = np.where(rng.random(shape) < level, 0.0, steps)
    return x * MEASURED_SD / float(np.std(x))


@pytest.mark.parametrize("kind", sorted(SIMULATED))
def test_under_no_effect_it_decides_in_at_most_5_percent_of_runs(kind):
    rng = np.random.default_rng(20)
    stops = first_decision(SIMULATED[kind](rng, (RUNS, HORIZON)))
    false = int(np.count_nonzero(stops))
    assert upper_bound(false, RUNS) <= 0.05, f"{false} of {RUNS} runs decided on no effect"


@pytest.mark.parametrize("kind", sorted(SIMULATED))
def test_under_a_one_sd_effect_it_stops_before_the_horizon_in_95_percent(kind):
    rng = np.random.default_rng(21)
    stops = first_decision(MEASURED_SD + SIMULATED[kind](rng, (RUNS, HORIZON)))
    early = int(np.count_nonzero((stops > 0) & (stops < HORIZON)))
    assert lower_bound(early, RUNS) >= 0.95, f"only {early} of {RUNS} runs stopped before {HORIZON}"


def test_repeated_t_intervals_would_fail_the_same_simulation():
    """Why not stop on the ordinary t interval: looked at after every episode it decides on no
    effect far more often than 5 % (the simulation above would catch it)."""
    x = np.random.default_rng(22).normal(0.0, MEASURED_SD, (RUNS, HORIZON))
    n = np.arange(1, HORIZON + 1)
    mean = np.cumsum(x, axis=1) / n
    with np.errstate(divide="ignore", invalid="ignore"):
        sd = np.sqrt((np.cumsum(x * x, axis=1) - n * mean * mean) / (n - 1))
        t = mean / (sd / np.sqrt(n))
    rejected = (np.abs(t) > stats.t.isf(0.025, n - 1))[:, MIN_EPISODES - 1 :]
    assert lower_bound(int(np.count_nonzero(rejected.any(axis=1))), RUNS) > 0.05
