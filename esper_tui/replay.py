"""Feed a record file into the store: a finished file at a chosen speed (replay), or a file that
another process is still writing (follow). Corrupt lines are skipped and counted."""

from __future__ import annotations

import threading
import time
from pathlib import Path

from esper_tui.store import TelemetryStore
from training.records import EpochRecord, RecordError, record_from_line


class ReplayError(Exception):
    """A record file that cannot be replayed; one sentence."""


def check_readable(path: str | Path) -> Path:
    """Fail early, before the UI starts, on a file that is not there or not readable."""
    p = Path(path).expanduser()
    if not p.exists():
        raise ReplayError(f"record file {p} does not exist")
    if p.is_dir():
        raise ReplayError(f"record file {p} is a folder, not a file")
    try:
        with open(p, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        raise ReplayError(f"cannot read record file {p}: {exc.strerror}") from None
    if head and b"\0" in head:
        raise ReplayError(f"record file {p} is binary, not JSON lines")
    return p


class RecordFeeder(threading.Thread):
    """Reads ``path`` into ``store``. ``speed`` is epoch records per second (0: as fast as
    possible). With ``follow`` it keeps tailing the file for new lines until stopped."""

    def __init__(self, path: str | Path, store: TelemetryStore, speed: float = 4.0,
                 follow: bool = False, poll: float = 0.25) -> None:  # fmt: skip
        super().__init__(name="esper-replay", daemon=True)
        self.path = Path(path)
        self.store = store
        self.speed = speed
        self.follow = follow
        self.poll = poll
        self.stop_event = threading.Event()
        self.lines_read = 0

    def run(self) -> None:
        pending = ""
        with open(self.path, encoding="utf-8", errors="replace") as f:
            while not self.stop_event.is_set():
                chunk = f.readline()
                if not chunk:
                    if not self.follow:
                        if pending.strip():
                            self._feed(pending)
                        return
                    self.stop_event.wait(self.poll)
                    continue
                pending += chunk
                if not pending.endswith("\n"):
                    continue  # a line still being written; wait for its end
                line, pending = pending, ""
                if line.strip():
                    self._feed(line)

    def _feed(self, line: str) -> None:
        self.lines_read += 1
        try:
            record = record_from_line(line)
        except RecordError:
            self.store.note_corrupt()
            return
        self.store.add(record)
        if isinstance(record, EpochRecord) and self.speed > 0 and not self.follow:
            self.stop_event.wait(1.0 / self.speed)

    def stop(self, timeout: float = 5.0) -> bool:
        self.stop_event.set()
        if self.is_alive():
            self.join(timeout)
        return not self.is_alive()


def replay_all(path: str | Path, store: TelemetryStore) -> None:
    """Load a whole file synchronously (tests, snapshots)."""
    feeder = RecordFeeder(path, store, speed=0.0)
    feeder.run()


def wait_for(predicate, timeout: float = 5.0, step: float = 0.02) -> bool:
    """Poll ``predicate`` until it is true or ``timeout`` passes (tests and benchmarks)."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())
