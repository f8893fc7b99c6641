"""What a runs list shows of one record file, read from its first line and its tail.

A record's first line is its ``run`` record (mode, preset, lanes, episodes planned), and the
trainer writes each finished episode's cumulative paired result in its ``episode_finished``
event, and the final one in ``finished``. So a finished record is summarised from its first line
and its last few lines: a file of any length costs two short reads. A run still going (or one
whose writer died) is read backwards from its end, looking only at event lines, until its last
``episode_finished``; epoch lines on the way are skipped by a byte test, never parsed.

The status comes from the record's ending event and from its writer lock (the ``flock`` a live
run holds on its record): no ending and a lock holder is LIVE, no ending and no holder is
WRITER GONE. A file that is not a record says why in one sentence: ``read_summary`` never raises.
"""

from __future__ import annotations

import errno
import os
import stat
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import NamedTuple

import msgspec

from training.records.base import RecordError
from training.records.codec import MAX_LINE, record_from_line
from training.records.run import EpochRecord, RunEvent, RunInfo
from training.records.text import printable_record
from training.records.views import PairedResult
from training.util.locks import is_write_locked
from training.util.safe_io import kind_of

LIVE, FINISHED, STOPPED, CRASHED = "LIVE", "FINISHED", "STOPPED", "CRASHED"
WRITER_GONE, UNREADABLE = "WRITER GONE", "UNREADABLE"
STATUSES = (LIVE, FINISHED, STOPPED, CRASHED, WRITER_GONE, UNREADABLE)
ENDINGS = {"finished": FINISHED, "stopped": STOPPED, "crashed": CRASHED}

FIRST_CHUNK = 16384  # the first read from either end; a run line is a few kB, an epoch ~5 kB
MAX_CHUNK = 4 * 2**20  # backward reads grow to this


class LaneBrief(NamedTuple):
    """One lane as a runs list names it."""

    name: str
    policy: str  # "heuristic", "iql", "bc", "behaviour", ...
    model: str | None  # the model file's name, without its folder


class PairedBrief(NamedTuple):
    """A lane against the reference lane over the episodes done so far."""

    lane: str
    delta: float  # mean paired difference, accuracy points
    lo: float | None  # 95 % interval; None with fewer than two pairs
    hi: float | None
    wins: int
    ties: int
    losses: int
    n: int  # paired episodes


class RunSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One record file in a runs list. Fields a record does not give are None (or empty)."""

    path: Path
    size_bytes: int
    status: str  # one of STATUSES
    reason: str = ""  # UNREADABLE: why; CRASHED: the crash's message
    writer_pid: int | None = None  # the process holding the writer lock, where it is named
    run_id: str | None = None
    started: float | None = None  # unix time, from the run line's created_at
    last_write: float | None = None  # unix time of the file's last change
    duration_s: float | None = None  # started to the last write (or to now while LIVE)
    mode: str | None = None
    preset: str | None = None
    device: str | None = None
    lanes: tuple[LaneBrief, ...] = ()
    reference: str | None = None  # the lane the paired results compare against
    episodes_done: int = 0
    episodes_planned: int | None = None
    epochs_per_episode: int | None = None
    episode: int | None = None  # the episode and epoch of the last epoch record
    epoch: int | None = None
    paired: tuple[PairedBrief, ...] = ()
    message: str = ""  # the ending event's message (e.g. the final paired result in words)
    bytes_read: int = 0  # how much of the file the summary read

    @property
    def name(self) -> str:
        return self.path.name


def read_summary(path: Path) -> RunSummary:
    """The summary of the record at ``path``; status UNREADABLE with a one-sentence ``reason``
    for anything that is not a readable record. Every string in it is printable (lane names,
    reasons: foreign text, shown escaped). Never raises (but ``KeyboardInterrupt``)."""
    path = Path(path)
    try:
        return printable_record(_Reader(path).summary())
    except Exception as exc:  # noqa: BLE001 - a runs list must list every file, whatever it holds
        return _unreadable(path, 0, f"it could not be read ({type(exc).__name__})")


def _unreadable(path: Path, size: int, reason: str, read: int = 0) -> RunSummary:
    return RunSummary(path=path, size_bytes=size, status=UNREADABLE, reason=reason, bytes_read=read)


class _Reader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.read = 0

    def summary(self) -> RunSummary:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        except OSError as error:
            return _unreadable(self.path, 0, _os_reason(error))
        try:
            return self._summary(fd)
        finally:
            os.close(fd)

    def _summary(self, fd: int) -> RunSummary:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return _unreadable(self.path, 0, f"it is {kind_of(st.st_mode)}, not a record file")
        size = st.st_size
        locked, pid = is_write_locked(fd, self.path)
        head = self._first_line(fd, size)
        if head is None:
            return _unreadable(self.path, size, "its first line is longer than any record line")
        if not head.strip():
            if locked:  # created, nothing written yet
                return RunSummary(path=self.path, size_bytes=size, status=LIVE, writer_pid=pid)
            return _unreadable(self.path, size, "it is empty", self.read)
        if b"\0" in head:
            return _unreadable(self.path, size, "it is binary, not JSON lines", self.read)
        try:
            info = record_from_line(head)
        except RecordError as error:
            return _unreadable(
                self.path, size, f"its first line is not a record: {error}", self.read
            )
        if not isinstance(info, RunInfo):
            return _unreadable(
                self.path,
                size,
                "its first line is not the run record a record starts with",
                self.read,
            )
        tail = self._tail(fd, len(head) + 1, size)
        return self._compose(info, tail, st, locked, pid)

    def _first_line(self, fd: int, size: int) -> bytes | None:
        """The bytes before the first newline (all of a one-line file); None past MAX_LINE."""
        data = b""
        while len(data) <= MAX_LINE:
            chunk = os.pread(fd, FIRST_CHUNK, len(data))
            self.read += len(chunk)
            if not chunk:
                return data
            end = chunk.find(b"\n")
            if end >= 0:
                line = data + chunk[:end]
                return line if len(line) <= MAX_LINE else None
            data += chunk
        return None

    def _lines_backwards(self, fd: int, start: int, end: int) -> Iterator[bytes]:
        """The lines between ``start`` and ``end``, last first; lines over MAX_LINE are skipped."""
        pos, carry, overlong, chunk = end, b"", False, FIRST_CHUNK
        while pos > start:
            n = min(chunk, pos - start)
            pos -= n
            block = os.pread(fd, n, pos)
            self.read += len(block)
            chunk = min(chunk * 2, MAX_CHUNK)
            parts = (block + carry).split(b"\n")
            if overlong:
                if len(parts) == 1:
                    continue  # still inside the overlong line
                parts.pop()  # its beginning
                overlong = False
            carry = parts[0]
            yield from reversed(parts[1:])
            if len(carry) > MAX_LINE:
                carry, overlong = b"", True
        if not overlong:
            yield carry

    def _tail(self, fd: int, start: int, end: int) -> _Tail:
        tail = _Tail()
        for line in self._lines_backwards(fd, start, end):
            if not line.strip():
                continue
            if tail.wants_epoch or b'"event"' in line:
                tail.take(line)
            if tail.complete:
                break
        return tail

    def _compose(
        self, info: RunInfo, tail: _Tail, st: os.stat_result, locked: bool, pid: int | None
    ) -> RunSummary:
        ending = tail.ending
        if ending is not None:
            status = ENDINGS[ending.event]
        else:
            status = LIVE if locked else WRITER_GONE
        started = _unix_time(info.created_at)
        # An ended run lasted until its last write: the newest epoch's own clock where the record
        # has one (a copied or checked-out file's mtime is the copy's), else the file's mtime.
        until = time.time() if status == LIVE else (tail.last_sampled or st.st_mtime)
        duration = None if started is None or until < started else until - started
        reference = next((p.reference for p in tail.paired), None)
        return RunSummary(
            path=self.path,
            size_bytes=st.st_size,
            status=status,
            reason=_sentence(ending.message) if ending is not None and status == CRASHED else "",
            writer_pid=pid,
            run_id=info.run_id,
            started=started,
            last_write=st.st_mtime,
            duration_s=duration,
            mode=info.mode,
            preset=info.preset,
            device=info.device,
            lanes=tuple(
                LaneBrief(lane.name, lane.policy_kind, _file_name(lane.model_path))
                for lane in info.lanes
            ),
            reference=reference,
            episodes_done=tail.episodes_done,
            episodes_planned=info.episodes,
            epochs_per_episode=info.epochs,
            episode=tail.episode,
            epoch=tail.epoch,
            paired=tuple(
                PairedBrief(
                    p.lane,
                    p.mean_difference,
                    p.ci_low,
                    p.ci_high,
                    p.wins,
                    p.ties,
                    p.losses,
                    p.episodes,
                )
                for p in tail.paired
            ),
            message=_sentence(ending.message) if ending is not None else "",
            bytes_read=self.read,
        )


class _Tail:
    """What the lines read backwards from the end have told so far."""

    def __init__(self) -> None:
        self.seen_record = False
        self.ending: RunEvent | None = None
        self.paired: tuple[PairedResult, ...] = ()
        self.have_paired = False
        self.episodes_done = 0
        self.have_episodes = False
        self.episode: int | None = None
        self.epoch: int | None = None
        self.last_sampled: float | None = None  # the newest epoch's vitals time (Unix seconds)
        self.wants_epoch = True

    @property
    def complete(self) -> bool:
        return self.have_episodes and not self.wants_epoch

    def take(self, line: bytes) -> None:
        try:
            record = record_from_line(line)
        except RecordError:
            return  # a line cut by a crash, or a corrupt one: the replay counts those
        first, self.seen_record = not self.seen_record, True
        if isinstance(record, EpochRecord):
            if self.wants_epoch:
                self.episode, self.epoch, self.wants_epoch = record.episode, record.epoch, False
                self.last_sampled = record.vitals.t if record.vitals is not None else None
            return
        if not isinstance(record, RunEvent):
            return
        if first and record.event in ENDINGS:
            self.ending = record
        if not self.have_paired and record.event in ("finished", "episode_finished"):
            paired = _paired(record)
            if paired is not None:
                self.paired, self.have_paired = paired, True
        if record.event in ("episode_finished", "episode_failed") and not self.have_episodes:
            if record.episode is not None:
                self.episodes_done, self.have_episodes = record.episode, True


def _paired(event: RunEvent) -> tuple[PairedResult, ...] | None:
    items = event.data.get("paired")
    if not isinstance(items, list):
        return None
    try:
        return tuple(msgspec.convert(item, PairedResult, strict=False) for item in items)
    except (msgspec.ValidationError, TypeError):
        return None


def _unix_time(text: str) -> float | None:
    try:
        return datetime.fromisoformat(text).timestamp()
    except (ValueError, OverflowError, OSError):
        return None


def _file_name(model_path: str | None) -> str | None:
    return None if not model_path else Path(model_path).name


def _sentence(text: str, limit: int = 300) -> str:
    first = " ".join(text.split())
    return first if len(first) <= limit else first[: limit - 1] + "…"


def _os_reason(error: OSError) -> str:
    if error.errno == errno.ENOENT:
        return "it does not exist"
    if error.errno in (errno.EACCES, errno.EPERM):
        return "permission denied"
    return f"it cannot be opened ({error.strerror or type(error).__name__})"
