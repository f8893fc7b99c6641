"""Follow mode's liveness: LIVE while records come and the writer holds its lock, SLOW and STALE
from the time since the last write against the run's median epoch time, and WRITER GONE when
the record has no ending event and nobody holds its lock. Real files and real locks: the
record is written by ``RecordFile`` (which holds the lock) and its quiet time is set with
``os.utime``."""

from __future__ import annotations

import os
import statistics
import time

import pytest

from esper_tui.app import EsperApp
from esper_tui.liveness import Liveness, LivenessWatch, median_epoch_seconds, verdict
from esper_tui.record_writer import RecordFile
from esper_tui.replay import read_records
from esper_tui.store import TelemetryStore
from tests.tui.conftest import RUN
from training.records import EpochRecord, RunEvent
from widgets import RunHeader
from widgets.model import RunStatus

SIZE = (120, 40)


def running_records():
    """The fixture run up to the middle of episode 2: no ending event."""
    records = read_records(RUN)[0]
    cut = next(
        i
        for i, r in enumerate(records)
        if isinstance(r, EpochRecord) and (r.episode, r.epoch) == (2, 3)
    )
    return records[:cut]


def store_of(records) -> TelemetryStore:
    store = TelemetryStore(source="follow")
    for record in records:
        store.add(record)
    return store


def quiet_for(path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def test_the_verdict_thresholds():
    assert verdict(RunStatus.RUNNING, 1.9, 1.0, 7) is Liveness.LIVE
    assert verdict(RunStatus.RUNNING, 2.0, 1.0, 7) is Liveness.SLOW
    assert verdict(RunStatus.RUNNING, 9.9, 1.0, 7) is Liveness.SLOW
    assert verdict(RunStatus.RUNNING, 10.0, 1.0, 7) is Liveness.STALE
    assert verdict(RunStatus.RUNNING, 5.0, 1.0, None) is Liveness.WRITER_GONE
    assert verdict(RunStatus.PAUSED, 500.0, 1.0, 7) is Liveness.LIVE  # paused by its operator
    for ended in (RunStatus.FINISHED, RunStatus.STOPPED, RunStatus.CRASHED):
        assert verdict(ended, 500.0, 1.0, None) is None


def test_the_expected_gap_is_the_runs_median_epoch_time():
    records = running_records()
    view = store_of(records).view()
    times = [r.wall_seconds for lane in view.lanes for r in lane.epochs]
    assert median_epoch_seconds(view) == pytest.approx(statistics.median(times))


def test_live_slow_stale_and_writer_gone_on_a_real_record(tmp_path):
    path = tmp_path / "run.jsonl"
    records = running_records()
    view = store_of(records).view()
    expected = max(median_epoch_seconds(view) or 0.0, 1.0)
    writer = RecordFile(path)
    for record in records:
        writer.write(record)
    watch = LivenessWatch(path, time.time)
    os.utime(path)
    state = watch.state(view)
    assert state is not None and state.verdict is Liveness.LIVE
    assert state.writer_pid == os.getpid()  # the lock's holder, from /proc/locks
    quiet_for(path, 3 * expected)
    assert watch.state(view).verdict is Liveness.SLOW
    quiet_for(path, 11 * expected)
    assert watch.state(view).verdict is Liveness.STALE
    writer.close()  # the writer goes without an ending event (as after a SIGKILL)
    gone = LivenessWatch(path, time.time)
    assert gone.state(view).verdict is Liveness.WRITER_GONE


def test_a_record_that_ended_has_no_liveness_verdict(tmp_path):
    path = tmp_path / "run.jsonl"
    records = read_records(RUN)[0]
    with RecordFile(path) as writer:
        for record in records:
            writer.write(record)
    assert isinstance(records[-1], RunEvent) and records[-1].event == "finished"
    assert LivenessWatch(path, time.time).state(store_of(records).view()) is None


def test_records_that_come_in_bursts_are_not_called_stale_between_them(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text("")
    view = store_of(running_records()).view()
    now = [1000.0]
    watch = LivenessWatch(path, lambda: now[0], holder=lambda _: 4242)
    for burst in range(5):  # a parallel run: a whole episode every 60 s
        os.utime(path, (1000.0 + 60 * burst, 1000.0 + 60 * burst))
        now[0] = 1000.0 + 60 * burst
        watch.state(view)
    assert watch.expected_gap(view) == pytest.approx(60.0)
    now[0] += 100.0
    assert watch.state(view).verdict is Liveness.LIVE
    now[0] += 30.0
    assert watch.state(view).verdict is Liveness.SLOW


def header(app) -> str:
    return str(app.dashboard.query_one(RunHeader).render())


class Follower:
    mode = "follow"

    def __init__(self, path) -> None:
        self.path = path

    def start(self) -> None: ...

    def stop(self, timeout: float = 5.0) -> bool:
        return True

    def is_alive(self) -> bool:
        return True


async def test_the_follow_header_says_live_then_writer_gone(tmp_path):
    path = tmp_path / "run.jsonl"
    records = running_records()
    writer = RecordFile(path)
    for record in records:
        writer.write(record)
    store = store_of(records)
    app = EsperApp(store, Follower(path), refresh_hz=0, clock=time.time)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        os.utime(path)  # just written (a loaded machine may have taken seconds to get here)
        app.dashboard.poll()
        assert "● LIVE" in header(app) and f"writer pid {os.getpid()}" in header(app)
        quiet_for(path, 600)
        app.dashboard.poll()
        assert "○ STALE" in header(app) and "no record for 600 s" in header(app)
        writer.close()
        app.dashboard._liveness = None  # the lock is read at most once a second: read it now
        app.dashboard.poll()
        assert "✗ WRITER GONE" in header(app)
        assert "no process holds the record's lock" in header(app)


async def test_a_replay_has_no_liveness_badge(tmp_path):
    store = store_of(running_records())
    store.source = "replay"
    app = EsperApp(store, None, refresh_hz=0, clock=time.time)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not any(word in header(app) for word in ("LIVE", "STALE", "WRITER GONE"))
