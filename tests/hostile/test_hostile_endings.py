"""A record that ends says so, in replay and in follow: a record without its ending event (the
writer was killed, the file truncated) reads "record ended without finishing", a file with no run
says it holds none, and a followed path that stops being a readable regular file is said and
waited for, as is a path whose folder does not exist yet."""

import os
import shutil
import time
from pathlib import Path

import pytest

from esper_tui import replay
from esper_tui.record_open import check_readable
from esper_tui.record_writer import RecordFile
from esper_tui.replay import RecordFeeder, read_records
from esper_tui.store import TelemetryStore
from tests.waiting import wait_for
from widgets.model import RunStatus
from widgets.run_header import header_text
from widgets.run_source import SourceState

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run.jsonl"
LINES = FIXTURE.read_text().splitlines(keepends=True)
ENDED = "record ended without finishing (the writer stopped or was killed)"


def replayed(path: Path) -> TelemetryStore:
    store = TelemetryStore(source="replay")
    RecordFeeder(path, store, speed=0).run()
    return store


def first_line(store: TelemetryStore) -> str:
    return header_text(store.view(), SourceState("replay"), 200).plain.splitlines()[0]


def test_a_record_cut_mid_line_ends_without_finishing(tmp_path):
    path = tmp_path / "cut.jsonl"
    path.write_text("".join(LINES[:30]) + LINES[30][:100])
    store = replayed(path)
    view = store.view()
    assert view.status is RunStatus.ENDED and view.ending == ENDED and view.corrupt_lines == 1
    assert (
        "ENDED" in first_line(store)
        and ENDED in header_text(view, SourceState("replay"), 300).plain
    )


def test_the_record_of_a_killed_run_ends_without_finishing(tmp_path):
    path = tmp_path / "killed.jsonl"
    path.write_text("".join(line for line in LINES if '"event":"finished"' not in line))
    view = replayed(path).view()
    assert view.status is RunStatus.ENDED and view.ending == ENDED and view.corrupt_lines == 0


def test_a_finished_record_needs_no_word_on_its_end():
    view = replayed(FIXTURE).view()
    assert view.status is RunStatus.FINISHED and view.ending == ""


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"", "empty.jsonl holds no run: it is empty"),
        (
            b"[" + b",".join(line.strip().encode() for line in LINES[:3]) + b"]\n",
            "empty.jsonl holds no run: none of its 1 line(s) starts one, 1 of them unreadable",
        ),
        (
            bytes(b for b in range(1, 256) if b != 10) * 40 + b"\n" + b"\xff\xfe garbage\n" * 83,
            "empty.jsonl holds no run: none of its 84 line(s) starts one, 84 of them unreadable",
        ),
        ("".join(LINES[1:]).encode(), "empty.jsonl holds no run: none of its"),
    ],
    ids=["empty", "json-array", "binary-lines", "no-run-line-but-finished"],
)
def test_a_file_without_a_run_says_it_holds_none(tmp_path, content, expected):
    path = tmp_path / "empty.jsonl"
    path.write_bytes(content)
    store = replayed(path)
    view = store.view()
    assert view.status is RunStatus.NO_RUN and view.ending.startswith(expected)
    line = first_line(store)
    assert "NO RUN" in line and expected in line
    assert "FINISHED" not in line and "waiting for the run to start" not in line


def test_a_replay_of_a_record_still_being_written_says_so(tmp_path):
    path = tmp_path / "live.jsonl"
    with RecordFile(path) as live:
        for record in read_records(FIXTURE)[0][:20]:
            live.write(record)
        live.flush()
        view = replayed(path).view()
    assert view.status is RunStatus.RUNNING
    assert (
        view.ending
        == f"the record ends here for now: process {os.getpid()} is still writing it (--follow reads on)"
    )


@pytest.fixture
def quick(monkeypatch):
    monkeypatch.setattr(replay, "ENDED_AFTER_S", 0.3)


def follow(path: Path) -> tuple[TelemetryStore, RecordFeeder]:
    store = TelemetryStore(source="follow")
    feeder = RecordFeeder(check_readable(path, follow=True), store, follow=True, poll=0.02)
    feeder.start()
    return store, feeder


def test_a_followed_run_whose_writer_dies_ends_and_goes_on_if_it_comes_back(tmp_path, quick):
    path = tmp_path / "run.jsonl"
    records = read_records(FIXTURE)[0]
    writer = RecordFile(path)
    for record in records[:20]:
        writer.write(record)
    store, feeder = follow(path)
    try:
        assert wait_for(lambda: store.view().epoch > 0)
        time.sleep(0.8)  # the writer holds its lock: idle, but alive
        assert store.view().status is RunStatus.RUNNING and store.view().ending == ""
        writer.close()  # as a SIGKILL would release it, without an ending event
        assert wait_for(lambda: store.view().status is RunStatus.ENDED)
        assert store.view().ending == ENDED
        with open(path, "a") as more:  # it was only a pause: more lines come
            more.write("".join(LINES[21:40]))
        assert wait_for(
            lambda: store.view().status is RunStatus.RUNNING and store.view().ending == ""
        )
    finally:
        feeder.stop()


