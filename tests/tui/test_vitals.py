"""Trainer vitals on screen: the header's fourth line with its colour thresholds, the ``y`` view
(newest sample, chart, table) and its keys, from the fixture of a GPU run (``vitals.jsonl``)
so that a CPU machine tests the GPU display; and the store's history of samples."""

from __future__ import annotations

import pytest
from msgspec import structs
from rich.text import Text
from textual.widgets import DataTable

from esper_tui.screens import HelpScreen
from esper_tui.screens.help import HEADER, KEYS
from esper_tui.screens.vitals import VitalsScreen
from esper_tui.store import TelemetryStore
from tests.tui.conftest import FIXTURES, RUN, snapshot_app, store_from, until
from training.records import GpuVitals, Vitals
from widgets import RunHeader
from widgets.vitals_text import (
    CRITICAL_STYLE,
    OK_STYLE,
    WARN_STYLE,
    memory_style,
    util_style,
    vitals_line,
)
from widgets.vitals_view import VitalsView, summary_text

VITALS = FIXTURES / "vitals.jsonl"
MID_RUN = (1, "tiny_iql", 5)
LATE = (
    2,
    "tiny_iql",
    9,
)  # the GPU past both utilisation and memory thresholds, the host's memory warm
SIZE = (120, 40)


def header(app) -> str:
    return str(app.dashboard.query_one(RunHeader).render())


def test_thresholds_are_75_90_for_memory_and_80_95_for_utilisation():
    assert [memory_style(p) for p in (74.9, 75.0, 89.9, 90.0)] == [
        OK_STYLE,
        WARN_STYLE,
        WARN_STYLE,
        CRITICAL_STYLE,
    ]
    assert [util_style(p) for p in (79.9, 80.0, 94.9, 95.0)] == [
        OK_STYLE,
        WARN_STYLE,
        WARN_STYLE,
        CRITICAL_STYLE,
    ]
    assert memory_style(None) == util_style(None) == "dim"  # N/A never looks healthy


def _style_of(text: Text, needle: str) -> str:
    start = text.plain.index(needle)
    styles = [str(s.style) for s in text.spans if s.start <= start < s.end]
    return styles[-1] if styles else ""


def test_the_header_line_colours_each_reading_by_its_threshold():
    gpu = GpuVitals(index=0, util_pct=96.0, mem_used_mb=7000.0, mem_total_mb=8000.0)
    vitals = Vitals(
        t=1.0,
        proc_cpu_pct=150.0,
        proc_rss_mb=900.0,
        host_cpu_pct=81.0,
        host_mem_used_mb=1000.0,
        host_mem_total_mb=4000.0,
        host_mem_pct=25.0,
        gpus=(gpu,),
    )
    line = vitals_line(vitals, 120)
    assert "trainer CPU 150% · RSS 900 MB" in line.plain
    assert _style_of(line, "81%") == WARN_STYLE  # host CPU 81 %: utilisation warning
    assert _style_of(line, "(25%)") == OK_STYLE
    assert _style_of(line, "96%") == CRITICAL_STYLE  # GPU utilisation past 95 %
    assert _style_of(line, "6.8/8 GB") == WARN_STYLE  # 87.5 % of the GPU's memory


def test_missing_sensors_read_na_and_a_cpu_run_has_no_gpu():
    line = vitals_line(Vitals(t=1.0, gpus=(GpuVitals(index=1),)), 120).plain
    assert "trainer CPU N/A · RSS N/A" in line and "GPU1 util N/A mem N/A" in line
    assert "GPU N/A" in vitals_line(Vitals(t=1.0, proc_cpu_pct=10.0), 80).plain


def test_the_header_line_is_cut_at_a_whole_reading():
    gpus = tuple(
        GpuVitals(index=i, util_pct=50.0, mem_used_mb=1.0, mem_total_mb=2048.0) for i in range(8)
    )
    line = vitals_line(Vitals(t=1.0, proc_cpu_pct=1.0, proc_rss_mb=1.0, gpus=gpus), 80).plain
    assert len(line) <= 80 and line.endswith("…") and "GPU" in line
    assert line.rstrip(" …").endswith("G")  # the last reading shown is whole


async def test_the_header_shows_the_recorded_gpu_vitals_at_both_sizes():
    for size, expected in (((120, 40), "GPU0 util"), ((80, 24), "GPU0 ")):
        app = snapshot_app(store=store_from(VITALS, MID_RUN))
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            text = header(app)
            assert expected in text and "RSS" in text and "host" in text
            assert app.dashboard.query_one(RunHeader).size.height == 4


