"""Feed a record file into the store: a finished file at a chosen speed (replay), or a file that
another process is still writing (follow). Every line is hostile input: corrupt, overlong or
malformed lines are skipped and counted, and nothing a line holds can stop the feeder.

Follow behaves like ``tail -F``: a file not there yet is waited for, and a file truncated or
replaced (rotated) starts a fresh view of the new run. The header says which, through the
store's ``source``. If the feeder dies anyway, a ``crashed`` event says so on screen.
The checks before a file is opened, and the open itself, are ``esper_tui.record_open``.
"""

from __future__ import annotations

import os
import stat
import threading
import time
import traceback
from pathlib import Path
from typing import BinaryIO, Protocol

from esper_tui.record_open import NotRegular, open_regular
from esper_tui.store import TelemetryStore
from training.records import MAX_LINE, EpochRecord, Record, RecordError, RunEvent, record_from_line
from training.records.text import printable_record
from training.util.safe_io import kind_of, lock_holder

MIN_SPEED, MAX_SPEED = 0.01, 10_000.0
ENDED_AFTER_S = 5.0  # follow: idle this long, with no writer holding its lock, the record has ended
CHUNK = 65536


class RecordSink(Protocol):
    """Where a feeder puts what it reads: the store, or a plain list (``read_records``)."""

    def add(self, record: Record) -> None: ...

    def note_corrupt(self, count: int = 1, line: int | None = None, reason: str = "") -> None:
        """``count`` lines skipped as unreadable; ``line``: the first one's number."""

    def reset(self, source: str | None = None) -> None: ...

    def set_source(self, source: str) -> None: ...

    def end_of_record(self, name: str, lines: int, writer: int | None = None) -> None: ...

    def record_goes_on(self) -> None: ...


