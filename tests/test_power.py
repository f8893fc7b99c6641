"""Power of a paired result: the detectable effect and the episodes needed, from one function
(``paired_power``), checked against statsmodels' ``TTestPower`` (a dev dependency, used only here)."""

import math

import pytest
from statsmodels.stats.power import TTestPower

from training.runs.stats import DEFAULT_EFFECT, paired_power, t_test_power

REFERENCE = TTestPower()
# Paired sds as measured (the bundled policy: 1.05 on 20 episodes; the ablation: 1.63) and edges.
CASES = [(1.05, 20), (1.63, 20), (0.3, 2), (1.0, 5), (2.5, 200), (0.8, 3), (50.0, 4)]


@pytest.mark.parametrize(("sd", "episodes"), CASES)
def test_detectable_effect_matches_statsmodels(sd, episodes):
    ours = paired_power(sd, episodes)
    theirs = REFERENCE.solve_power(effect_size=None, nobs=episodes, alpha=0.05, power=0.8)
    # statsmodels stops its root search at about 1e-6 of the power; ours solves to 1e-12
    assert ours.detectable_effect == pytest.approx(theirs * sd, rel=1e-5)


@pytest.mark.parametrize(("sd", "episodes"), CASES)
@pytest.mark.parametrize("effect", [DEFAULT_EFFECT, 1.0, 2.0])
def test_episodes_needed_is_statsmodels_rounded_up(sd, episodes, effect):
    needed = paired_power(sd, episodes, effect=effect).episodes_needed
    theirs = REFERENCE.solve_power(effect_size=effect / sd, nobs=None, alpha=0.05, power=0.8)
    if math.isnan(theirs):  # statsmodels cannot go below 2 pairs; neither can a t-test
        assert needed == 2
    else:
        assert needed == max(2, math.ceil(theirs - 1e-9))


@pytest.mark.parametrize(("d", "n"), [(0.2, 10), (0.5, 37), (1.0, 5), (4.0, 2), (0.0, 30)])
def test_t_test_power_matches_statsmodels(d, n):
    assert float(t_test_power(d, n)) == pytest.approx(
        REFERENCE.power(effect_size=d, nobs=n, alpha=0.05), abs=1e-9
    )


def test_at_the_episodes_needed_the_power_is_reached_and_one_fewer_falls_short():
    power = paired_power(1.05, 20)
    n = power.episodes_needed
    assert float(t_test_power(0.5 / 1.05, n)) >= 0.8 > float(t_test_power(0.5 / 1.05, n - 1))


def test_other_levels_match_statsmodels():
    ours = paired_power(1.2, 15, effect=0.7, alpha=0.01, power=0.9)
    d = REFERENCE.solve_power(effect_size=None, nobs=15, alpha=0.01, power=0.9)
    n = REFERENCE.solve_power(effect_size=0.7 / 1.2, nobs=None, alpha=0.01, power=0.9)
    assert ours.detectable_effect == pytest.approx(d * 1.2, rel=1e-6)
    assert ours.episodes_needed == math.ceil(n)


def test_no_spread_gives_a_sentence_not_a_division_by_zero():
    power = paired_power(0.0, 12)
    assert power.detectable_effect is None and power.episodes_needed is None
    assert "no spread" in power.note


def test_fewer_than_two_episodes_give_a_sentence():
    for sd, n in [(None, 0), (None, 1), (1.0, 1)]:
        power = paired_power(sd, n)
        assert power.detectable_effect is None and power.episodes_needed is None
        assert "two finished episodes" in power.note


def test_a_hopeless_effect_says_so():
    power = paired_power(1e6, 10)
    assert power.episodes_needed is None and "over 10,000,000 episodes" in power.note


@pytest.mark.parametrize("effect", [0.0, -0.5, math.nan, math.inf])
def test_a_target_effect_must_be_positive(effect):
    with pytest.raises(ValueError, match="positive number of points"):
        paired_power(1.0, 10, effect=effect)


def test_t_test_power_is_finite_where_scipys_far_tail_underflows():
    # statsmodels returns NaN here (scipy's nct.cdf of the far tail); that tail is ~0.
    assert 0.6 < float(t_test_power(8.0, 2)) < 0.7
