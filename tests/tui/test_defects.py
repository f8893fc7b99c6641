"""One pilot test per defect of issue 16, items 4 and 5, each on what the user saw."""

import dataclasses

import pytest
from rich.cells import cell_len

from esper_tui.app import EsperApp
from esper_tui.charts import ChartsScreen
from esper_tui.screens import ConfirmScreen, FinishedScreen, SeedDetailScreen
from esper_tui.store import TelemetryStore
from tests.tui.conftest import (
    RUN,
    SECOND,
    extra_lane_store,
    screen_lines,
    snapshot_app,
    store_from,
    two_model_store,
    until,
)
from tests.tui.test_sources import FakeReplay
from training.records import RunEvent, RunInfo
from widgets import GradientPanel, SaturationPanel, SeedGrid
from widgets.decision_panel import DecisionPanel
from widgets.gradient_panel import SUBTITLES
from widgets.model import RunStatus
from widgets.panel import ScrollPanel

MID_RUN = (1, "tiny_iql", 5)


def live_app(session, store: TelemetryStore, tmp=None) -> EsperApp:
    store._status = RunStatus.RUNNING  # noqa: SLF001 - a live run, as far as the keys are concerned
    return EsperApp(
        store,
        session=session,
        refresh_hz=0,
        clock=None,
        record_path=None if tmp is None else tmp / "r.jsonl",
    )


async def footer_keys(pilot, app) -> dict[str, str]:
    """Key -> description of the footer on top, once it has been composed."""
    await until(pilot, lambda: app.screen.query("FooterKey"))
    await pilot.pause()
    return {key.key: key.description for key in app.screen.query("FooterKey")}


# ------------------------------------------------------------------ 4: cut or misaligned
@pytest.mark.parametrize("size", [(120, 40), (200, 60)], ids=["120x40", "200x60"])
async def test_saturation_lane_headings_are_whole_names(size):
    app = snapshot_app(store=two_model_store(MID_RUN))
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        heading = app.screen.query_one(SaturationPanel).render().plain.splitlines()[0]
        assert all(name in heading for name in ("heuristic", "tiny_iql", SECOND)), heading


async def test_saturation_values_stay_in_their_columns():
    view = store_from(RUN, MID_RUN).view()
    lane = view.lanes[0]  # the first group: a value that spills moves every bar after it
    rows = tuple(
        dataclasses.replace(r, raw=0.00859, normalised=-0.015) if r.feature == "grad_norm" else r
        for r in lane.saturation
    )
    lanes = (dataclasses.replace(lane, saturation=rows), view.lanes[1])
    from widgets.saturation_panel import saturation_text

    lines = saturation_text(dataclasses.replace(view, lanes=lanes)).plain.splitlines()
    columns = line_bars(lines[1])
    row = next(line for line in lines if line.startswith("grad_norm"))
    assert line_bars(row) == columns and "0.00859" in row and "-0.015" in row


def line_bars(line: str) -> list[int]:
    return [i for i, c in enumerate(line) if c == "│"]


@pytest.mark.parametrize(
    ("size", "models"),
    [((118, 40), 1), ((120, 40), 2), ((80, 24), 2)],
    ids=["118x40-one", "120x40-two", "80x24-two"],
)
async def test_gradient_subtitle_is_whole(size, models):
    app = (
        snapshot_app(upto=MID_RUN) if models == 1 else snapshot_app(store=two_model_store(MID_RUN))
    )
    async with app.run_test(size=size) as pilot:
        await pilot.press("tab")  # in a small terminal the gradient panel shows after tab
        await pilot.pause()
        panel = app.screen.query_one(GradientPanel)
        first = panel.render().plain.splitlines()[0]
        assert cell_len(first) <= panel.content_size.width and first in SUBTITLES


