"""The runs screen (``esper-tui --runs``) and the comparison of runs, driven by the pilot over
folders made from the recorded fixtures (a live run is a record this test process holds)."""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from textual.widgets import DataTable

from esper_tui.app import EsperApp
from esper_tui.replay import RecordFeeder
from esper_tui.store import TelemetryStore
from esper_tui.workspace.compare import Compared, CompareScreen
from esper_tui.workspace.opened import RunDashboard
from esper_tui.workspace.runs import RunsScreen, sorted_keys
from tests.tui.conftest import RUN, until
from tests.tui.workspace_support import (
    START,
    fixture_lines,
    make_runs_folder,
    start_live_run,
    write_run,
)


def runs_app(folder: Path) -> EsperApp:
    """Scans on the UI thread and only when asked; opened runs poll as in real use."""
    return EsperApp.for_runs(folder, replay_speed=10_000, refresh_hz=20, clock=None, rescan_s=0)


@asynccontextmanager
async def runs_list(folder: Path):
    """The runs screen of ``folder`` at 120x40, scanned and shown: (app, pilot, screen)."""
    app = runs_app(folder)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, RunsScreen)
        yield app, pilot, screen


def statuses(screen: RunsScreen) -> dict[str, str]:
    table = screen.query_one(DataTable)
    return {Path(key).name: table.get_cell(key, "status").plain for key in sorted_keys(screen)}


def names(screen: RunsScreen) -> list[str]:
    return [Path(key).name for key in sorted_keys(screen)]


async def move_to(pilot, screen: RunsScreen, name: str) -> None:
    table = screen.query_one(DataTable)
    table.move_cursor(row=names(screen).index(name))
    await pilot.pause()


@pytest.fixture
def folder(tmp_path) -> Path:
    return make_runs_folder(tmp_path)


async def test_every_status_and_the_garbage_file_listed_newest_first(folder):
    writer = start_live_run(folder)
    try:
        async with runs_list(folder) as (app, pilot, screen):
            assert statuses(screen) == {
                "live.jsonl": f"LIVE pid {os.getpid()}",
                "gone.jsonl": "WRITER GONE",
                "stopped.jsonl": "STOPPED",
                "crashed.jsonl": "CRASHED",
                "finished.jsonl": "FINISHED",
                "garbage.jsonl": "UNREADABLE",
            }
            assert names(screen)[:5] == [  # newest start first; the garbage has none
                "live.jsonl",
                "gone.jsonl",
                "stopped.jsonl",
                "crashed.jsonl",
                "finished.jsonl",
            ]
            table = screen.query_one(DataTable)
            garbage = str(folder / "garbage.jsonl")
            assert "not a record" in table.get_cell(garbage, "lanes").plain  # the reason
            finished = str(folder / "finished.jsonl")
            assert table.get_cell(finished, "paired").plain == "-3.44 [-7.4,+0.5] 0/0/2"
            assert table.get_cell(finished, "episodes").plain == "2/2"
            assert table.get_cell(finished, "duration").plain == "12m34s"
            assert "iql tiny_iql.pt" in table.get_cell(finished, "lanes").plain
            assert "1 other file(s) not listed" in str(screen.query_one("#runs-title").render())
    finally:
        writer.close()


async def test_a_new_run_appears_on_a_rescan_and_the_cursor_stays_on_its_run(folder):
    async with runs_list(folder) as (app, pilot, screen):
        await move_to(pilot, screen, "stopped.jsonl")
        write_run(folder / "newer.jsonl", fixture_lines(RUN), "run-newer", START + 99_999)
        screen.rescan()
        await pilot.pause()
        assert names(screen)[0] == "newer.jsonl"
        assert Path(screen.current_key() or "").name == "stopped.jsonl"
        (folder / "gone.jsonl").unlink()
        screen.rescan()
        await pilot.pause()
        assert "gone.jsonl" not in names(screen)
        assert Path(screen.current_key() or "").name == "stopped.jsonl"


