"""SVG snapshots of the main screen and the modals, from the recorded fixture. Regenerate on
purpose with ``pytest tests/tui --snapshot-update`` and look at the report."""

import pytest

from tests.tui.conftest import CRASHED, snapshot_app

SIZES = [(140, 45), (80, 24)]
MID_RUN = (1, "tiny_iql", 5)  # episode 1: the heuristic's seed is paused, IQL has three seeds


@pytest.mark.parametrize("size", SIZES, ids=["140x45", "80x24"])
def test_main_screen(snap_compare, size):
    assert snap_compare(snapshot_app(upto=MID_RUN), terminal_size=size)


@pytest.mark.parametrize("size", SIZES, ids=["140x45", "80x24"])
def test_help_screen(snap_compare, size):
    assert snap_compare(snapshot_app(upto=MID_RUN), terminal_size=size, press=["question_mark"])


@pytest.mark.parametrize("size", SIZES, ids=["140x45", "80x24"])
def test_seed_detail(snap_compare, size):
    assert snap_compare(snapshot_app(upto=MID_RUN), terminal_size=size, press=["enter"])


@pytest.mark.parametrize("size", SIZES, ids=["140x45", "80x24"])
def test_crash_modal(snap_compare, size):
    assert snap_compare(snapshot_app(CRASHED), terminal_size=size)


def test_too_small_terminal(snap_compare):
    assert snap_compare(snapshot_app(upto=MID_RUN), terminal_size=(70, 20))
