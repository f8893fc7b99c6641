"""Which files the runs screen lists and their summaries: the ``*.jsonl`` files of a folder and
of its subfolders one level down, each summarised by ``training.records.summary.read_summary``
(first line, tail and writer lock), ended runs cached while their file is unchanged."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from training.records.summary import LIVE, WRITER_GONE, RunSummary, read_summary

RECORD_SUFFIX = ".jsonl"


@dataclass(frozen=True)
class Scan:
    """One look at the folder: the summaries found, files passed over, and a problem, if any."""

    summaries: tuple[RunSummary, ...]
    skipped: int = 0
    problem: str = ""


def record_files(folder: Path) -> tuple[list[Path], int]:
    """The ``*.jsonl`` files in ``folder`` and in its subfolders one level down (hidden names
    and symlinked folders left out), and how many other files were passed over."""
    found: list[Path] = []
    skipped = 0
    for entry, depth in _entries(folder, 0):
        name = entry.name
        if name.startswith("."):
            continue
        try:
            is_dir = entry.is_dir(follow_symlinks=False)
        except OSError:
            continue
        if is_dir:
            if depth == 0:
                sub = [(e, 1) for e, _ in _entries(Path(entry.path), 1)]
                for child, _ in sub:
                    if child.name.startswith(".") or _is_dir(child):
                        continue
                    if child.name.endswith(RECORD_SUFFIX):
                        found.append(Path(child.path))
                    else:
                        skipped += 1
            continue
        if name.endswith(RECORD_SUFFIX):
            found.append(Path(entry.path))
        else:
            skipped += 1
    return found, skipped


def _entries(folder: Path, depth: int) -> list[tuple[os.DirEntry, int]]:
    try:
        with os.scandir(folder) as it:
            return [(entry, depth) for entry in it]
    except OSError:
        return []


def _is_dir(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return True


class SummaryCache:
    """Summaries of ended runs kept while their file is unchanged (size and mtime); live and
    writer-gone runs are read again on every scan, since their lock may change."""

    def __init__(self, reader: Callable[[Path], RunSummary] = read_summary) -> None:
        self._reader = reader
        self._kept: dict[Path, tuple[tuple[int, int], RunSummary]] = {}

    def summary(self, path: Path) -> RunSummary:
        try:
            st = path.stat()
            stamp = (st.st_size, st.st_mtime_ns)
        except OSError:
            stamp = (-1, -1)
        kept = self._kept.get(path)
        if kept is not None and kept[0] == stamp:
            return kept[1]
        summary = self._reader(path)
        if summary.status not in (LIVE, WRITER_GONE):
            self._kept[path] = (stamp, summary)
        return summary

    def scan(self, folder: Path) -> Scan:
        if not folder.is_dir():
            return Scan((), problem=f"the folder {folder} is not there (any more)")
        paths, skipped = record_files(folder)
        self._kept = {p: v for p, v in self._kept.items() if p in set(paths)}
        return Scan(tuple(self.summary(p) for p in paths), skipped)