@pytest.mark.parametrize(
    "size", [(120, 40), (80, 24), (200, 60)], ids=["120x40", "80x24", "200x60"]
)
@pytest.mark.parametrize("models", [1, 2], ids=["one", "two"])
async def test_seed_cards_are_never_cut(size, models):
    store = store_from(RUN, MID_RUN) if models == 1 else two_model_store(MID_RUN)
    app = snapshot_app(store=store)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        for card in app.screen.query_one(SeedGrid).cards:
            for line in card.render().plain.splitlines():
                assert "…" not in line and cell_len(line) <= card.content_size.width, line


async def test_m_on_the_seed_grid_gives_framed_cards_with_the_pipeline():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("m")
        await pilot.pause()
        grid = app.screen.query_one(SeedGrid)
        assert app.screen.maximized is grid and grid.lines == 4
        assert "DOR›GER›TRN›BLD" in grid.cards[0].render().plain


async def test_at_200x60_saturation_gets_the_width_gradient_health_does_not_need():
    app = snapshot_app(store=two_model_store(MID_RUN))
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        await pilot.pause()
        gradients = app.screen.query_one("#gradients", ScrollPanel)
        saturation = app.screen.query_one("#saturation", ScrollPanel)
        widest = max(
            cell_len(line.rstrip())
            for line in app.screen.query_one(GradientPanel).render().plain.splitlines()
        )
        assert gradients.size.width <= widest + 24  # its lines and a little, not half the screen
        assert saturation.panel_state() is None  # nothing below or beside: no "more" hint


async def test_a_five_lane_replay_shows_all_ten_features():
    app = snapshot_app(store=extra_lane_store(("iql_27", "iql_54", "bc"), MID_RUN))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.pause()
        saturation = app.screen.query_one("#saturation", ScrollPanel)
        lines = app.screen.query_one(SaturationPanel).render().plain.splitlines()
        last_feature = next(i for i, line in enumerate(lines) if line.startswith("temporal"))
        assert saturation.scrollable_content_region.height > last_feature


# ------------------------------------------------------------------ 5: smaller defects
async def test_charts_after_one_epoch_draw_a_point_on_a_readable_axis():
    from textual_plot.plot_widget import ScatterPlot

    app = snapshot_app(upto=(1, "tiny_iql", 1))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        await until(pilot, lambda: isinstance(app.screen, ChartsScreen))
        await pilot.pause()
        plot = app.screen.query_one("#plot-accuracy")
        assert any(isinstance(d, ScatterPlot) for d in plot._datasets)  # noqa: SLF001
        assert plot._y_max - plot._y_min >= 1.0  # noqa: SLF001 - not 16.874999 … 16.875001


async def test_after_a_resize_a_following_table_shows_the_newest_row():
    app = snapshot_app(store=two_model_store(MID_RUN))
    async with app.run_test(size=(200, 60)) as pilot:
        await pilot.pause()
        await pilot.resize_terminal(120, 40)
        await pilot.pause()
        await pilot.pause()
        table = app.screen.query_one(DecisionPanel).table
        visible = range(
            int(table.scroll_y), int(table.scroll_y) + table.scrollable_content_region.height - 1
        )
        assert table.following and table.row_count - 1 in visible


async def test_below_80x24_a_dialog_gives_way_to_the_size_message():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, SeedDetailScreen)
        await pilot.resize_terminal(70, 20)
        await pilot.pause()
        assert (
            not app.screen.query_one("#detail").display
            or not app.screen.query_one("#detail").region
        )
        assert any("needs a terminal of at least 80×24" in line for line in screen_lines(app))


async def test_s_in_a_replay_saves_next_to_the_record(tmp_path):
    record = tmp_path / "run.jsonl"
    record.write_text(RUN.read_text())
    app = snapshot_app(upto=MID_RUN, session=FakeReplay(record))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("s")
        await pilot.pause()
    assert len(list(tmp_path.glob("run-*.svg"))) == 1


async def test_s_under_the_finished_dialog_saves(tmp_path):
    app = EsperApp(
        store_from(RUN), session=None, refresh_hz=0, clock=None, record_path=tmp_path / "r.jsonl"
    )
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, FinishedScreen))
        await pilot.press("s")
        await pilot.pause()
    assert len(list(tmp_path.glob("r-*.svg"))) == 1


