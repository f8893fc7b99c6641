"""g opens the chart view over the dashboard, fed from the store's view."""

import pytest

from tests.tui.conftest import RUN, snapshot_app, store_from

charts = pytest.importorskip("widgets.charts")  # the chart widgets come from their own branch

MID_RUN = (1, "tiny_iql", 5)


def test_chart_data_holds_each_lanes_curves_and_the_selected_seed():
    from esper_tui.chart_feed import chart_data

    view = store_from(RUN).view()  # episode 2, one finished episode before it
    data = chart_data(view, (1, 0))
    assert [lane.name for lane in data.lanes] == ["heuristic", "tiny_iql"]
    iql = data.lanes[1]
    assert iql.val_accuracy == tuple(r.val_accuracy for r in view.lanes[1].epochs)
    assert len(iql.finished) == 1 and len(iql.finished[0]) == 10
    assert data.focus is not None and "tiny_iql · slot 0" in data.focus.label
    assert data.max_epochs == 10


async def test_g_opens_the_chart_view_and_g_closes_it():
    from esper_tui.charts import ChartsScreen

    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("g")
        assert isinstance(app.screen, ChartsScreen)
        await pilot.press("g")
        assert not isinstance(app.screen, ChartsScreen)


def test_an_empty_selected_slot_falls_back_to_the_agents_focus_seed():
    from esper_tui.chart_feed import chart_data

    view = store_from(RUN, MID_RUN).view()
    data = chart_data(view, (0, 2))  # heuristic slot 2 is dormant; its slot 0 seed is the focus
    focus_id = view.lanes[0].focus[-1].seed_id
    assert (
        focus_id is not None and data.focus is not None and "heuristic · slot 0" in data.focus.label
    )
