"""The JSONL record file: one record per line, written as it arrives, read back tolerantly."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from training.records import Record, RecordError, record_from_line, record_to_line


class RecordWriter:
    """Appends records to a JSONL file. ``flush()`` pushes them to the OS (and to disk with
    ``durable=True``), so a reader tailing the file sees whole lines."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if self.path.parent and not self.path.parent.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._file: IO[str] | None = open(self.path, "a", encoding="utf-8")  # noqa: SIM115
        self.written = 0

    def write(self, record: Record) -> None:
        if self._file is None:
            raise ValueError(f"record file {self.path} is closed")
        self._file.write(record_to_line(record) + "\n")
        self.written += 1

    def flush(self, durable: bool = False) -> None:
        if self._file is not None:
            self._file.flush()
            if durable:
                os.fsync(self._file.fileno())

    def close(self) -> None:
        if self._file is not None:
            self.flush(durable=True)
            self._file.close()
            self._file = None

    def __enter__(self) -> RecordWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def iter_lines(path: str | Path) -> Iterator[tuple[int, Record | RecordError]]:
    """(line number, record or the error that line gave). Blank lines are skipped."""
    with open(path, encoding="utf-8", errors="replace") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                yield number, record_from_line(line)
            except RecordError as exc:
                yield number, exc


def read_records(path: str | Path) -> tuple[list[Record], int]:
    """All records of a file and the number of corrupt lines skipped."""
    records: list[Record] = []
    corrupt = 0
    for _, item in iter_lines(path):
        if isinstance(item, RecordError):
            corrupt += 1
        else:
            records.append(item)
    return records, corrupt