class RecordFeeder(threading.Thread):
    """Reads ``path`` into ``store``. ``speed`` is epoch records per second (0: as fast as
    possible). With ``follow`` it keeps tailing the file for new lines until stopped."""

    def __init__(
        self,
        path: str | Path,
        store: RecordSink,
        speed: float = 4.0,
        follow: bool = False,
        poll: float = 0.25,
        linger: bool = False,
    ) -> None:
        super().__init__(name="esper-replay", daemon=True)
        self.path = Path(path)
        self.store = store
        self.speed = speed
        self.follow = follow
        self.poll = poll
        self.linger = linger  # replay: stay at the end, so that jump_episode can go back
        self.stop_event = threading.Event()
        self.line_number = 0  # of the line read last, counting every line of the file (blank too)
        self._resume = threading.Event()
        self._resume.set()
        self._wake = threading.Event()  # set by every control: a pacing wait re-reads them
        self._lock = threading.Lock()
        self._episode = 0
        self._fast_until: int | None = None  # feed without pauses until this episode starts
        self._restart = False
        self._lines = 0  # lines of the file read so far (since a restart or a new file)
        self._note = ""  # follow: what the header says about the path (gone, a folder, ...)

    # ------------------------------------------------------------------ controls (UI thread)
    @property
    def mode(self) -> str:
        return "follow" if self.follow else "replay"

    def toggle_pause(self) -> bool:
        """Pause or resume feeding; True when now paused."""
        if self._resume.is_set():
            self._resume.clear()
            return True
        self._resume.set()
        return False

    def change_speed(self, factor: float) -> float:
        """Multiply the replay speed (epochs per second) by ``factor``; the new speed."""
        with self._lock:
            if factor > 0 and factor == factor:
                self.speed = min(max(self.speed * factor, MIN_SPEED), MAX_SPEED)
            speed = self.speed
        self._wake.set()  # the epoch being waited for shows at the new speed, not the old one
        return speed

    def jump_episode(self, delta: int) -> None:
        """Replay: skip to the next episode (+1) or go back to the previous one (-1), which
        replays the file from its start without pauses up to that episode."""
        if self.follow or delta == 0:
            return
        with self._lock:
            target = max(self._episode + delta, 1)
            self._fast_until = target
            self._restart = delta < 0
        self._resume.set()
        self._wake.set()

    def stop(self, timeout: float = 5.0) -> bool:
        self.stop_event.set()
        self._resume.set()
        self._wake.set()
        if self.is_alive():
            self.join(timeout)
        return not self.is_alive()

    # ------------------------------------------------------------------ the feeder thread
    def run(self) -> None:
        try:
            self._run()
        except Exception as exc:  # noqa: BLE001 - the screen must say the feeder died
            self.store.add(
                RunEvent(
                    run_id="",
                    event="crashed",
                    message=f"the record reader stopped: {type(exc).__name__}: {exc}"[:500],
                    traceback=traceback.format_exc()[-8000:],
                )
            )

    def _run(self) -> None:
        handle = self._open()
        if handle is None:
            return
        try:
            self._feed_file(handle)
        finally:
            handle.close()

    def _open(self) -> BinaryIO | None:
        """The file, waited for when followed and not there yet (its folder neither, perhaps),
        or while it is something a record cannot be (a folder, a FIFO, unreadable)."""
        said = ""
        while not self.stop_event.is_set():
            try:
                handle = open_regular(self.path)
            except OSError as error:
                if not self.follow:
                    raise
                note = self._absent(error)
                if note != said:
                    self.store.set_source(f"follow · {note}")
                    said = note
                self.stop_event.wait(self.poll)
                continue
            if said:
                self.store.set_source("follow")
            return handle
        return None

    def _absent(self, error: OSError) -> str:
        """Why the followed path cannot be read now, as the header says it while waiting."""
        name = self.path.name
        if isinstance(error, FileNotFoundError):
            if not self.path.parent.is_dir():
                return f"waiting for {name} (its folder {self.path.parent} does not exist yet)"
            return f"waiting for {name}"
        if isinstance(error, NotRegular):
            return f"{name} is {error.kind}, not a record; waiting for a regular file there"
        return f"cannot read {name} ({error.strerror or type(error).__name__}); waiting until it can be read"

    def _feed_file(self, handle: BinaryIO) -> None:
        pending = b""
        overlong = False
        self._lines = 0
        grew_at, ended = time.monotonic(), False
        while not self.stop_event.is_set():
            self._resume.wait()
            if self._take_restart():
                handle.seek(0)
                pending, overlong, self._lines = b"", False, 0
                self.line_number = 0
                self.store.reset()
            chunk = handle.read(CHUNK) if not self.stop_event.is_set() else b""
            if not chunk:
                if not self.follow:
                    if pending.strip() and not overlong:
                        self.line_number += 1
                        self._feed(pending)
                    pending = b""
                    self.store.end_of_record(
                        self.path.name, self._lines, lock_holder(handle.fileno())
                    )
                    if not self.linger:
                        return
                    while not self.stop_event.is_set() and not self._restart:
                        self.stop_event.wait(self.poll)
                    continue
                replaced = self._rotated(handle)
                if replaced is not None:
                    handle.close()
                    handle = replaced  # noqa: PLW2901
                    pending, overlong, self._lines = b"", False, 0
                    self.line_number = 0
                    grew_at, ended = time.monotonic(), False
                    continue
                if (
                    not ended
                    and time.monotonic() - grew_at >= ENDED_AFTER_S
                    and lock_holder(handle.fileno()) is None
                ):
                    if (
                        pending.strip() and not overlong
                    ):  # the writer died mid-line: that line is what it is
                        self.line_number += 1
                        self._feed(pending)
                    pending, ended = b"", True
                    self.store.end_of_record(self.path.name, self._lines)
                self.stop_event.wait(self.poll)
                continue
            grew_at = time.monotonic()
            if ended:  # the writer came back (or was only slow): the record goes on
                ended = False
                self.store.record_goes_on()
            pending += chunk
            *lines, pending = pending.split(b"\n")
            for line in lines:
                self.line_number += 1
                if overlong:  # the tail of a line already counted as corrupt
                    overlong = False
                    continue
                if line.strip():
                    self._feed(line)
                if self.stop_event.is_set() or self._restart:
                    break
            if len(pending) > MAX_LINE:  # no end in sight: count it once, drop it unparsed
                if not overlong:
                    self._lines += 1
                    self.store.note_corrupt(
                        line=self.line_number + 1, reason=f"longer than {MAX_LINE} bytes"
                    )
                overlong, pending = True, b""

    def _take_restart(self) -> bool:
        with self._lock:
            restart, self._restart = self._restart, False
            return restart

    def _rotated(self, handle: BinaryIO) -> BinaryIO | None:
        """Follow: a new handle if the file was replaced (another inode) or truncated (shorter
        than what was read), after saying so and clearing the view; else None. While the path
        is gone, or is a folder, a FIFO or unreadable, the header says so, and the file open now
        is kept (a writer may still append to it) until a regular file is back."""
        try:
            st = os.stat(self.path)
        except OSError as error:
            self._say(self._gone(error))
            return None
        mine = os.fstat(handle.fileno())
        if not stat.S_ISREG(st.st_mode):
            self._say(self._absent(NotRegular(kind_of(st.st_mode))))
            return None
        if (st.st_dev, st.st_ino) != (mine.st_dev, mine.st_ino):
            reason = "was replaced"
        elif st.st_size < handle.tell():
            reason = "was truncated"
        else:
            self._say("")
            return None
        try:
            fresh = open_regular(self.path)
        except OSError as error:
            self._say(self._gone(error))
            return None
        self._note = ""
        self.store.reset(source=f"follow · {self.path.name} {reason}: showing its new run")
        return fresh

    def _gone(self, error: OSError) -> str:
        if isinstance(error, FileNotFoundError):
            folder = "" if self.path.parent.is_dir() else f" with its folder {self.path.parent}"
            return f"{self.path.name} was removed{folder}; waiting for it to come back"
        return self._absent(error)

    def _say(self, note: str) -> None:
        """The header's note about the followed path, set once per change."""
        if note != self._note:
            self._note = note
            self.store.set_source(f"follow · {note}" if note else "follow")

    def _feed(self, line: bytes) -> None:
        self._lines += 1
        try:
            record = record_from_line(line)
        except RecordError as exc:
            self.store.note_corrupt(line=self.line_number, reason=str(exc)[:200])
            return
        try:
            self.store.add(record)
        except Exception as exc:  # noqa: BLE001 - a record the store cannot take is a corrupt line
            self.store.note_corrupt(
                line=self.line_number, reason=f"the store refused it ({type(exc).__name__})"
            )
            return
        if isinstance(record, EpochRecord):
            self._pace(record.episode)

    def _pace(self, episode: int) -> None:
        """Wait one epoch's time at the replay speed. A change of speed, a jump or a stop cuts
        the wait short and is applied at once: at 0.01 epochs/s one wait is 100 s, and ``+``
        must not wait for it."""
        with self._lock:
            self._episode = episode
            if self._fast_until is not None and episode >= self._fast_until:
                self._fast_until = None
        if self.follow:
            return
        started = time.monotonic()
        while not self.stop_event.is_set():
            self._wake.clear()
            with self._lock:
                speed, hurry = self.speed, self._fast_until is not None or self._restart
            left = started + 1.0 / speed - time.monotonic() if speed > 0 else 0.0
            if hurry or left <= 0:
                return
            self._wake.wait(left)