async def test_the_filter_keeps_matching_runs_and_escape_clears_it(folder):
    async with runs_list(folder) as (app, pilot, screen):
        await pilot.press("slash", *"crash")
        assert names(screen) == ["crashed.jsonl"]
        await pilot.press("enter")  # keeps the filter, back to the table
        assert screen.query_one(DataTable).has_focus
        assert names(screen) == ["crashed.jsonl"]
        await pilot.press("slash", "escape")
        assert len(names(screen)) == 5
        await pilot.press("slash", *"tiny_iql.pt stop")  # every word must appear
        assert names(screen) == ["stopped.jsonl"]


async def test_sorting_by_another_column_and_back(folder):
    async with runs_list(folder) as (app, pilot, screen):
        await pilot.press("o")  # by name
        assert screen.sort_column == "file"
        assert sorted_keys(screen) == sorted(sorted_keys(screen))
        assert sorted_keys(screen) != sorted(sorted_keys(screen), reverse=True)
        await pilot.press("O")
        assert sorted_keys(screen) == sorted(sorted_keys(screen), reverse=True)


async def test_home_and_end_go_to_the_first_and_the_last_run(folder):
    async with runs_list(folder) as (app, pilot, screen):
        table = screen.query_one(DataTable)
        assert table.row_count > 2
        await pilot.press("end")
        assert table.cursor_row == table.row_count - 1
        await pilot.press("home")
        assert table.cursor_row == 0


async def test_enter_opens_a_replay_and_escape_comes_back_to_the_same_row(folder):
    async with runs_list(folder) as (app, pilot, runs):
        await move_to(pilot, runs, "finished.jsonl")
        await pilot.press("enter")
        opened = app.screen_stack[1]  # the run, under its finished dialog (replayed at once)
        assert isinstance(opened, RunDashboard)
        assert opened.mode == "replay"
        await until(pilot, lambda: opened.store.view().finished is not None)
        view = opened.store.view()
        assert view.run is not None and view.run.run_id == "run-finished"
        await until(pilot, lambda: app.screen is not opened)  # the finished dialog
        await pilot.press("escape")  # closes the dialog
        await pilot.press("escape")  # leaves the run
        assert app.screen is runs
        assert Path(runs.current_key() or "").name == "finished.jsonl"
        assert isinstance(opened.source, RecordFeeder) and not opened.source.is_alive()


async def test_enter_on_a_live_run_follows_it(folder):
    writer = start_live_run(folder)
    try:
        async with runs_list(folder) as (app, pilot, runs):
            await move_to(pilot, runs, "live.jsonl")
            await pilot.press("enter")
            opened = app.screen
            assert isinstance(opened, RunDashboard) and opened.mode == "follow"
            await until(pilot, lambda: opened.store.view().run is not None)
            await pilot.press("escape")
            assert app.screen is runs
    finally:
        writer.close()


async def test_enter_on_an_unreadable_file_says_why_and_stays(folder):
    async with runs_list(folder) as (app, pilot, runs):
        await move_to(pilot, runs, "garbage.jsonl")
        await pilot.press("enter")
        assert app.screen is runs
        assert any("not a record" in str(n.message) for n in app._notifications)


async def test_space_selects_and_c_compares_in_the_runs_colours(folder):
    async with runs_list(folder) as (app, pilot, runs):
        await pilot.press("c")  # nothing selected: a warning, no screen
        assert app.screen is runs
        await move_to(pilot, runs, "finished.jsonl")
        await pilot.press("space")
        await move_to(pilot, runs, "crashed.jsonl")
        await pilot.press("space")
        table = runs.query_one(DataTable)
        marks = {
            name: table.get_cell(str(path), "mark").style
            for name, path in (
                ("finished", folder / "finished.jsonl"),
                ("crashed", folder / "ablation" / "crashed.jsonl"),
            )
        }
        assert marks["finished"] != marks["crashed"]
        await pilot.press("c")
        compare = app.screen
        assert isinstance(compare, CompareScreen)
        await until(pilot, lambda: len(compare.outcomes) == 2)
        rows = compare.query_one(DataTable)
        assert rows.row_count == 4  # two runs, two lanes each
        colours = [colour for _, colour in compare.outcomes]
        assert colours == [str(marks["finished"]), str(marks["crashed"])]
        first = rows.get_row_at(1)
        assert first[0].plain == "● finished.jsonl" and first[4].plain == "-3.44 [-7.41, +0.53]"
        await pilot.press("escape")
        assert app.screen is runs


