"""The chart view: ``ChartsScreen`` over a tiny app, fed fixture ``ChartData`` by a provider."""

from __future__ import annotations

import dataclasses
import math

import pytest
from textual.app import App
from textual.geometry import Region
from textual.widget import Widget
from textual.widgets import Static

from esper_tui.charts import ChartsScreen
from tests.tui.conftest import RUN, store_from
from widgets.charts import (
    EMPTY_MESSAGE,
    NO_FOCUS,
    ChartData,
    FocusSeries,
    LaneCharts,
    LaneCurves,
    Log10Formatter,
    focus_series,
    gaps_caption,
    lane_curves,
    segments,
)

SIZE = (120, 40)


def curve(epochs: int, top: float, rate: float) -> tuple[float, ...]:
    return tuple(
        round(10 + (top - 10) * (1 - math.exp(-e / rate)), 3) for e in range(1, epochs + 1)
    )


def lane(name: str, epochs: int, top: float, finished: int = 2) -> LaneCurves:
    loss = tuple(round(2.3 - 0.02 * top * (1 - math.exp(-e / 3)), 3) for e in range(1, epochs + 1))
    return LaneCurves(
        name,
        tuple(range(1, epochs + 1)),
        curve(epochs, top, 3),
        loss,
        tuple(curve(10, top - 3 - k, 3 + k) for k in range(finished)),
    )


def chart_data(
    epochs: int = 6, names: tuple[str, str] = ("heuristic", "tiny_iql"), focus: bool = True
) -> ChartData:
    seed = FocusSeries(
        f"{names[1]} · slot1 · seed 3",
        tuple(range(1, epochs + 1)),
        (0.0, 0.0, 0.25, 0.5, 0.75, 1.0)[:epochs],
        (None, 0.5, 1.2, None, 3e-3, float("inf"))[:epochs],
    )
    return ChartData(
        episode=3,
        lanes=(lane(names[0], epochs, 55), lane(names[1], epochs, 60)),
        focus=seed if focus else None,
        max_epochs=10,
    )


class ChartsApp(App[None]):
    """Pushes the chart screen over an empty default screen, as the dashboard's ``g`` does."""

    def __init__(self, data: ChartData | None, refresh_hz: float = 0.0) -> None:
        super().__init__()
        self.data = data
        self.refresh_hz = refresh_hz

    def on_mount(self) -> None:
        self.theme = "textual-dark"
        self.push_screen(ChartsScreen(lambda: self.data, refresh_hz=self.refresh_hz))


class ShutdownApp(ChartsApp):
    """An app with its own shutdown path (like EsperApp): ``q`` must go through it."""

    shutdowns = 0

    def begin_shutdown(self) -> None:
        self.shutdowns += 1


def text_of(widget: Widget) -> str:
    """Everything ``widget`` and its descendants draw, as plain text, one line per row."""
    lines = []
    for node in [widget, *widget.query("*")]:
        if node.display and node.size.area:
            region = Region(0, 0, node.size.width, node.size.height)
            lines += [strip.text for strip in node.render_lines(region)]
    return "\n".join(lines)


def caption(app: App, plot_id: str) -> str:
    plot = app.screen.query_one(f"#{plot_id}")
    assert plot.parent is not None
    return str(plot.parent.query_one(".chart-caption", Static).render())


async def test_draws_axes_ticks_and_a_legend_per_lane():
    app = ChartsApp(chart_data())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChartsScreen)
        accuracy = text_of(app.screen.query_one("#plot-accuracy"))
        assert "┗" in accuracy and "┫" in accuracy  # the axis frame with tick marks
        for tick in ("20", "30", "40", "50"):  # y ticks of 10..55 % at round values
            assert tick in accuracy
        x_ticks = text_of(app.screen.query_one("#plot-accuracy #margin-bottom")).split()
        assert x_ticks == ["2", "4", "6", "8", "10"]  # epochs up to max_epochs, not up to now
        legend = caption(app, "plot-accuracy")
        assert "heuristic" in legend and "tiny_iql" in legend and "2 finished" in legend
        assert "1e-1" in text_of(app.screen.query_one("#plot-norm"))  # log decades, labelled


async def test_focus_captions_name_the_seed_and_its_unmeasured_epochs():
    app = ChartsApp(chart_data())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert caption(app, "plot-alpha") == "tiny_iql · slot1 · seed 3"
        assert caption(app, "plot-norm").endswith("not measured: epoch 1, 4 · non-finite: epoch 6")


async def test_no_focus_seed_says_how_to_get_one():
    app = ChartsApp(chart_data(focus=False))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert caption(app, "plot-alpha") == NO_FOCUS


@pytest.mark.parametrize(
    "data",
    [None, ChartData(episode=1, lanes=(LaneCurves("heuristic"),))],
    ids=["no-data", "no-epochs"],
)
async def test_empty_data_shows_a_message_instead_of_plots(data):
    app = ChartsApp(data)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        charts = app.screen.query_one(LaneCharts)
        assert EMPTY_MESSAGE in text_of(charts)
        assert not charts.query_one("#charts-grid").display


async def test_plots_appear_when_the_first_epoch_arrives():
    app = ChartsApp(None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChartsScreen)
        app.data = chart_data()
        screen.poll()
        await pilot.pause()
        assert screen.query_one("#charts-grid").display
        assert "50" in text_of(screen.query_one("#plot-accuracy #margin-left"))


