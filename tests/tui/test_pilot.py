"""Keys, screens and the trainer thread, driven through Textual's pilot."""

import threading
import time

from textual.widgets import DataTable

from esper_tui.app import EsperApp
from esper_tui.replay import read_records
from esper_tui.screens import (
    ConfirmScreen,
    CrashScreen,
    FinishedScreen,
    HelpScreen,
    SeedDetailScreen,
)
from esper_tui.session import TrainerThread
from esper_tui.store import TelemetryStore
from tests.tui.conftest import RUN, store_from, until
from training.env.actions import CommandType
from training.env.environment import EnvConfig
from training.records import EpochRecord, RunEvent
from training.runs.config import RunConfig
from training.runs.lanes import Lane
from training.util.stopping import stop_reason
from widgets.model import RunStatus

SIZE = (140, 45)
MID_RUN = (1, "tiny_iql", 5)  # the heuristic's slot-0 seed is paused here; IQL has three seeds


def live_app(session, upto=MID_RUN, tmp=None) -> EsperApp:
    store = store_from(RUN, upto)
    store._status = RunStatus.RUNNING  # noqa: SLF001 - a live run, as far as the keys are concerned
    return EsperApp(
        store,
        session=session,
        refresh_hz=0,
        clock=None,
        record_path=None if tmp is None else tmp / "r.jsonl",
    )


