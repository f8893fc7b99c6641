"""Every dialog keeps the screen's promises: q and ctrl+c quit from each, the dashboard's size
classes follow the terminal while a dialog covers it, and m maximises the focused panel."""

import pytest
from textual.content import Content
from textual.widget import Widget

from esper_tui.dashboard import DashboardScreen
from esper_tui.screens import (
    ConfirmScreen,
    CrashScreen,
    FilterScreen,
    FinishedScreen,
    HelpScreen,
    SeedDetailScreen,
)
from tests.tui.conftest import (
    CRASHED,
    RUN,
    extra_lane_store,
    snapshot_app,
    store_from,
    two_model_store,
    until,
)
from widgets.model import RunStatus

MID_RUN = (1, "tiny_iql", 5)
SIZE = (120, 40)


def title_of(widget: Widget) -> str:
    return Content.from_markup(widget.border_title or "").plain


def live(session):
    store = store_from(RUN, MID_RUN)
    store._status = RunStatus.RUNNING  # noqa: SLF001 - keys behave as in a live run
    return snapshot_app(store=store, session=session)


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
@pytest.mark.parametrize(
    ("keys", "dialog"),
    [
        (["question_mark"], HelpScreen),
        (["enter"], SeedDetailScreen),
        (["c"], ConfirmScreen),
        (["slash"], FilterScreen),
    ],
    ids=["help", "detail", "confirm", "filter"],
)
async def test_quit_from_every_dialog(fake_session, keys, dialog, key):
    app = live(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press(*keys)
        assert isinstance(app.screen, dialog)
        await pilot.press(key)
        await pilot.pause()
    assert fake_session.stopped and app.return_code == (130 if key == "ctrl+c" else 0)  # as SIGINT
    # what the record's stopped event says
    assert fake_session.stop_reason == f"by operator ({key})"


async def test_quit_from_the_finished_dialog_that_ends_every_run():
    app = snapshot_app()  # the whole fixture: the run finished
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, FinishedScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_quit_from_the_crash_dialog():
    app = snapshot_app(CRASHED)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CrashScreen)
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 0


async def test_quitting_says_stopping_first(fake_session):
    app = live(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        app.begin_shutdown(3)
        assert app.dashboard.stopping
        assert "STOPPING" in str(app.dashboard.query_one("#run-header").render())
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 3 and fake_session.stopped


async def test_resizing_under_a_dialog_sizes_the_dashboard_not_the_dialog(fake_session):
    app = live(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        help_screen = app.screen
        await pilot.resize_terminal(80, 24)
        await pilot.pause()
        assert not help_screen.has_class("-compact")
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, DashboardScreen) and app.screen.has_class("-compact")
        await pilot.resize_terminal(*SIZE)
        await pilot.pause()
        assert not app.screen.has_class("-compact")


async def test_m_maximises_the_focused_panel_and_restores_it(fake_session):
    app = live(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("tab", "tab")  # the saturation panel
        await pilot.press("m")
        saturation = app.screen.query_one("#saturation")
        assert app.screen.maximized is saturation
        await pilot.pause()
        assert saturation.outer_size == (SIZE[0], SIZE[1] - 1)  # the whole screen but the footer
        await pilot.press("m")
        assert app.screen.maximized is None
        await pilot.pause()
        assert saturation.outer_size.width < SIZE[0] - 10  # back beside gradient health


async def test_panels_have_titles_and_focus_shows_as_a_marker(fake_session):
    app = live(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        titles = {
            panel: title_of(app.screen.query_one(f"#{panel}"))
            for panel in ("seed-grid", "gradients", "saturation", "decision-panel")
        }
        assert titles["seed-grid"].startswith("▶") and "Seed lifecycle" in titles["seed-grid"]
        assert (
            "Gradient health" in titles["gradients"]
            and "Normalisation saturation" in titles["saturation"]
        )
        assert "IQL decisions" in titles["decision-panel"]
        assert sum(title.startswith("▶") for title in titles.values()) == 1
        await pilot.press("tab")
        assert title_of(app.screen.query_one("#gradients")).startswith("▶")
        assert not title_of(app.screen.query_one("#seed-grid")).startswith("▶")


async def test_footer_keeps_help_and_quit_at_80_columns(fake_session):
    app = live(fake_session)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        footer = [(key.key, key.region) for key in app.screen.query("FooterKey")]
        visible = {key for key, region in footer if region.right <= 80}
        assert {"question_mark", "q"} <= visible


async def test_a_panel_that_does_not_fit_says_so_and_scrolls_when_focused():
    app = snapshot_app(store=two_model_store(MID_RUN))
    async with app.run_test(size=(120, 36)) as pilot:
        saturation = app.screen.query_one("#saturation")
        await until(pilot, lambda: "↓ more" in title_of(saturation))  # once laid out
        assert saturation.max_scroll_y > 0
        await pilot.press("tab", "tab")
        assert app.focused is saturation
        await pilot.press("down", "down", "down", "down", "down")
        assert saturation.scroll_y > 0
        await pilot.press("end")
        assert "↓ more" not in title_of(saturation)


async def test_a_replayed_ablation_keeps_gradient_health_and_scrolls_saturation_sideways():
    """Five lanes at 120x40: the saturation panel would need ~115 columns; it stops at 70 %
    of the width and scrolls sideways, so the gradient panel keeps its history and flags."""
    app = snapshot_app(store=extra_lane_store(("iql_27", "iql_54", "bc"), MID_RUN))
    async with app.run_test(size=SIZE) as pilot:
        saturation, gradients = (
            app.screen.query_one("#saturation"),
            app.screen.query_one("#gradients"),
        )
        await until(pilot, lambda: "→ more" in title_of(saturation))  # once laid out
        assert gradients.size.width >= 30 and saturation.max_scroll_x > 0
        await pilot.press("tab", "tab")
        assert app.focused is saturation
        await pilot.press("right", "right", "right")
        assert saturation.scroll_x > 0
