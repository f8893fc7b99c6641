"""Replay and follow tell the truth: the header names the source and the record's own time,
replay keys reach the replay, follow waits for its file, lane names from file names are shown
as written, and the exit line names the record and the result."""

import pytest
from rich.text import Text

from esper_tui.app import EsperApp
from esper_tui.replay import read_records
from esper_tui.screens import CrashScreen
from esper_tui.store import TelemetryStore
from tests.tui.conftest import CRASHED, RUN, snapshot_app, store_from, two_model_store, until
from widgets import RunHeader, Scoreboard, SeedGrid

SIZE = (120, 40)
MID_RUN = (1, "tiny_iql", 5)


class FakeReplay:
    """A replay source with the replay controls (the real feeder lives in esper_tui.replay)."""

    mode = "replay"

    def __init__(self, path=RUN) -> None:
        self.path, self.speed, self.paused, self.jumps = path, 4.0, False, []
        self.alive = False

    def start(self) -> None:
        self.alive = True

    def stop(self, timeout: float = 5.0) -> bool:
        self.alive = False
        return True

    def is_alive(self) -> bool:
        return self.alive

    def toggle_pause(self) -> bool:
        self.paused = not self.paused
        return self.paused

    def change_speed(self, factor: float) -> float:
        self.speed *= factor
        return self.speed

    def jump_episode(self, delta: int) -> None:
        self.jumps.append(delta)


def header(app) -> str:
    return str(app.dashboard.query_one(RunHeader).render())


async def test_replay_keys_reach_the_replay_and_the_header_says_so():
    replay = FakeReplay()
    app = snapshot_app(upto=MID_RUN, session=replay)
    async with app.run_test(size=SIZE) as pilot:
        assert "REPLAY ×4/s" in header(app) and "record time" in header(app)
        await pilot.press("space")
        assert replay.paused and "REPLAY paused" in header(app)
        await pilot.press("space", "plus", "plus", "minus")
        assert not replay.paused and replay.speed == 8.0
        await pilot.press("right_square_bracket", "left_square_bracket", "right_square_bracket")
        assert replay.jumps == [1, -1, 1]


async def test_a_replay_hides_the_training_keys_from_the_footer():
    app = snapshot_app(upto=MID_RUN, session=FakeReplay())
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen.query("FooterKey"))
        actions = {key.action for key in app.screen.query("FooterKey")}
        assert "pause_replay" in actions and "speed(2.0)" in actions
        assert not actions & {
            "pause_training",
            "resume_training",
            "pause_seed",
            "resume_seed",
            "cull_seed",
        }


async def test_follow_waits_for_a_file_that_does_not_exist_yet(tmp_path):
    class Follower(FakeReplay):
        mode = "follow"

    app = EsperApp(
        TelemetryStore(source="follow"),
        Follower(tmp_path / "later.jsonl"),
        refresh_hz=0,
        clock=None,
    )
    async with app.run_test(size=SIZE) as pilot:
        # however long the temporary folder's path, the note and the file's name fit the line
        note = "later.jsonl to be created (like tail -F)"
        await until(pilot, lambda: note in header(app))  # the first poll runs after mounting
        assert "FOLLOW" in header(app)
        (tmp_path / "later.jsonl").touch()
        app.dashboard.poll()
        await until(pilot, lambda: "waiting for the first record in" in header(app))


async def test_a_followed_file_replaced_by_a_new_run_drops_the_old_runs_crash_dialog():
    class Follower(FakeReplay):
        mode = "follow"

    store = store_from(CRASHED)
    store.source = "follow"
    app = EsperApp(store, Follower(CRASHED), refresh_hz=0, clock=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, CrashScreen)
        # what the follower does
        store.reset(source="follow · crashed.jsonl was replaced: showing its new run")
        app.dashboard.poll()
        await pilot.pause()
        assert app.screen is app.dashboard and "was replaced" in header(app)
        for record in read_records(CRASHED)[0]:  # the new run crashes too: its own dialog shows
            store.add(record)
        app.dashboard.poll()
        await pilot.pause()
        assert isinstance(app.screen, CrashScreen)


def test_follow_data_age_is_the_records_own_time():
    class Follower(FakeReplay):
        mode = "follow"

    store = store_from(RUN)
    from widgets.run_source import record_time

    written = record_time(store.view())
    app = EsperApp(store, Follower(), refresh_hz=0, clock=lambda: written + 42.0)
    state = app.dashboard.source_state(store.view())
    assert state.mode == "follow" and state.age == pytest.approx(42.0)


@pytest.mark.parametrize("name", ["iql[beta=3]", "x[/]y", "[bold]loud[/bold]"])
async def test_lane_names_with_brackets_are_shown_as_written(name):
    app = snapshot_app(store=two_model_store(MID_RUN, second=name))
    async with app.run_test(size=(160, 50)) as pilot:
        await pilot.pause()
        screen = app.dashboard
        assert name in header(app) and name in str(screen.query_one(Scoreboard).render())
        card = screen.query_one(SeedGrid).card_at(2, 0)
        assert name in Text.from_markup(card.border_title).plain
        await pilot.press("down", "down", "enter")  # the lane's seed detail, titled with the name
        await pilot.pause()
        assert name in str(app.screen.query_one("#detail-title").render())


def test_exit_summary_names_the_record_and_the_paired_result(tmp_path):
    store = store_from(RUN)
    app = EsperApp(store, None, refresh_hz=0, clock=None, record_path=tmp_path / "run.jsonl")
    line = app.exit_summary()
    assert str(tmp_path / "run.jsonl") in line and store.view().paired[0].summary() in line
    early = EsperApp(store_from(RUN, MID_RUN), None, refresh_hz=0, clock=None)
    assert "no paired result yet" in early.exit_summary()