async def test_space_toggles_training(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        assert [c.type for c in fake_session.commands()] == [CommandType.PAUSE_TRAINING]
        app.store.add(RunEvent("fixture0001", "paused", "training paused by operator"))
        app.dashboard.poll()
        await pilot.press("space")
        assert [c.type for c in fake_session.commands()] == [CommandType.RESUME_TRAINING]


async def test_selection_moves_and_wraps(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        assert app.selected == (0, 0)
        await pilot.press("right", "right")
        assert app.selected == (0, 2)
        await pilot.press("l")  # past the last slot: first slot of the next lane
        assert app.selected == (1, 0)
        await pilot.press("j")  # past the last lane: back to the first
        assert app.selected == (0, 0)
        await pilot.press("h")  # before the first slot: the last slot of the last lane
        assert app.selected == (1, 2)
        await pilot.press("k", "up")
        assert app.selected == (1, 2)


async def test_p_pauses_and_resumes_the_selected_seed(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("p")  # heuristic slot 0 is paused in the fixture: resume it
        (command,) = fake_session.commands()
        assert (command.type, command.lane, command.slot) == (
            CommandType.RESUME_SEED,
            "heuristic",
            0,
        )
        await pilot.press("down", "p")  # tiny_iql slot 0 is training
        (command,) = fake_session.commands()
        assert (command.type, command.lane, command.slot) == (CommandType.PAUSE_SEED, "tiny_iql", 0)


async def test_p_on_an_empty_slot_sends_nothing(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("right", "p")  # heuristic slot 1 is dormant
        assert fake_session.commands() == []


async def test_cull_asks_first_and_can_be_declined(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("c")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen)
        assert fake_session.commands() == []
        await pilot.press("c", "y")
        (command,) = fake_session.commands()
        assert (command.type, command.lane, command.slot) == (CommandType.CULL, "heuristic", 0)


async def test_help_and_detail_open_and_close(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        await pilot.press("p")  # keys of the main screen do nothing under a modal
        assert fake_session.commands() == []
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)
        await pilot.press("enter")
        assert isinstance(app.screen, SeedDetailScreen)
        assert (app.screen.lane, app.screen.slot) == ("heuristic", 0)
        await pilot.press("escape")
        assert not isinstance(app.screen, SeedDetailScreen)


async def test_seed_detail_updates_live(fake_session):
    app = live_app(fake_session, upto=(1, "heuristic", 3))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("enter")
        await until(pilot, lambda: app.screen.query("#detail-history"))
        table = app.screen.query_one("#detail-history", DataTable)
        await until(pilot, lambda: table.row_count > 0)  # filled on mount
        before = table.row_count
        records, _ = read_records(RUN)
        nxt = next(
            r
            for r in records
            if isinstance(r, EpochRecord) and (r.episode, r.lane, r.epoch) == (1, "heuristic", 4)
        )
        app.store.add(nxt)
        app.dashboard.poll()
        await until(pilot, lambda: table.row_count != before)
        assert table.row_count == before + 1


async def test_tab_moves_to_the_next_panel(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        assert app.focused.id == "seed-grid"
        await pilot.press("tab")
        assert app.focused.id == "gradients"
        await pilot.press("tab", "tab")
        assert app.focused.id == "decisions"  # the table inside the decision panel
        await pilot.press("tab")
        assert app.focused.id == "seed-grid"


async def test_compact_layout_shows_one_lower_panel_at_a_time(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=(80, 24)) as pilot:

        def shown():
            return [
                p
                for p in ("gradients", "saturation", "decision-panel")
                if app.screen.query_one(f"#{p}").display
            ]

        assert shown() == ["decision-panel"]
        await pilot.press("tab", "tab")
        assert shown() == ["saturation"]
        await pilot.press("tab", "tab")  # to the seed grid: the lower panel stays
        assert shown() == ["decision-panel"] and app.focused.id == "seed-grid"


async def test_screenshot_is_saved_next_to_the_record(fake_session, tmp_path):
    app = live_app(fake_session, tmp=tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.pause()
    shots = list(tmp_path.glob("*.svg"))
    assert len(shots) == 1 and "<svg" in shots[0].read_text()[:200]


async def test_refused_command_shows_its_reason(fake_session):
    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.dashboard.is_mounted)  # a busy machine mounts late
        app.store.add(
            RunEvent(
                "fixture0001",
                "command_refused",
                "cull heuristic slot 0: seed s1 is FOSSILIZED and cannot be culled",
            )
        )
        app.dashboard.poll()
        await until(
            pilot,
            lambda: any(
                "FOSSILIZED and cannot be culled" in str(n.message)
                for n in app._notifications  # noqa: SLF001
            ),
        )


async def test_finishing_shows_the_summary():
    app = EsperApp(store_from(RUN), session=None)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, FinishedScreen)
        await pilot.press("escape")
        assert not isinstance(app.screen, FinishedScreen)


def _crashing(config, lanes, sink, inbox, stop_event, task):
    sink(RunEvent(config.run_id, "started", "about to fail"))
    raise RuntimeError("the trainer fell over")


async def test_a_crashing_trainer_shows_the_modal_and_the_app_stays_usable():
    store = TelemetryStore()
    thread = TrainerThread(
        RunConfig(env=EnvConfig(preset="tiny")), [Lane.heuristic()], store, runner=_crashing
    )
    app = EsperApp(store, session=thread, refresh_hz=20)
    async with app.run_test(size=SIZE) as pilot:
        deadline = time.monotonic() + 20  # generous: a loaded CI machine is slow, not wrong
        while not isinstance(app.screen, CrashScreen) and time.monotonic() < deadline:
            await pilot.pause(0.05)
        assert isinstance(app.screen, CrashScreen)
        assert "the trainer fell over" in app.screen.event.traceback
        assert "RuntimeError" in app.screen.event.traceback
        await pilot.press("escape")
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
    assert store.view().status == "CRASHED"


def _until_stopped(config, lanes, sink, inbox, stop_event, task):
    sink(RunEvent(config.run_id, "started", "waiting"))
    while not stop_event.is_set():
        time.sleep(0.01)
    sink(RunEvent(config.run_id, "stopped", f"stopped {stop_reason(stop_event)}"))


async def test_q_stops_and_joins_the_trainer_and_flushes(tmp_path):
    store = TelemetryStore(tmp_path / "r.jsonl")
    thread = TrainerThread(
        RunConfig(env=EnvConfig(preset="tiny")), [Lane.heuristic()], store, runner=_until_stopped
    )
    app = EsperApp(store, session=thread, refresh_hz=20)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause(0.1)
        assert thread.is_alive()
        await pilot.press("q")
    assert not thread.is_alive()
    assert app.return_code == 0
    lines = (tmp_path / "r.jsonl").read_text().splitlines()
    assert '"event":"stopped"' in lines[-1] and '"stopped by operator (q)"' in lines[-1]
    assert not any(t.name == thread.name for t in threading.enumerate())  # joined, not left running


async def test_a_poll_while_the_app_tears_down_draws_nothing(fake_session):
    """The poll timer may fire once more while the panels are being removed on exit."""
    from widgets import RunHeader

    app = live_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await app.screen.query_one(RunHeader).remove()
        await pilot.pause()
        app.store.add(RunEvent("fixture0001", "paused", "training paused by operator"))
        app.dashboard.poll()  # no NoMatches: nothing left to draw
        assert app.return_code is None


def test_an_applied_command_is_announced_without_the_internal_seed_id():
    from esper_tui.operator import applied_text

    event = RunEvent(
        "fixture0001",
        "command_applied",
        "pause_seed heuristic slot 0: paused slot0-s1",
        lane="heuristic",
        slot=0,
        data={"type": "pause_seed"},
    )
    assert applied_text(event) == "operator paused the seed in heuristic slot 0"
