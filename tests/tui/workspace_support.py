"""Folders of records for the runs screen's tests, made from the recorded fixture runs: a
finished run, a crashed one, a stopped one, one whose writer is gone, a garbage file, and
(when asked) a live one whose lock this test process holds."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

from esper_tui.record_writer import RecordFile
from tests.tui.conftest import CRASHED, RUN

START = datetime(2026, 11, 26, 17, 0, tzinfo=UTC).timestamp()


def fixture_lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def rewritten(lines: list[dict], run_id: str, started: float) -> list[dict]:
    """The run under another id and start time (each record carries the run id)."""
    out = []
    for line in lines:
        line = dict(line, run_id=run_id)
        if line["kind"] == "run":
            line["created_at"] = datetime.fromtimestamp(started, UTC).isoformat()
        out.append(line)
    return out


def write_run(
    path: Path, lines: list[dict], run_id: str, started: float, seconds: float = 600.0
) -> Path:
    """A record file holding ``lines``, its last write ``seconds`` after its start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    body = "".join(json.dumps(line) + "\n" for line in rewritten(lines, run_id, started))
    path.write_text(body)
    os.utime(path, (started + seconds, started + seconds))
    return path


def stopped_lines() -> list[dict]:
    lines = fixture_lines(RUN)[:20]
    return [*lines, {**lines[1], "event": "stopped", "message": "stopped by operator (q)"}]


def make_runs_folder(root: Path) -> Path:
    """``root/runs`` with five files (one in a subfolder, as ``esper-iql ablate -o`` makes),
    each run an hour newer than the one before, and one file that is no record file."""
    folder = root / "runs"
    write_run(folder / "finished.jsonl", fixture_lines(RUN), "run-finished", START, 754)
    write_run(
        folder / "ablation" / "crashed.jsonl",
        fixture_lines(CRASHED),
        "run-crashed",
        START + 3600,
        75,
    )
    write_run(folder / "stopped.jsonl", stopped_lines(), "run-stopped", START + 7200, 130)
    write_run(folder / "gone.jsonl", fixture_lines(RUN)[:30], "run-gone", START + 10800, 240)
    garbage = folder / "garbage.jsonl"
    garbage.write_bytes(b"this is not json\n\xff\xfe half a line")
    os.utime(garbage, (START, START))
    (folder / "notes.txt").write_text("not a record file\n")
    return folder


def start_live_run(
    folder: Path, name: str = "live.jsonl", started: float = START + 14400
) -> RecordFile:
    """A record this process is writing: created exclusively and locked, its run line and a
    few epochs written, no ending event. Close it to end the run."""
    from training.records import record_from_dict

    writer = RecordFile(folder / name)
    for line in rewritten(fixture_lines(RUN)[:12], "run-live", started):
        writer.write(record_from_dict(line))
    writer.flush()
    return writer
