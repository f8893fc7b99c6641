"""The record file of a live run: created exclusively, locked for its lifetime, and never a
reason for training to stop.

``O_EXCL`` makes "refuse an existing record" atomic, so two runs started together cannot share
one file; an advisory ``flock`` held while the run lasts lets a second writer name the first
one's pid. A write that fails (a full disk, an I/O error, the file or its folder deleted) is
reported once, as one sentence in ``error``; every line stays in memory so that the run can
still be saved elsewhere at quit (``rescue``).
"""

from __future__ import annotations

import fcntl
import os
import stat
import tempfile
from pathlib import Path
from typing import IO

from training.records import Record, record_to_line
from training.util.locks import lock_holder
from training.util.safe_io import PathError, busy, kind_of

__all__ = ["RecordFile", "lock_holder", "open_exclusive"]

KEEP_BYTES = 256 * 2**20  # lines kept in memory for a rescue; past this only the first ones


def _busy(path: Path) -> PathError:
    return busy(path)


def open_exclusive(path: Path, force: bool = False) -> int:
    """A new file at ``path`` (or, with ``force``, an existing regular one emptied), locked
    exclusively; returns its descriptor. Refusals are ``PathError`` with one sentence."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | os.O_NOFOLLOW
    if not path.parent.is_dir():
        raise PathError(f"cannot write the record {path}: folder {path.parent} does not exist")
    try:
        fd = os.open(path, flags, 0o644)
    except FileExistsError:
        fd = _reuse(path, force)
    except OSError as error:
        raise PathError(f"cannot write the record {path}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise _busy(path) from None
    return fd


def _reuse(path: Path, force: bool) -> int:
    st = path.lstat()
    if not stat.S_ISREG(st.st_mode):
        raise PathError(f"the record {path} is {kind_of(st.st_mode)}; give the path of a new file")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError as error:
        raise PathError(f"cannot write the record {path}: {error.strerror}") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        raise _busy(path) from None
    if not force:
        os.close(fd)
        raise PathError(
            f"the record {path} already exists; choose a new file so that no run is lost, or pass --force"
        )
    os.ftruncate(fd, 0)
    return fd


class RecordFile:
    """Appends records to a JSONL file it holds exclusively. ``write`` never raises."""

    def __init__(self, path: str | Path, force: bool = False) -> None:
        self.path = Path(path)
        fd = open_exclusive(self.path, force)
        st = os.fstat(fd)
        self._identity = (st.st_dev, st.st_ino)
        self._file: IO[str] | None = os.fdopen(fd, "w", encoding="utf-8")
        self.lines: list[str] = []
        self._kept = 0
        self.written = 0
        self.error: str | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None

    def write(self, record: Record) -> bool:
        """Write one record; False once writing has failed (the line is kept in memory)."""
        line = record_to_line(record) + "\n"
        if self._kept + len(line) <= KEEP_BYTES:
            self.lines.append(line)
            self._kept += len(line)
        if self._file is None or self.error is not None:
            return False
        try:
            self._check_still_there()
            self._file.write(line)
            self._file.flush()  # whole lines to the OS: a SIGKILL loses at most the line being made
        except OSError as error:
            self._fail(error)
            return False
        self.written += 1
        return True

    def flush(self, durable: bool = False) -> bool:
        if self._file is None or self.error is not None:
            return self.error is None
        try:
            self._check_still_there()
            self._file.flush()
            if durable:
                os.fsync(self._file.fileno())
        except OSError as error:
            self._fail(error)
            return False
        return True

    def close(self) -> None:
        if self._file is None:
            return
        self.flush(durable=True)
        try:
            self._file.close()  # also releases the lock
        except OSError as error:
            if self.error is None:
                self._fail(error)
        self._file = None

    def rescue(self, folder: str | Path | None = None) -> Path | None:
        """Every line this run wrote, to a new file (the system's temporary folder by default);
        None if that fails too."""
        target = Path(folder) if folder is not None else Path(tempfile.gettempdir())
        try:
            fd, name = tempfile.mkstemp(
                prefix=f"{self.path.stem}-rescued-", suffix=".jsonl", dir=target
            )
        except OSError:
            return None
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.writelines(self.lines)
                handle.flush()
                os.fsync(handle.fileno())
        except OSError:
            Path(name).unlink(missing_ok=True)  # a partial rescue would only mislead
            return None
        return Path(name)

    def _check_still_there(self) -> None:
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            raise OSError(0, "the file or its folder was deleted during the run") from None
        if (st.st_dev, st.st_ino) != self._identity:
            raise OSError(0, "the file was replaced by another during the run")

    def _fail(self, error: OSError) -> None:
        reason = error.strerror or type(error).__name__
        self.error = f"the record {self.path} can no longer be written ({reason})"
        try:
            if self._file is not None:
                self._file.close()
        except OSError:
            pass
        self._file = None

    def __enter__(self) -> RecordFile:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
