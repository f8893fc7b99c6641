"""Apps for pilot and snapshot tests, fed from recorded fixture files (never a live thread)."""

from __future__ import annotations

import asyncio
import dataclasses
import queue
import threading
from pathlib import Path

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
    seeds = tuple(dataclasses.replace(s, lane=name) for s in record.seeds)
    decision = record.decision and dataclasses.replace(record.decision, lane=name)
    return dataclasses.replace(record, lane=name, seeds=seeds, decision=decision)


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
                dataclasses.replace(iql, name=name, model_path=f"models/{name}.pt")
                for name in names
            )
            record = dataclasses.replace(record, lanes=(*record.lanes, *more))
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
