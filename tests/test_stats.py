"""Paired statistics: Student's t quantiles at any df, and a paired result checked by hand. The
values come from ``scipy.stats`` (and ``scipy.special``); these tests cross-check them against
closed forms and calculations by hand."""

import math
from itertools import pairwise

import pytest
from scipy import special
from scipy import stats as scipy_stats

from training.runs.stats import paired_result, sign_test_p, t_critical, t_interval


def t_two_sided_p(t: float, df: float) -> float:
    """P(|T| > t) for Student's t with ``df`` degrees of freedom."""
    return float(2.0 * scipy_stats.t.sf(abs(t), df))


def regularized_beta(x: float, a: float, b: float) -> float:
    """I_x(a, b), the regularised incomplete beta function behind Student's t."""
    return float(special.betainc(a, b, x))


# t_{0.975, df}, by mpmath two ways (inverting betainc, and integrating the t density), 12 digits.
KNOWN_T975 = {
    30: 2.04227245630, 31: 2.03951344640, 45: 2.01410338888, 75: 1.99210215400,
    150: 1.97590533090, 1000: 1.96233908083,
}  # fmt: skip


@pytest.mark.parametrize("df", sorted(KNOWN_T975))
def test_t_critical_is_exact_between_the_old_table_rows(df):
    assert t_critical(df) == pytest.approx(KNOWN_T975[df], abs=1e-9)


def test_t_critical_at_df_1_is_the_cauchy_quantile():
    assert t_critical(1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-10)


def test_t_critical_at_df_2_has_its_closed_form():
    # For df = 2: t_p = (2p - 1) * sqrt(2 / (4 p (1 - p))).
    p = 0.975
    assert t_critical(2) == pytest.approx((2 * p - 1) * math.sqrt(2 / (4 * p * (1 - p))), rel=1e-10)


def test_t_critical_at_df_4_has_its_closed_form():
    # For df = 4: t_p = 2 sqrt(q - 1), q = cos(arccos(sqrt(a)) / 3) / sqrt(a), a = 4 p (1 - p).
    p = 0.975
    a = 4 * p * (1 - p)
    q = math.cos(math.acos(math.sqrt(a)) / 3) / math.sqrt(a)
    assert t_critical(4) == pytest.approx(2 * math.sqrt(q - 1), rel=1e-10)


def test_t_critical_tends_to_the_normal_quantile():
    assert t_critical(10**7) == pytest.approx(1.959963985, abs=1e-6)


def test_t_critical_falls_with_df():
    values = [t_critical(df) for df in range(1, 200)]
    assert all(a > b for a, b in pairwise(values))


def test_t_critical_at_other_confidence_levels():
    assert t_critical(10, confidence=0.99) == pytest.approx(3.169272673, abs=1e-8)
    assert t_critical(1, confidence=0.5) == pytest.approx(1.0, abs=1e-12)  # tan(pi / 4)


def test_t_critical_needs_two_episodes():
    with pytest.raises(ValueError, match="at least two"):
        t_critical(0)


def test_t_tail_is_the_complement_of_the_critical_value():
    assert t_two_sided_p(t_critical(31), 31) == pytest.approx(0.05, abs=1e-12)
    assert t_two_sided_p(0.0, 5) == 1.0


def test_regularized_beta_matches_closed_forms():
    # I_x(1, 1) = x; I_x(a, 1) = x^a; I_x(1, b) = 1 - (1 - x)^b.
    assert regularized_beta(0.3, 1.0, 1.0) == pytest.approx(0.3, rel=1e-12)
    assert regularized_beta(0.3, 2.5, 1.0) == pytest.approx(0.3**2.5, rel=1e-12)
    assert regularized_beta(0.9, 1.0, 7.0) == pytest.approx(1 - 0.1**7, rel=1e-12)


def test_paired_result_against_a_calculation_by_hand():
    result = paired_result("iql", "heuristic", [71.0, 72.0, 75.0, 70.2], [70.0, 70.0, 74.0, 70.0])
    # diffs 1.0, 2.0, 1.0, 0.2: mean 4.2 / 4 = 1.05.
    # squared deviations 0.0025 + 0.9025 + 0.0025 + 0.7225 = 1.63; sd = sqrt(1.63 / 3) = 0.7371115.
    # t_{0.975, 3} = 3.1824463; half width 3.1824463 * 0.7371115 / sqrt(4) = 1.172909.
    assert result.episodes == 4
    assert result.mean_difference == pytest.approx(1.05)
    assert result.ci_low == pytest.approx(1.05 - 1.172909, abs=1e-6)
    assert result.ci_high == pytest.approx(1.05 + 1.172909, abs=1e-6)
    # W/T/L with the 0.5-point threshold: 1, 2, 1 win; 0.2 ties.
    assert (result.wins, result.ties, result.losses) == (3, 1, 0)
    # Sign test over the 3 untied pairs, all wins: 2 * (1/2)^3.
    assert result.sign_test_p == pytest.approx(0.25)


def test_paired_result_at_an_untabulated_df():
    lane = [72.0] * 16 + [70.0] * 16
    result = paired_result("iql", "heuristic", lane, [70.0] * 32)
    # diffs: sixteen 2s and sixteen 0s. mean 1; every deviation is ±1, so sd = sqrt(32 / 31) = 1.0160010.
    # t_{0.975, 31} = 2.0395134; half width 2.0395134 * 1.0160010 / sqrt(32) = 0.366307.
    assert result.ci_low == pytest.approx(1 - 0.366307, abs=1e-6)
    assert result.ci_high == pytest.approx(1 + 0.366307, abs=1e-6)
    assert (result.wins, result.ties, result.losses) == (16, 16, 0)
    assert result.sign_test_p == pytest.approx(2 / 2**16)


def test_paired_result_counts_losses_below_minus_the_threshold():
    result = paired_result("iql", "heuristic", [69.0, 70.4, 69.6, 72.0], [70.0] * 4)
    # diffs -1.0, 0.4, -0.4, 2.0: one loss, two ties, one win; sign test 1 vs 1 gives p = 1.
    assert (result.wins, result.ties, result.losses) == (1, 2, 1)
    assert result.sign_test_p == 1.0


def test_paired_result_with_one_episode_has_no_interval():
    single = paired_result("iql", "heuristic", [71.0], [70.0])
    assert single.ci_low is None and single.ci_high is None and single.mean_difference == 1.0


def test_paired_result_refuses_unequal_lengths():
    with pytest.raises(ValueError, match="same number"):
        paired_result("iql", "heuristic", [71.0, 70.0], [70.0])


def test_sign_test_with_mixed_results():
    # 2 wins vs 6 losses: 2 * (C(8,0) + C(8,1) + C(8,2)) / 2^8 = 2 * 37 / 256.
    assert sign_test_p(2, 6) == pytest.approx(74 / 256)


def test_t_interval_of_equal_differences_is_the_point_itself():
    # scipy's t distribution needs a positive scale; no spread means an interval of width 0.
    assert t_interval([1.5, 1.5, 1.5]) == (1.5, 1.5)
    result = paired_result("iql", "heuristic", [71.0, 72.0], [70.0, 71.0])
    assert (result.ci_low, result.ci_high) == (1.0, 1.0)


def test_t_interval_is_mean_plus_minus_t_times_the_standard_error():
    values = [0.3, -1.2, 2.5, 0.9, 1.1]
    mean, sd = sum(values) / 5, math.sqrt(sum((v - sum(values) / 5) ** 2 for v in values) / 4)
    half = t_critical(4) * sd / math.sqrt(5)
    assert t_interval(values) == pytest.approx((mean - half, mean + half), rel=1e-12)
