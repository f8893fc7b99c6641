"""The acceptance of issue 16 on the fixture run: the newest decision's reason whole on screen at
the design size and the smallest, with one and two models, without a key; every footer key acts."""

import asyncio

import pytest

from esper_tui.screens import HelpScreen
from esper_tui.screens.help import KEYS
from tests.tui.conftest import SECOND, screen_lines, snapshot_app, two_model_store, until, words
from widgets.decision_panel import DecisionPanel

MID_RUN = (1, "tiny_iql", 5)
SIZES = [(120, 40), (80, 24)]


def app_with(models: int):
    return (
        snapshot_app(upto=MID_RUN) if models == 1 else snapshot_app(store=two_model_store(MID_RUN))
    )


def region_text(app, selector: str) -> str:
    """What the screen shows inside a widget's region, rows joined."""
    widget = app.screen.query_one(selector)
    region = widget.content_region.intersection(widget.scrollable_content_region)
    lines = screen_lines(app)[region.y : region.bottom]
    return " ".join(line[region.x : region.right] for line in lines)


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
@pytest.mark.parametrize("models", [1, 2], ids=["one-model", "two-models"])
async def test_the_newest_decisions_reason_is_on_screen_in_full(size, models):
    app = app_with(models)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        newest = app.store.view().decisions[-1]
        assert newest.lane == (SECOND if models == 2 else "tiny_iql")
        shown = words(region_text(app, "#why-scroll"))
        assert f"{newest.episode}·{newest.epoch} {newest.lane}" in shown
        assert words(f"Why: {newest.reason} → {newest.outcome}") in shown


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
async def test_the_reason_of_a_decision_with_a_closing_parenthesis_is_whole(size):
    """The issue's example was cut just before its closing parenthesis: "(Q 27."."""
    app = app_with(1)
    async with app.run_test(size=size) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DecisionPanel).table
        row = next(
            i
            for i in range(table.row_count - 1, -1, -1)
            if table.decision_at(i).reason.endswith(")")
        )
        table.following = False
        table.move_cursor(row=row)
        await pilot.pause()
        decision = table.decision_at(row)
        assert words(f"{decision.reason} → {decision.outcome}") in words(
            region_text(app, "#why-scroll")
        )


EFFECT_WAIT = 5.0


def in_help(app, binding) -> bool:
    """The key is listed in ``?`` (by name, by its symbol, or each arrow of an arrow group)."""
    tokens = " ".join(key for key, _ in KEYS).split()
    display = app.get_key_display(binding).replace(" ", "")
    return (
        binding.key in tokens
        or display in tokens
        or (len(display) > 1 and all(c in tokens for c in display))
    )


@pytest.mark.parametrize("size", SIZES, ids=["120x40", "80x24"])
async def test_every_dashboard_key_is_in_the_footer_or_in_help(size):
    app = app_with(2)
    async with app.run_test(size=size) as pilot:
        for focus in ("grid", "table"):
            if focus == "table":
                await pilot.press("tab", "tab", "tab")
            await until(pilot, lambda: app.screen.query("FooterKey"))
            footer = {
                key.key for key in app.screen.query("FooterKey") if key.region.right <= size[0]
            }
            active = [b.binding for b in app.screen.active_bindings.values() if b.binding.show]
            missing = [b.key for b in active if b.key not in footer and not in_help(app, b)]
            assert not missing, f"{focus}: {missing} neither in the footer nor in ?"
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)


async def effect_of(pilot, app, key: str, session, folder) -> str:
    """Press ``key`` on the dashboard and name what it did (then undo it where it opened or
    maximised something); "" when it did nothing. Waits for the effect (a busy machine can
    take a while to push a screen or write a screenshot), at most ``EFFECT_WAIT`` seconds."""
    screen = app.screen
    focused = app.focused

    def state() -> tuple:
        return (
            len(app.screen_stack),
            screen.maximized,
            app.focused,
            app.selected,
            len(list(folder.glob("*.svg"))),
            bool(session is not None and session.commands()),
            getattr(app.session, "paused", None),
            getattr(app.session, "speed", None),
            list(getattr(app.session, "jumps", [])),
        )

    before = state()
    await pilot.press(key)
    await pilot.pause()
    loop = asyncio.get_running_loop()
    end = loop.time() + EFFECT_WAIT
    after = state()
    while after == before and loop.time() < end:
        await pilot.pause(0.05)
        after = state()
    if after[5]:
        return "command"
    if after[0] > before[0]:
        while len(app.screen_stack) > before[0]:
            app.pop_screen()
        await pilot.pause()
        return "screen"
    if after[1] is not before[1]:
        screen.minimize()
        screen.set_focus(focused)
        return "maximise"
    if after[2] is not before[2] or after[3] != before[3] or after[4] != before[4]:
        screen.set_focus(focused)
        app.dashboard.selected = before[3]  # the next key acts on the same seed
        await pilot.pause()
        return "focus, selection or file"
    return "replay" if after[6:] != before[6:] else ""


@pytest.mark.parametrize("state", ["running", "paused", "finished", "table", "replay"])
async def test_every_footer_key_acts_in_that_state(state, fake_session, tmp_path):
    from esper_tui.app import EsperApp
    from tests.tui.conftest import RUN, store_from
    from tests.tui.test_sources import FakeReplay
    from training.records import RunEvent
    from widgets.model import RunStatus

    record = tmp_path / "run.jsonl"
    record.write_text(RUN.read_text())
    store = store_from(RUN) if state == "finished" else store_from(RUN, MID_RUN)
    if state == "replay":
        app = snapshot_app(store=store, session=FakeReplay(record))
        session = None
    else:
        if state != "finished":
            store._status = RunStatus.RUNNING  # noqa: SLF001 - live
        if state == "paused":
            store.add(RunEvent("fixture0001", "paused", "training paused by operator"))
        app = EsperApp(store, session=fake_session, refresh_hz=0, clock=None, record_path=record)
        session = fake_session
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        while app.screen is not app.dashboard:  # the finished summary
            await pilot.press("escape")
        if state == "table":
            await pilot.press("tab", "tab", "tab")
        await until(pilot, lambda: app.screen.query("FooterKey"))
        keys = [k.key for k in app.screen.query("FooterKey") if k.key != "q"]
        assert keys
        idle = [key for key in keys if not await effect_of(pilot, app, key, session, tmp_path)]
        assert not idle, f"{state}: {idle} in the footer did nothing"