def test_a_followed_path_that_becomes_a_folder_or_a_fifo_is_said_and_followed_again(
    tmp_path, quick
):
    path = tmp_path / "run.jsonl"
    path.write_text("".join(LINES[:20]))
    store, feeder = follow(path)
    try:
        assert wait_for(lambda: store.view().epoch > 0)
        path.unlink()
        assert wait_for(
            lambda: "run.jsonl was removed; waiting for it to come back" in store.view().source
        )
        path.mkdir()
        assert wait_for(
            lambda: (
                "run.jsonl is a folder, not a record; waiting for a regular file"
                in store.view().source
            )
        )
        path.rmdir()
        os.mkfifo(path)
        assert wait_for(
            lambda: "run.jsonl is a FIFO (named pipe), not a record" in store.view().source
        )
        path.unlink()
        path.write_text("".join(LINES[:5]))  # a regular file again: its run is shown
        assert wait_for(
            lambda: "showing its new run" in store.view().source and store.view().run is not None
        )
        assert feeder.is_alive() and store.view().crash is None
    finally:
        feeder.stop()


def test_a_followed_path_that_cannot_be_read_is_said(tmp_path, quick, monkeypatch):
    """EACCES is injected at the open (these tests may run as root, who reads every file)."""
    real, denied = replay.open_regular, []

    def open_regular(path):
        if denied:
            raise PermissionError(13, "Permission denied")
        return real(path)

    monkeypatch.setattr(replay, "open_regular", open_regular)
    path = tmp_path / "run.jsonl"
    path.write_text("".join(LINES[:20]))
    store, feeder = follow(path)
    try:
        assert wait_for(lambda: store.view().epoch > 0)
        denied.append(True)
        replacement = tmp_path / "new.jsonl"
        replacement.write_text("".join(LINES[:5]))
        replacement.rename(path)
        assert wait_for(
            lambda: (
                "cannot read run.jsonl (Permission denied); waiting until it can be read"
                in store.view().source
            )
        )
        denied.clear()
        assert wait_for(lambda: "showing its new run" in store.view().source)
    finally:
        feeder.stop()


def test_a_followed_path_whose_folder_is_missing_is_waited_for(tmp_path, quick):
    path = tmp_path / "later" / "run.jsonl"
    assert check_readable(path, follow=True) == path
    store, feeder = follow(path)
    try:
        assert wait_for(lambda: "waiting for run.jsonl (its folder" in store.view().source)
        assert "does not exist yet" in store.view().source
        path.parent.mkdir()
        path.write_text("".join(LINES[:5]))
        assert wait_for(lambda: store.view().run is not None)
        assert store.view().source == "follow"
        shutil.rmtree(path.parent)
        assert wait_for(lambda: "was removed with its folder" in store.view().source)
    finally:
        feeder.stop()


async def test_s_after_the_current_folder_was_deleted_says_so_in_one_sentence(
    tmp_path, monkeypatch
):
    from esper_tui.app import EsperApp

    here = tmp_path / "here"
    here.mkdir()
    monkeypatch.chdir(here)
    store = replayed(FIXTURE)
    app = EsperApp(store, None, refresh_hz=0, controls=False, clock=None)
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        here.rmdir()
        await pilot.press("escape", "s")
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]  # noqa: SLF001
    assert messages[-1] == (
        "could not save the screenshot: the current folder was deleted; restart esper-tui "
        "from a folder that exists"
    )
    assert list(tmp_path.rglob("*.svg")) == []


async def test_s_after_the_record_s_folder_was_deleted_says_so_in_one_sentence(tmp_path):
    from esper_tui.app import EsperApp

    folder = tmp_path / "runs"
    folder.mkdir()
    store = replayed(FIXTURE)
    app = EsperApp(
        store, None, refresh_hz=0, record_path=folder / "run.jsonl", controls=False, clock=None
    )
    async with app.run_test(size=(120, 40), notifications=True) as pilot:
        folder.rmdir()
        await pilot.press("escape", "s")
        await pilot.pause()
        messages = [str(n.message) for n in app._notifications]  # noqa: SLF001
    assert (
        messages[-1].startswith(f"cannot write the screenshot {folder}/run-")
        and "does not exist" in messages[-1]
    )
