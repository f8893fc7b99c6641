"""Apps for pilot and snapshot tests, fed from recorded fixture files (never a live thread)."""

from __future__ import annotations

import asyncio
import queue
import threading
from pathlib import Path

import msgspec
import pytest

from esper_tui.app import EsperApp
from esper_tui.replay import read_records
from esper_tui.store import TelemetryStore
from training.records import EpochRecord, RunInfo

SECOND = "iql[beta=3]"  # a second model lane; its name holds markup brackets on purpose

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
RUN = FIXTURES / "run.jsonl"
CRASHED = FIXTURES / "crashed.jsonl"


def store_from(path: Path, upto: tuple[int, str, int] | None = None) -> TelemetryStore:
    """A store holding the file's records, optionally only up to (episode, lane, epoch)."""
    store = TelemetryStore(source="replay")
    records, corrupt = read_records(path)
    assert corrupt == 0
    for record in records:
        store.add(record)
        if (
            upto is not None
            and isinstance(record, EpochRecord)
            and (record.episode, record.lane, record.epoch) == upto
        ):
            break
    return store


def _as_lane(record: EpochRecord, name: str) -> EpochRecord:
    seeds = tuple(msgspec.structs.replace(s, lane=name) for s in record.seeds)
    decision = record.decision and msgspec.structs.replace(record.decision, lane=name)
    return msgspec.structs.replace(record, lane=name, seeds=seeds, decision=decision)


def two_model_store(
    upto: tuple[int, str, int] | None = None, second: str = SECOND
) -> TelemetryStore:
    """The fixture run with the IQL lane's records repeated as a second model lane."""
    return extra_lane_store((second,), upto)


def extra_lane_store(
    names: tuple[str, ...], upto: tuple[int, str, int] | None = None
) -> TelemetryStore:
    """The fixture run with the IQL lane's records repeated as one more model lane per name
    (a replayed ablation has five lanes)."""
    store = TelemetryStore(source="replay")
    for record in read_records(RUN)[0]:
        if isinstance(record, RunInfo):
            iql = next(lane for lane in record.lanes if lane.policy_kind == "iql")
            more = tuple(
                msgspec.structs.replace(iql, name=name, model_path=f"models/{name}.pt")
                for name in names
            )
            record = msgspec.structs.replace(record, lanes=(*record.lanes, *more))
        store.add(record)
        if isinstance(record, EpochRecord) and record.lane == "tiny_iql":
            for name in names:
                store.add(_as_lane(record, name))
        if (
            upto is not None
            and isinstance(record, EpochRecord)
            and (record.episode, record.lane, record.epoch) == upto
        ):
            break
    return store


class FakeSession:
    """Stands in for the trainer thread: records commands and stop/join calls."""

    def __init__(self) -> None:
        self.inbox: queue.Queue = queue.Queue()
        self.started = self.stopped = False
        self.stop_reason = ""
        self._alive = threading.Event()

    def is_alive(self) -> bool:
        return self._alive.is_set()

    def start(self) -> None:
        self.started = True
        self._alive.set()

    def send(self, command) -> None:
        self.inbox.put(command)

    def stop(self, timeout: float = 10.0, reason: str = "by operator") -> bool:
        self.stopped = True
        self.stop_reason = reason
        self._alive.clear()
        return True

    def commands(self) -> list:
        out = []
        while not self.inbox.empty():
            out.append(self.inbox.get_nowait())
        return out


def snapshot_app(
    path: Path = RUN,
    upto=None,
    session=None,
    tmp: Path | None = None,
    store: TelemetryStore | None = None,
) -> EsperApp:
    """No poll timer (refresh 0) and no clock: the screen depends on the records only."""
    return EsperApp(
        store or store_from(path, upto),
        session=session,
        refresh_hz=0,
        clock=None,
        record_path=None if tmp is None else tmp / "run.jsonl",
    )


@pytest.fixture
def fake_session() -> FakeSession:
    return FakeSession()


async def until(pilot, predicate, timeout: float = 10.0) -> None:
    """Let the app run until ``predicate()`` holds (a generous bound: a busy machine is slow)."""
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out"
        await pilot.pause(0.02)


def screen_lines(app) -> list[str]:
    """The screen as the user sees it, one plain string per row (dialogs over the dashboard
    included), as ``App.export_screenshot`` renders it."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(
        width=width,
        height=height,
        file=io.StringIO(),
        record=True,
        legacy_windows=False,
        safe_box=False,
        color_system=None,
    )
    console.print(
        app.screen._compositor.render_update(full=True, screen_stack=app._background_screens)
    )  # noqa: SLF001
    return console.export_text().splitlines()


def words(text: str) -> str:
    """Whitespace collapsed: a wrapped sentence compared with the one it came from."""
    return " ".join(text.split())


async def settle(pilot, *keys: str, timeout: float = 20.0) -> None:
    """Press ``keys``, then let the app run until its screen stops changing: three equal
    screenshots in a row. The dashboard fits its panels in steps (each after a refresh, on
    Textual's frame timer), so a fixed number of pauses snapshots a half-fitted screen on a
    busy machine; this waits for the fitting, never for a clock. With keys, the screen settles
    first: a dialog opened over a half-fitted dashboard would freeze it half-fitted behind it
    (a background screen is not laid out again), which made dialog snapshots depend on timing."""
    if keys:
        await settle(pilot, timeout=timeout)
        await pilot.press(*keys)
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    last, same = None, 0
    while same < 3:
        assert loop.time() < end, "the screen never settled"
        await pilot.pause()
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.02)
        shot = pilot.app.export_screenshot()
        same = same + 1 if shot == last else 0
        last = shot


def settled(*keys: str):
    """A snapshot's ``run_before``: press ``keys``, then wait for the screen to settle."""

    async def run_before(pilot) -> None:
        await settle(pilot, *keys)

    return run_before
