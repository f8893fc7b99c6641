"""A run's summary for the runs list comes from its first line and its tail: status from the
ending event and the writer lock, lanes, episodes and the paired result; any file that is not a
record is UNREADABLE with a reason, never an exception."""

import json
import os
from pathlib import Path

import pytest

from esper_tui.record_writer import RecordFile
from training.records import record_from_line
from training.records.summary import (
    CRASHED,
    FINISHED,
    LIVE,
    STOPPED,
    UNREADABLE,
    WRITER_GONE,
    LaneBrief,
    PairedBrief,
    read_summary,
)

FIXTURES = Path(__file__).resolve().parent / "fixtures"
LINES = (FIXTURES / "run.jsonl").read_text().splitlines()
EPOCHS = [line for line in LINES if '"kind":"epoch"' in line]
FIRST_EPISODE_END = next(i for i, line in enumerate(LINES) if '"episode_finished"' in line)


def write(path: Path, lines: list[str], end: str = "\n") -> Path:
    path.write_text("\n".join(lines) + end)
    return path


def test_a_finished_record_gives_its_lanes_episodes_and_paired_result():
    summary = read_summary(FIXTURES / "run.jsonl")
    assert summary.status == FINISHED and summary.reason == ""
    assert summary.run_id == "fixture0001" and summary.mode == "head-to-head"
    assert summary.preset == "tiny" and summary.writer_pid is None
    assert summary.lanes == (
        LaneBrief("heuristic", "heuristic", None),
        LaneBrief("tiny_iql", "iql", "tiny_iql.pt"),
    )
    assert (summary.episodes_done, summary.episodes_planned) == (2, 2)
    assert summary.reference == "heuristic"
    assert summary.paired == (
        PairedBrief("tiny_iql", -3.4375, -7.4081889800545895, 0.5331889800545895, 0, 0, 2, 2),
    )
    assert summary.started is not None and summary.duration_s is not None
    assert summary.size_bytes == (FIXTURES / "run.jsonl").stat().st_size
    assert "tiny_iql vs heuristic" in summary.message


def test_a_long_finished_record_is_summarised_from_its_ends(tmp_path):
    episode = [line for line in EPOCHS if json.loads(line)["episode"] == 1]
    body = [LINES[0]] + episode * 60 + LINES[FIRST_EPISODE_END:]
    path = write(tmp_path / "long.jsonl", body)
    summary = read_summary(path)
    assert summary.status == FINISHED and summary.episodes_done == 2
    assert summary.bytes_read < path.stat().st_size / 10


def test_a_crashed_record_says_why():
    summary = read_summary(FIXTURES / "crashed.jsonl")
    assert summary.status == CRASHED and "illegal memory access" in summary.reason


def test_a_stopped_record(tmp_path):
    stop = json.dumps(
        {"kind": "event", "v": 1, "run_id": "fixture0001", "event": "stopped", "message": "q"}
    )
    summary = read_summary(write(tmp_path / "s.jsonl", LINES[: FIRST_EPISODE_END + 3] + [stop]))
    assert summary.status == STOPPED and summary.episodes_done == 1
    assert summary.paired[0].n == 1 and summary.paired[0].losses == 1


def test_a_record_without_ending_or_writer_is_writer_gone_and_says_where_it_stopped(tmp_path):
    cut = LINES[: FIRST_EPISODE_END + 6]
    last = record_from_line(next(line for line in reversed(cut) if '"kind":"epoch"' in line))
    # the line the writer was making when it died, cut short
    summary = read_summary(write(tmp_path / "cut.jsonl", cut + [EPOCHS[-1][:300]], end=""))
    assert summary.status == WRITER_GONE and summary.writer_pid is None
    assert summary.episodes_done == 1 and summary.paired[0].n == 1
    assert (summary.episode, summary.epoch) == (last.episode, last.epoch)


def test_a_record_before_its_first_episode_ends_has_done_none(tmp_path):
    summary = read_summary(write(tmp_path / "early.jsonl", LINES[:6]))
    assert summary.status == WRITER_GONE and summary.episodes_done == 0 and summary.paired == ()


def test_a_record_whose_writer_holds_its_lock_is_live_with_the_writers_pid(tmp_path):
    path = tmp_path / "live.jsonl"
    with RecordFile(path) as writer:
        assert read_summary(path).status == LIVE  # created, nothing written yet
        for line in LINES[:12]:
            writer.write(record_from_line(line))
        live = read_summary(path)
        assert live.status == LIVE and live.writer_pid == os.getpid()
        assert live.duration_s is not None and live.episodes_planned == 2
    assert read_summary(path).status == WRITER_GONE


def test_a_finished_record_still_open_names_its_writer(tmp_path):
    path = tmp_path / "open.jsonl"
    with RecordFile(path) as writer:
        for line in LINES:
            writer.write(record_from_line(line))
        summary = read_summary(path)
    assert summary.status == FINISHED and summary.writer_pid == os.getpid()


HUGE = "x" * (2**20 + 10)


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02binary\n", "binary"),
        (b"{not json\n", "not a record"),
        (b'{"hello": "world"}\n', "not a record"),
        (b"[1, 2, 3]\n", "not a record"),
        (LINES[1].encode() + b"\n", "not the run record"),
        (LINES[0].replace('"v":1', '"v":7', 1).encode() + b"\n", "schema version"),
        (b'{"kind":"run","v":1,"x":"' + HUGE.encode() + b'"}\n', "longer than any record"),
        ("\ufeff".encode() + b"\xff\xfe garbage\n", "not a record"),
    ],
    ids=[
        "empty",
        "binary",
        "not-json",
        "foreign-json",
        "array",
        "no-run-line",
        "version-7",
        "huge-first-line",
        "bom-garbage",
    ],  # fmt: skip
)
def test_a_file_that_is_not_a_record_is_unreadable_with_a_reason(tmp_path, content, reason):
    path = tmp_path / "foreign.jsonl"
    path.write_bytes(content)
    summary = read_summary(path)
    assert summary.status == UNREADABLE and reason in summary.reason
    assert summary.size_bytes == len(content)


def test_a_folder_a_fifo_and_a_missing_file_are_unreadable_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "pipe.jsonl")
    (tmp_path / "dir.jsonl").mkdir()
    assert "FIFO" in read_summary(tmp_path / "pipe.jsonl").reason
    assert "folder" in read_summary(tmp_path / "dir.jsonl").reason
    assert "does not exist" in read_summary(tmp_path / "gone.jsonl").reason


def test_an_overlong_line_in_the_tail_is_skipped(tmp_path):
    body = LINES[:-1] + ['{"kind":"event","message":"' + HUGE + '"}', LINES[-1]]
    summary = read_summary(write(tmp_path / "o.jsonl", body))
    assert summary.status == FINISHED and summary.episodes_done == 2


def test_an_ended_run_lasts_until_its_last_epochs_own_clock_not_the_files_mtime(tmp_path):
    """A record copied or checked out days later keeps its duration: the newest epoch's vitals
    time, not the copy's mtime."""
    copy = tmp_path / "vitals.jsonl"
    copy.write_bytes((FIXTURES / "vitals.jsonl").read_bytes())
    os.utime(copy, (2e9, 2e9))  # years after the run
    summary = read_summary(copy)
    records = [record_from_line(line) for line in copy.read_text().splitlines()]
    started = summary.started
    last = [r for r in records if getattr(r, "vitals", None) is not None][-1].vitals.t
    assert summary.status == FINISHED and started is not None
    assert summary.duration_s == pytest.approx(last - started) and summary.duration_s < 600
