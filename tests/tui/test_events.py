"""The event log screen (e) and the strip of recent events: nothing lives only in a toast."""

from esper_tui.replay import read_records
from esper_tui.screens import EventFilterScreen, EventLogScreen, SeedDetailScreen
from tests.tui.conftest import RUN, snapshot_app, store_from, until, words
from training.records import EpochRecord, RunEvent
from widgets.event_strip import EventStrip

MID_RUN = (1, "tiny_iql", 5)
SIZE = (120, 40)


async def test_e_opens_the_whole_log_in_order_and_follows_new_events():
    store = store_from(RUN, MID_RUN)
    app = snapshot_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        screen = app.screen
        assert isinstance(screen, EventLogScreen)
        await until(pilot, lambda: screen._shown)  # noqa: SLF001 - filled once it is mounted
        shown = [e.seq for e in screen._shown]  # noqa: SLF001
        assert shown == [e.seq for e in store.view().log] and shown == sorted(shown)
        for record in read_records(RUN)[0]:
            if isinstance(record, EpochRecord) and (record.episode, record.epoch) == (1, 6):
                store.add(record)
        store.add(
            RunEvent(
                "fixture0001", "command_refused", "cull tiny_iql slot 0: the seed is FOSSILIZED"
            )
        )
        app.dashboard.poll()
        await until(pilot, lambda: screen._shown[-1].text.startswith("refused"))  # noqa: SLF001
        assert screen._shown[-1].text == "refused: cull tiny_iql slot 0: the seed is FOSSILIZED"  # noqa: SLF001
        assert screen.following and screen.options.highlighted == len(screen._shown) - 1  # noqa: SLF001


async def test_the_log_filters_by_lane_and_kind():
    app = snapshot_app(store=store_from(RUN))
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: app.screen is not app.dashboard)
        await pilot.press("escape")  # the finished summary
        await pilot.press("e", "slash")
        assert isinstance(app.screen, EventFilterScreen)
        await pilot.press("down", "down", "enter")  # lane tiny_iql
        # kind: cull (all lanes, 2 lanes, every kind, run … gate, cull)
        await pilot.press(*["down"] * 8, "enter")
        await pilot.press("escape")
        screen = app.screen
        assert isinstance(screen, EventLogScreen)
        assert [e.text for e in screen._shown] == [
            "tiny_iql slot1 attention seed: TRAINING → CULLED (culled by operator)"
        ]  # noqa: SLF001


async def test_enter_on_a_seed_event_opens_that_seeds_detail():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        screen = app.screen
        await until(pilot, lambda: screen._shown)  # noqa: SLF001 - filled once it is mounted
        index = next(i for i, e in enumerate(screen._shown) if e.lane == "tiny_iql" and e.slot == 2)  # noqa: SLF001
        screen.options.highlighted = index
        await pilot.press("enter")
        assert isinstance(app.screen, SeedDetailScreen) and (app.screen.lane, app.screen.slot) == (
            "tiny_iql",
            2,
        )


async def test_the_strip_keeps_a_refusal_on_screen_after_its_toast():
    store = store_from(RUN, MID_RUN)
    app = snapshot_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        store.add(
            RunEvent(
                "fixture0001", "command_refused", "cull heuristic slot 1: slot1 is empty (DORMANT)"
            )
        )
        app.dashboard.poll()
        await pilot.pause()
        strip = words(app.screen.query_one(EventStrip).render().plain)
        assert "refused refused: cull heuristic slot 1: slot1 is empty (DORMANT)" in strip
