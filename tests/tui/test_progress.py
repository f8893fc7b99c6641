"""Progress inside the epoch in the header: live only, from the store's progress."""

import dataclasses

from tests.tui.conftest import RUN, screen_lines, snapshot_app, store_from
from tests.tui.test_sources import FakeReplay
from widgets.model import Progress, RunStatus
from widgets.run_header import header_text
from widgets.run_source import SourceState

MID_RUN = (1, "tiny_iql", 5)


def test_the_header_shows_the_phase_and_batch_k_of_n_while_live():
    view = dataclasses.replace(store_from(RUN, MID_RUN).view(), status=RunStatus.RUNNING)
    live = SourceState("live", progress=Progress("training", "heuristic", 1, 6, 12, 30))
    first = header_text(view, live, 120).plain.splitlines()[0]
    assert "epoch 6/10" in first and "training heuristic" in first and "12/30 batches" in first
    validating = SourceState("live", progress=Progress("validating", "tiny_iql", 1, 6, 30, 30))
    assert "validating tiny_iql" in header_text(view, validating, 120).plain.splitlines()[0]
    assert "s per epoch" in first


def test_a_replay_has_no_phase_but_the_time_per_epoch():
    view = store_from(RUN, MID_RUN).view()
    replay = SourceState("replay", progress=Progress("training", "heuristic", 1, 6, 12, 30))
    first = header_text(view, replay, 120).plain.splitlines()[0]
    assert "batches" not in first and "training" not in first and "s per epoch (all lanes)" in first


async def test_the_dashboard_reads_the_progress_at_each_tick(fake_session):
    store = store_from(RUN, MID_RUN)
    store._status = RunStatus.RUNNING  # noqa: SLF001 - live, as far as the header is concerned
    from esper_tui.app import EsperApp

    app = EsperApp(store, session=fake_session, refresh_hz=0, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        store.set_progress(Progress("training", "tiny_iql", 1, 6, 7, 30))
        app.dashboard.poll()  # the version did not change: only the header redraws
        await pilot.pause()
        assert "training tiny_iql" in screen_lines(app)[0] and "7/30" in screen_lines(app)[0]
    replay = snapshot_app(upto=MID_RUN, session=FakeReplay())
    async with replay.run_test(size=(120, 40)) as pilot:
        replay.store.set_progress(Progress("training", "tiny_iql", 1, 6, 7, 30))
        replay.dashboard.poll()
        await pilot.pause()
        assert "7/30" not in screen_lines(replay)[0]


async def test_the_timer_redraws_the_header_each_tick_and_the_panels_at_most_once_a_second(
    fake_session, monkeypatch
):
    """Records faster than a person reads (a tiny task's epochs) redraw the panels at most every
    PANELS_EVERY_S; the header (progress, age) still follows every tick, and what arrived in
    between shows at the next redraw."""
    import esper_tui.dashboard as dashboard
    from esper_tui.app import EsperApp
    from esper_tui.replay import read_records
    from training.records import EpochRecord

    records = [r for r in read_records(RUN)[0] if isinstance(r, EpochRecord)]
    store = store_from(RUN, MID_RUN)
    store._status = RunStatus.RUNNING  # noqa: SLF001 - live
    clock = [100.0]
    monkeypatch.setattr(dashboard, "monotonic", lambda: clock[0])
    app = EsperApp(store, session=fake_session, refresh_hz=0, clock=None)
    async with app.run_test(size=(120, 40)) as pilot:
        screen = app.dashboard
        store.add(next(r for r in records if (r.episode, r.epoch) == (1, 6)))
        screen._tick()  # the first timer tick after a redraw long ago: everything
        drawn = screen._seen_version
        assert drawn == store.view().version
        store.add(next(r for r in records if (r.episode, r.epoch) == (1, 7)))
        store.set_progress(Progress("training", "tiny_iql", 1, 8, 3, 30))
        clock[0] += dashboard.PANELS_EVERY_S / 4
        screen._tick()  # a new record a moment later: the header only
        await pilot.pause()
        assert screen._seen_version == drawn and "3/30" in screen_lines(app)[0]
        clock[0] += dashboard.PANELS_EVERY_S
        screen._tick()  # a full interval after the last redraw: the panels catch up
        assert screen._seen_version == store.view().version != drawn