async def test_follows_the_provider_on_its_timer():
    app = ChartsApp(chart_data(epochs=3), refresh_hz=20)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.screen.sub_title == "episode 3"
        app.data = ChartData(episode=4, lanes=(lane("heuristic", 2, 40, finished=3),))
        for _ in range(40):  # bounded: the 20 Hz timer must pick the change up
            await pilot.pause(0.05)
            if app.screen.sub_title == "episode 4":
                break
        assert app.screen.sub_title == "episode 4"
        assert "3 finished" in caption(app, "plot-accuracy")
        assert "tiny_iql" not in caption(app, "plot-accuracy")


async def test_redraws_only_when_the_data_changed(monkeypatch):
    app = ChartsApp(chart_data())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ChartsScreen)
        charts = screen.query_one(LaneCharts)
        updates: list[ChartData | None] = []
        monkeypatch.setattr(charts, "update_view", updates.append)
        app.data = chart_data()  # equal, not the same object
        screen.poll()
        assert updates == []
        app.data = chart_data(epochs=5)
        screen.poll()
        assert updates == [app.data]


@pytest.mark.parametrize("key", ["escape", "g"])
async def test_close_keys_return_to_the_screen_below(key):
    app = ChartsApp(chart_data())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, ChartsScreen)
        await pilot.press(key)
        await pilot.pause()
        assert not isinstance(app.screen, ChartsScreen)


async def test_q_uses_the_apps_own_shutdown():
    app = ShutdownApp(chart_data())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("q")
        await pilot.pause()
        assert app.shutdowns == 1


async def test_q_exits_an_app_without_a_shutdown_path():
    app = ChartsApp(chart_data())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.return_code is None
        await pilot.press("q")
        await pilot.pause()
        assert app.return_code == 0


async def test_lane_names_with_brackets_render_as_written():
    names = ("iql[beta=3].pt", "x[/]y[bold]")
    app = ChartsApp(chart_data(names=names))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        legend = caption(app, "plot-loss")
        assert "iql[beta=3].pt" in legend and "x[/]y[bold]" in legend
        assert caption(app, "plot-alpha") == "x[/]y[bold] · slot1 · seed 3"


def test_chart_view_snapshot(snap_compare):
    assert snap_compare(
        ChartsApp(chart_data(names=("heuristic", "iql[beta=3]"))), terminal_size=SIZE
    )


def test_lines_break_at_unmeasured_and_non_finite_values():
    runs = segments([1, 2, 3, 4, 5, 6], [0.1, None, 0.3, 0.4, float("nan"), 0.6])
    assert runs == [([1.0], [0.1]), ([3.0, 4.0], [0.3, 0.4]), ([6.0], [0.6])]


def test_gaps_caption_lists_unmeasured_and_non_finite_epochs():
    assert (
        gaps_caption([1, 2, 3], [None, 1.0, float("inf")])
        == "not measured: epoch 1 · non-finite: epoch 3"
    )
    assert gaps_caption([1, 2], [0.5, 1.0]) == ""


def test_log_axis_ticks_are_decades_labelled_with_their_value():
    formatter = Log10Formatter()
    ticks = formatter.get_ticks(-3.2, 1.5)
    assert ticks == [-3.0, -2.0, -1.0, 0.0, 1.0]
    assert formatter.get_labels_for_ticks(ticks) == ["1e-3", "1e-2", "1e-1", "1e0", "1e1"]


def test_series_of_different_lengths_are_refused():
    with pytest.raises(ValueError, match="val_loss has 1 values for 2 epochs"):
        LaneCurves("heuristic", (1, 2), (10.0, 20.0), (2.3,))
    with pytest.raises(ValueError, match="alpha"):
        FocusSeries("seed", (1,), (), (1.0,))


def test_built_from_the_store_view_of_the_recorded_run():
    view = store_from(RUN, upto=(1, "tiny_iql", 5)).view()
    iql = next(lane for lane in view.lanes if lane.name == "tiny_iql")
    curves = lane_curves(iql.name, iql.epochs, finished=[(10.0, 20.0)])
    assert curves.epochs == (1, 2, 3, 4, 5)
    assert curves.val_accuracy == tuple(r.val_accuracy for r in iql.epochs)
    assert curves.finished == ((10.0, 20.0),)
    history = iql.seed_history[0]  # one seed, germinated in epoch 1, measured from epoch 2
    series = focus_series(f"{iql.name} · slot0", history)
    mine = [r for r in history if r.seed_id == history[-1].seed_id]
    assert series.epochs == tuple(r.epoch for r in mine) and series.alpha == tuple(
        r.alpha for r in mine
    )
    assert [norm is None for norm in series.gradient_norm] == [
        not r.gradients_measured for r in mine
    ]
    assert None in series.gradient_norm and any(n is not None for n in series.gradient_norm)


def test_focus_series_keeps_only_the_seed_now_in_the_slot():
    view = store_from(RUN, upto=(1, "tiny_iql", 5)).view()
    history = next(lane for lane in view.lanes if lane.name == "tiny_iql").seed_history[0]
    earlier = tuple(dataclasses.replace(r, seed_id="slot0-s0") for r in history[:2])
    series = focus_series("tiny_iql · slot0", earlier + history[2:])
    assert series.epochs == (3, 4, 5)