async def test_a_live_run_in_the_comparison_is_read_again_as_it_grows(folder):
    from training.records import record_from_dict

    writer = start_live_run(folder)  # episode 1 under way, no episode finished yet
    try:
        app = runs_app(folder)
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            runs = {Path(k).name: k for k in sorted_keys(app.screen)}
            compared = [
                Compared(Path(runs["live.jsonl"]), "#4e9af1", live=True),
                Compared(Path(runs["finished.jsonl"]), "#f28e2b"),
            ]
            screen = CompareScreen(compared, reload_s=0.2)
            app.push_screen(screen)
            await until(pilot, lambda: screen.loads >= 1)
            live = next(run for run, _ in screen.outcomes if run.run_id == "run-live")
            assert live.lanes[0].episodes == 0
            rest = fixture_lines(RUN)[12:]
            ended = next(
                i for i, line in enumerate(rest) if line.get("event") == "episode_finished"
            )
            for line in rest[: ended + 1]:
                writer.write(record_from_dict(dict(line, run_id="run-live")))
            writer.flush()
            await until(
                pilot,
                lambda: (
                    next(r for r, _ in screen.outcomes if r.run_id == "run-live").lanes[0].episodes
                    == 1
                ),
            )
    finally:
        writer.close()


async def test_q_quits_from_the_list_and_from_the_comparison(folder):
    app = runs_app(folder)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("space", "down", "space", "c")
        assert isinstance(app.screen, CompareScreen)
        await pilot.press("q")
        await until(pilot, lambda: app.return_code is not None)
    assert app.return_code == 0
    assert app.exit_summary() == f"esper-tui: runs in {folder}"


async def test_r_on_a_replay_opens_the_runs_of_its_folder_and_escape_returns(folder):
    path = folder / "finished.jsonl"
    store = TelemetryStore(source="replay")
    feeder = RecordFeeder(path, store, speed=0.0, linger=True)
    app = EsperApp(store, feeder, refresh_hz=0, clock=None, controls=False)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        dashboard = app.dashboard
        while app.screen is not dashboard:  # the finished dialog of the replay
            app.pop_screen()
        await pilot.press("r")
        runs = app.screen
        assert isinstance(runs, RunsScreen)
        assert runs.folder == folder
        await until(pilot, lambda: runs.scans > 0)
        await move_to(pilot, runs, "stopped.jsonl")
        await pilot.press("enter")
        opened = app.screen
        assert isinstance(opened, RunDashboard)
        await pilot.press("r")  # the list it came from, not another one on top
        assert app.screen is runs and len(app.screen_stack) == 2
        assert isinstance(opened.source, RecordFeeder) and not opened.source.is_alive()
        await pilot.press("escape")
        assert app.screen is dashboard
        await pilot.press("q")


async def test_r_without_a_record_says_there_is_no_folder():
    app = EsperApp(TelemetryStore(), None, refresh_hz=0, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.press("r")
        assert app.screen is app.dashboard
        assert any("no record" in str(n.message) for n in app._notifications)


async def test_an_unreadable_file_cannot_be_selected(folder):
    async with runs_list(folder) as (app, pilot, runs):
        await move_to(pilot, runs, "garbage.jsonl")
        await pilot.press("space")
        assert runs.selected == []
        assert any("cannot be compared" in str(n.message) for n in app._notifications)
