"""A browser visitor's view (``esper-tui --serve`` starts it with ``--served``) is read-only:
no key reaches a trainer and no key writes a file, even when the source could take commands."""

from esper_tui.app import EsperApp
from tests.tui.conftest import RUN, store_from
from widgets.model import RunStatus

SIZE = (140, 45)
MID_RUN = (1, "tiny_iql", 5)


def served_app(session) -> EsperApp:
    store = store_from(RUN, MID_RUN)
    store._status = RunStatus.RUNNING  # noqa: SLF001 - a live run, as far as the keys are concerned
    return EsperApp(store, session=session, refresh_hz=0, clock=None, served=True)


async def test_training_keys_are_absent_in_a_served_view(fake_session):
    app = served_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "p", "c", "y", "enter", "escape")
        await pilot.pause()
        assert fake_session.commands() == []
        footer = {
            binding.action for (_, binding, enabled, _) in app.active_bindings.values() if enabled
        }
        assert not footer & {"toggle_training", "pause_seed", "cull_seed"}
        assert "help" in footer


async def test_s_is_refused_with_a_message_and_writes_nothing(fake_session, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    app = served_app(fake_session)
    said: list[str] = []
    notify = app.notify
    app.notify = lambda message, **kw: (said.append(str(message)), notify(message, **kw))[1]
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s")
        await pilot.pause()
    assert list(tmp_path.iterdir()) == []
    assert any("screenshots are off in a served view" in message for message in said)


async def test_the_help_says_the_view_is_read_only(fake_session):
    app = served_app(fake_session)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        await pilot.pause()
        shown = [str(static.render()) for static in app.screen.query("Static")]
    assert any("served to a browser and read-only" in text for text in shown)