async def test_a_record_without_vitals_keeps_the_three_line_header():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert app.dashboard.query_one(RunHeader).size.height == 3
        assert "RSS" not in header(app)


async def test_y_opens_the_vitals_view_with_every_sample_and_goes_back():
    store = store_from(VITALS, MID_RUN)
    app = snapshot_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: "vitals" in {k.action for k in app.screen.query("FooterKey")})
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, VitalsScreen)
        view = store.view()
        table = app.screen.query_one(DataTable)
        assert table.row_count == len(view.vitals_history) > 1
        assert table.cursor_row == table.row_count - 1  # on the newest sample
        summary = app.screen.query_one("#vitals-summary").render()
        assert "NVIDIA H100 80GB HBM3" in str(summary)
        await until(
            pilot,
            lambda: (
                {"close", "help", "quit_app"} <= {k.action for k in app.screen.query("FooterKey")}
            ),
        )
        await pilot.press("question_mark")
        await pilot.pause()
        assert isinstance(app.screen, HelpScreen)
        assert any(key == "y" and "vitals" in text for key, text in KEYS)
        assert any("WRITER GONE" in key for key, _ in HEADER)
        await pilot.press("escape", "y")
        await pilot.pause()
        assert app.screen is app.dashboard


@pytest.mark.parametrize("key", ["q", "ctrl+c"])
async def test_q_and_ctrl_c_quit_from_the_vitals_view(key):
    app = snapshot_app(store=store_from(VITALS, MID_RUN))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("y")
        await pilot.pause()
        assert isinstance(app.screen, VitalsScreen)
        await pilot.press(key)
        await pilot.pause(0.5)
    assert app.return_code == (130 if key == "ctrl+c" else 0)


async def test_the_view_adds_new_samples_as_they_arrive_and_keeps_a_moved_cursor():
    records = list(_epochs_of(VITALS))
    store = TelemetryStore(source="replay")
    for record in records[:20]:
        store.add(record)
    app = snapshot_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("y")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, VitalsScreen)
        table = screen.query_one(DataTable)
        before = table.row_count
        table.move_cursor(row=1)
        for record in records[20:]:
            store.add(record)
        screen.poll()
        await pilot.pause()
        assert table.row_count == len(store.view().vitals_history) > before
        assert table.cursor_row == 1


def _epochs_of(path):
    from esper_tui.replay import read_records

    return read_records(path)[0]


def test_the_store_keeps_distinct_samples_in_time_order():
    store = TelemetryStore(source="replay")
    for record in _epochs_of(VITALS):
        store.add(record)
    history = store.view().vitals_history
    times = [v.t for v in history]
    assert times == sorted(times) and len(set(times)) == len(times)
    # a worker's sample written after a later one lands in its place, and a repeat is dropped

    from training.records import EpochRecord

    last = next(r for r in reversed(_epochs_of(VITALS)) if isinstance(r, EpochRecord))
    early = structs.replace(last, vitals=structs.replace(history[0], t=(history[0].t or 0) + 0.5))
    store.add(early)
    store.add(early)
    after = store.view().vitals_history
    assert len(after) == len(history) + 1 and after[1] == early.vitals
    assert store.view().vitals == early.vitals  # the header shows the newest record's


def test_a_record_without_vitals_says_so_in_the_view():
    view = store_from(RUN).view()
    assert view.vitals is None and view.vitals_history == ()
    assert "No vitals" in summary_text(None).plain


async def test_vitals_view_of_a_record_without_vitals_says_so():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("y")
        await pilot.pause()
        assert "No vitals" in str(app.screen.query_one("#vitals-summary").render())
        assert app.screen.query_one(VitalsView).query_one(DataTable).row_count == 0


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_dashboard_with_gpu_vitals_snapshot(snap_compare, size):
    assert snap_compare(snapshot_app(store=store_from(VITALS, LATE)), terminal_size=size)


@pytest.mark.parametrize("size", [(120, 40), (80, 24)], ids=["120x40", "80x24"])
def test_vitals_view_snapshot(snap_compare, size):
    assert snap_compare(
        snapshot_app(store=store_from(VITALS, LATE)), terminal_size=size, press=["y"]
    )


async def test_a_missing_sensor_is_said_in_a_notice():
    from training.records import RunEvent

    store = store_from(VITALS, MID_RUN)
    app = snapshot_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        message = "GPU sensors read N/A: NVML is not available (NVML Shared Library Not Found)"
        store.add(RunEvent("fixture0001", "vitals_unavailable", message, episode=1))
        app.dashboard.poll()
        await until(pilot, lambda: len(app._notifications) > 0)
        assert [n.message for n in app._notifications] == [message]
