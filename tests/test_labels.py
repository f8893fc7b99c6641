"""The width budget's rules: a number fits its column, lane codes stay distinct."""

import math

from hypothesis import given
from hypothesis import strategies as st

from widgets.labels import fit_path, fmt_column, fmt_fit, lane_codes, lane_labels


@given(st.floats(allow_nan=True, allow_infinity=True), st.integers(3, 12), st.booleans())
def test_a_number_never_spills_out_of_its_width(x, width, signed):
    text = fmt_fit(x, width, signed=signed)
    assert len(text) <= width
    if math.isfinite(x) and not text.startswith("#"):
        assert math.isclose(float(text), x, rel_tol=0.5, abs_tol=0.6)  # the magnitude survives


def test_digits_are_dropped_before_the_magnitude():
    assert fmt_fit(0.00859, 6) == "0.0086"
    assert fmt_fit(-0.015, 5) == "-0.01"
    assert fmt_fit(123456789, 6) == "1.23e8"
    assert fmt_fit(1e-9, 5) == "1e-9"


def test_a_column_is_as_wide_as_its_widest_value_up_to_a_cap():
    values, width = fmt_column([0.00859, 1.0, 12.5], 6)
    assert width == 6 and values == ["0.0086", "1", "12.5"]


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=12, unique=True))
def test_lane_codes_are_distinct_and_two_letters(names):
    codes = lane_codes(names)
    assert len(set(codes.values())) == len(names) and all(len(c) == 2 for c in codes.values())


def test_lane_codes_follow_one_rule():
    assert lane_codes(["heuristic", "default_iql", "tiny_iql"]) == {
        "heuristic": "HE",
        "default_iql": "DI",
        "tiny_iql": "TI",
    }
    assert lane_codes(["heuristic", "iql_27", "iql_37", "iql_54", "bc"]) == {
        "heuristic": "HE", "iql_27": "I2", "iql_37": "I3", "iql_54": "I5", "bc": "BC"}  # fmt: skip
    assert (
        lane_codes(["iql_a", "iql_b", "i"])["iql_a"] != lane_codes(["iql_a", "iql_b", "i"])["iql_b"]
    )


def test_a_panel_uses_full_names_or_every_code_never_a_mix():
    assert lane_labels(["heuristic", "tiny_iql"], 9) == {
        "heuristic": "heuristic",
        "tiny_iql": "tiny_iql",
    }
    assert lane_labels(["heuristic", "tiny_iql"], 8) == {"heuristic": "HE", "tiny_iql": "TI"}


@given(
    st.lists(
        st.text(st.characters(blacklist_characters="/"), min_size=1, max_size=30),
        min_size=1,
        max_size=8,
    ),
    st.integers(1, 80),
)
def test_a_path_fits_its_width_and_keeps_its_file_name_where_it_can(parts, width):
    path = "/" + "/".join(parts)
    text = fit_path(path, width)
    assert len(text) <= width
    if len(path) <= width:
        assert text == path
    elif len(parts[-1]) + 2 <= width:
        assert text.startswith("…/") and text.endswith("/" + parts[-1])


def test_a_long_temporary_path_keeps_its_last_folders():
    path = "/tmp/pytest-of-root/pytest-224/popen-gw1/test_follow_waits_for_a_file_t1/later.jsonl"
    assert fit_path(path, 60) == "…/popen-gw1/test_follow_waits_for_a_file_t1/later.jsonl"
    assert fit_path(path, 14) == "…/later.jsonl"
    assert fit_path(path, 9) == "late…sonl"