async def test_after_the_run_finished_no_training_key_is_offered(fake_session):
    app = EsperApp(store_from(RUN), session=fake_session, refresh_hz=0, clock=None)
    async with app.run_test(size=(140, 45)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, FinishedScreen))
        await pilot.press("escape")
        keys = await footer_keys(pilot, app)
        assert not {"space", "p", "c"} & set(keys), keys


async def test_while_paused_space_says_resume(fake_session):
    store = store_from(RUN, MID_RUN)
    app = live_app(fake_session, store)
    async with app.run_test(size=(140, 45)) as pilot:
        assert (await footer_keys(pilot, app))["space"] == "Pause"
        store.add(RunEvent("fixture0001", "paused", "training paused by operator"))
        app.dashboard.poll()
        await until(
            pilot, lambda: any(k.description == "Resume" for k in app.screen.query("FooterKey"))
        )


async def test_the_seed_detail_offers_only_its_own_keys(fake_session):
    app = live_app(fake_session, store_from(RUN, MID_RUN))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("enter")
        assert isinstance(app.screen, SeedDetailScreen)
        keys = await footer_keys(pilot, app)
        assert "p" not in keys and "c" not in keys and "escape" in keys
        assert "Pause seed" not in screen_lines(app)[-1]


async def test_at_120x40_with_the_table_focused_every_footer_key_fits(fake_session):
    app = live_app(fake_session, two_model_store(MID_RUN))
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("tab", "tab", "tab")
        keys = await footer_keys(pilot, app)
        assert {"s", "enter"} <= set(keys)
        assert all(key.region.right <= 120 for key in app.screen.query("FooterKey"))


async def test_at_80x24_the_footer_says_that_help_lists_the_keys_it_leaves_out(fake_session):
    app = live_app(fake_session, two_model_store(MID_RUN))
    async with app.run_test(size=(80, 24)) as pilot:
        await footer_keys(pilot, app)
        line = screen_lines(app)[-1]
        assert "more: ?" in line and "? Help" in line


async def test_no_cull_is_offered_for_a_fossilized_seed(fake_session):
    # the heuristic's slot 0 fossilized
    app = live_app(fake_session, store_from(RUN, (2, "tiny_iql", 9)))
    async with app.run_test(size=(140, 45)) as pilot:
        _, _, record = app.dashboard.selected_seed()
        assert record is not None and record.stage_name == "FOSSILIZED"
        keys = await footer_keys(pilot, app)
        await pilot.press("c")
        await pilot.pause()
        assert "c" not in keys and not isinstance(app.screen, ConfirmScreen)
        assert not fake_session.commands()


async def test_the_header_never_says_episode_0():
    store = TelemetryStore(source="live")
    from esper_tui.replay import read_records

    info = next(r for r in read_records(RUN)[0] if isinstance(r, RunInfo))
    store.add(info)
    store.add(RunEvent(info.run_id, "started", "head-to-head, 2 lane(s)"))
    app = snapshot_app(store=store)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        top = screen_lines(app)[0]
        assert "episode 1/2" in top and "episode 0" not in top


async def test_with_two_models_the_header_says_whose_agreement():
    app = snapshot_app(store=two_model_store(MID_RUN))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        third = screen_lines(app)[2]
        assert (
            "agreement with heuristic" in third
            and "tiny_iql 0%" in third
            and f"{SECOND} 0%" in third
        )


async def test_the_finished_dialog_shows_the_parameters_each_lane_added():
    app = EsperApp(store_from(RUN), session=None, refresh_hz=0, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await until(pilot, lambda: isinstance(app.screen, FinishedScreen))
        await pilot.pause()
        text = "\n".join(screen_lines(app))
        assert text.count("seed parameters added per episode") == 2 and "the heuristic's" in text