def replay_all(path: str | Path, store: TelemetryStore) -> None:
    """Load a whole file synchronously (tests, snapshots)."""
    feeder = RecordFeeder(path, store, speed=0.0)
    feeder.run()


class _Collected:
    """What ``read_records`` gathers: every record the feeder took, and the corrupt lines."""

    def __init__(self) -> None:
        self.records: list[Record] = []
        self.corrupt = 0

    def add(self, record: Record) -> None:
        self.records.append(printable_record(record))  # read whole to be shown (summarize, c)

    def note_corrupt(self, count: int = 1, line: int | None = None, reason: str = "") -> None:
        self.corrupt += count

    def reset(self, source: str | None = None) -> None:
        self.records.clear()
        self.corrupt = 0

    def set_source(self, source: str) -> None:
        """A plain list has no header to show it on."""

    def end_of_record(self, name: str, lines: int, writer: int | None = None) -> None:
        """A plain list ends where the file does."""

    def record_goes_on(self) -> None:
        """Nor has it an ending to forget."""


def read_records(path: str | Path) -> tuple[list[Record], int]:
    """Every record of a finished file, read as replay reads it (the same line bounds and
    checks), and the number of corrupt lines skipped. A file that cannot be opened raises."""
    collected = _Collected()
    RecordFeeder(path, collected, speed=0.0)._run()
    return collected.records, collected.corrupt
