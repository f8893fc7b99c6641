"""SVG snapshots of the dashboard and the dialogs, from the recorded fixture. Regenerate on
purpose with ``pytest tests/tui --snapshot-update`` and look at the report."""

import pytest

from esper_tui.screens import CrashScreen
from tests.tui.conftest import (
    CRASHED,
    extra_lane_store,
    settle,
    settled,
    snapshot_app,
    two_model_store,
    until,
)

MID_RUN = (1, "tiny_iql", 5)  # episode 1: the heuristic's seed is paused, IQL has three seeds
DASHBOARD_SIZES = [(120, 40), (80, 24), (160, 50)]  # the newest decision's reason whole at each
DIALOG_SIZES = [(120, 40), (80, 24)]


@pytest.mark.parametrize("size", DASHBOARD_SIZES, ids=["120x40", "80x24", "160x50"])
def test_main_screen(snap_compare, size):
    assert snap_compare(snapshot_app(upto=MID_RUN), terminal_size=size, run_before=settled())


@pytest.mark.parametrize("size", DASHBOARD_SIZES, ids=["120x40", "80x24", "160x50"])
def test_main_screen_two_models(snap_compare, size):
    assert snap_compare(
        snapshot_app(store=two_model_store(MID_RUN)), terminal_size=size, run_before=settled()
    )


@pytest.mark.parametrize("size", DIALOG_SIZES, ids=["120x40", "80x24"])
def test_help_screen(snap_compare, size):
    assert snap_compare(
        snapshot_app(upto=MID_RUN), terminal_size=size, run_before=settled("question_mark")
    )


@pytest.mark.parametrize("size", DIALOG_SIZES, ids=["120x40", "80x24"])
def test_seed_detail(snap_compare, size):
    assert snap_compare(snapshot_app(upto=MID_RUN), terminal_size=size, run_before=settled("enter"))


async def crash_over_a_fitted_dashboard(pilot) -> None:
    """The crash dialog comes with the first poll, while the dashboard is still fitting its
    panels, and a covered screen does not refit: the picture behind it would depend on the
    machine's speed. So: close it, let the dashboard settle, open it again."""
    app = pilot.app
    await until(pilot, lambda: isinstance(app.screen, CrashScreen))
    crash = app.screen.event
    await settle(pilot, "escape")
    app.push_screen(CrashScreen(crash))
    await settle(pilot)


@pytest.mark.parametrize("size", DIALOG_SIZES, ids=["120x40", "80x24"])
def test_crash_modal(snap_compare, size):
    assert snap_compare(
        snapshot_app(CRASHED), terminal_size=size, run_before=crash_over_a_fitted_dashboard
    )


def test_finished_summary(snap_compare):
    assert snap_compare(snapshot_app(), terminal_size=(120, 40), run_before=settled())


def test_filter_dialog(snap_compare):
    assert snap_compare(
        snapshot_app(upto=MID_RUN), terminal_size=(120, 40), run_before=settled("slash")
    )


def test_too_small_terminal(snap_compare):
    assert snap_compare(snapshot_app(upto=MID_RUN), terminal_size=(70, 20), run_before=settled())


@pytest.mark.parametrize("size", DIALOG_SIZES, ids=["120x40", "80x24"])
def test_event_log(snap_compare, size):
    assert snap_compare(snapshot_app(upto=MID_RUN), terminal_size=size, run_before=settled("e"))


def test_decisions_maximised(snap_compare):
    """m on the decision table: every column, the pane under it."""
    app = snapshot_app(store=two_model_store(MID_RUN))
    assert snap_compare(app, terminal_size=(120, 40), run_before=settled("tab", "tab", "tab", "m"))


def test_seed_grid_maximised(snap_compare):
    assert snap_compare(
        snapshot_app(store=two_model_store(MID_RUN)),
        terminal_size=(120, 40),
        run_before=settled("m"),
    )


def test_five_lanes(snap_compare):
    """A replayed ablation: five lanes, lane codes where names do not fit, all ten features."""
    app = snapshot_app(store=extra_lane_store(("iql_27", "iql_54", "bc"), MID_RUN))
    assert snap_compare(app, terminal_size=(120, 40), run_before=settled())
