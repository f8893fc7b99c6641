"""Apps for pilot and snapshot tests, fed from recorded fixture files (never a live thread)."""

from __future__ import annotations

import queue
import threading
from pathlib import Path

import pytest

from esper_tui.app import EsperApp
from esper_tui.store import TelemetryStore
from training.recordio import read_records
from training.records import EpochRecord

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
        if upto is not None and isinstance(record, EpochRecord) and (record.episode, record.lane, record.epoch) == upto:
            break
    return store


class FakeSession:
    """Stands in for the trainer thread: records commands and stop/join calls."""

    def __init__(self) -> None:
        self.inbox: queue.Queue = queue.Queue()
        self.started = self.stopped = False
        self._alive = threading.Event()

    def is_alive(self) -> bool:
        return self._alive.is_set()

    def start(self) -> None:
        self.started = True
        self._alive.set()

    def send(self, command) -> None:
        self.inbox.put(command)

    def stop(self, timeout: float = 10.0) -> bool:
        self.stopped = True
        self._alive.clear()
        return True

    def commands(self) -> list:
        out = []
        while not self.inbox.empty():
            out.append(self.inbox.get_nowait())
        return out


def snapshot_app(path: Path = RUN, upto=None, session=None, tmp: Path | None = None) -> EsperApp:
    return EsperApp(store_from(path, upto), session=session, snapshot=True, record_path=None if tmp is None
                    else tmp / "run.jsonl")  # fmt: skip


@pytest.fixture
def fake_session() -> FakeSession:
    return FakeSession()
