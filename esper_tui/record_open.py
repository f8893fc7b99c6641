"""Opening a record file to read it: the early check that refuses, in one sentence and before
the UI starts, a file replay cannot read (missing unless followed, a folder, a FIFO, unreadable,
binary), and the open the feeder uses, which never blocks on a FIFO and takes only a regular
file."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import BinaryIO

from training.util.safe_io import InputProblem, examine_input_file, kind_of


class ReplayError(Exception):
    """A record file that cannot be replayed; one sentence."""


def check_readable(path: str | Path, follow: bool = False) -> Path:
    """Fail early, before the UI starts, on a file that is missing (unless followed), not a
    regular file (a FIFO would block the reader forever), unreadable or binary."""
    p = Path(path).expanduser()
    try:
        head = examine_input_file(p, head=4096)
    except InputProblem as problem:
        if problem.kind == "missing":
            if follow:
                return p  # followed like tail -F: waited for, its folder too
            raise ReplayError(f"record file {p} does not exist") from None
        if problem.kind in ("unreadable", "no access"):
            raise ReplayError(f"cannot read record file {p}: {problem.detail}") from None
        if problem.kind == "folder":
            raise ReplayError(f"record file {p} is a folder, not a file") from None
        raise ReplayError(f"record file {p} is {problem.detail}, not a regular file") from None
    if head and b"\0" in head:
        raise ReplayError(f"record file {p} is binary, not JSON lines")
    return p


class NotRegular(OSError):
    """The path is there, but is not a regular file (a folder, a FIFO, a device, a socket)."""

    def __init__(self, kind: str) -> None:
        super().__init__(kind)
        self.kind = kind


def open_regular(path: Path) -> BinaryIO:
    """Open for reading without blocking on a FIFO (O_NONBLOCK), and only a regular file."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except IsADirectoryError:
        raise NotRegular("a folder") from None
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        raise NotRegular(kind_of(mode))
    os.set_blocking(fd, True)
    return os.fdopen(fd, "rb")
