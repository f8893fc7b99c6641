"""Outputs: a record whose writing fails mid-run keeps the run in memory, says so at once, and
is saved elsewhere at quit; a non-finite loss stops training with no checkpoint."""

import os
import shutil
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ptyrun import ALT_SCREEN_OFF, run_in_pty

from esper_tui.cli import iql as iql_cli
from esper_tui.cli.headless import TrainingStopped, loss_guard
from esper_tui.record_writer import RecordFile
from esper_tui.replay import read_records, replay_all
from esper_tui.stop_signals import StopSignals
from esper_tui.store import TelemetryStore
from training.records import record_from_line
from training.util.safe_io import PathError, atomic_write

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run.jsonl"
RECORDS = [record_from_line(line) for line in FIXTURE.read_text().splitlines()]
ROOT = Path(__file__).resolve().parents[2]


def test_a_deleted_record_folder_is_reported_at_once_and_the_run_rescued(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    store = TelemetryStore(folder / "run.jsonl")
    for record in RECORDS[:10]:
        store.add(record)
    shutil.rmtree(folder)
    for record in RECORDS[10:]:
        store.add(record)  # never raises: training goes on
    view = store.view()
    assert "deleted" in store.record_error and "RECORD NOT SAVED" in view.source
    assert [e.event for e in view.events].count("record_failed") == 1
    store.close()
    rescued = store.rescue_record()
    try:
        records, corrupt = read_records(rescued)
        assert corrupt == 0 and len(records) == len(RECORDS)
        replayed = TelemetryStore(source="replay")
        replay_all(rescued, replayed)
        assert [lane.epochs for lane in replayed.view().lanes] == [
            lane.epochs for lane in view.lanes
        ]
    finally:
        rescued.unlink()


def test_the_record_is_exclusive_and_released_at_close(tmp_path):
    path = tmp_path / "r.jsonl"
    with RecordFile(path):
        with pytest.raises(PathError, match=f"process {os.getpid()}"):
            RecordFile(path, force=True)
    RecordFile(path, force=True).close()  # the lock went with the first writer


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "out.json"
    target.write_text("old")

    def half(tmp: Path) -> None:
        tmp.write_text("half")
        raise OSError(28, "No space left on device")

    with pytest.raises(PathError, match="No space left"):
        atomic_write(target, half, "report", force=True)
    assert target.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_tui_shows_a_failed_record_and_exits_1_with_one_sentence_saying_where_it_went(tmp_path):
    folder = tmp_path / "runs"
    folder.mkdir()
    record = folder / "run.jsonl"
    deleted = []

    def delete_then_quit(screen: bytes) -> bool:
        if not deleted and record.exists() and '"kind":"epoch"' in record.read_text():
            shutil.rmtree(folder)
            deleted.append(True)
        return bool(deleted) and b"NOT SAVED" in screen

    argv = [
        sys.executable,
        "-m",
        "esper_tui.cli",
        "--preset",
        "tiny",
        "--epochs",
        "40",
        "--episodes",
        "1",
        "--model",
        str(ROOT / "tests/fixtures/tiny_iql.pt"),
        "--record",
        str(record),
        "--refresh",
        "10",
    ]
    env = dict(
        os.environ,
        PYTHONPATH=str(ROOT),
        OMP_NUM_THREADS="1",
        TERM="xterm-256color",
        TMPDIR=str(tmp_path),
    )
    result = run_in_pty(argv, env, delete_then_quit, b"q")
    assert result.code == 1
    tail = result.screen.split(ALT_SCREEN_OFF)[-1].decode(errors="replace")
    assert "can no longer be written" in tail and "saved to" in tail and "Traceback" not in tail
    rescued = list(tmp_path.glob("run-rescued-*.jsonl"))
    assert len(rescued) == 1 and read_records(rescued[0])[1] == 0


def test_a_non_finite_loss_stops_training_in_one_sentence(tmp_path, monkeypatch, capsys):
    from training.policies import dataset_checks
    from training.policies.offline_data import OfflineDataset

    # let through what validation stops
    monkeypatch.setattr(dataset_checks, "MAX_MAGNITUDE", float("inf"))
    n, rng = 32, np.random.default_rng(0)
    masks = np.ones((n, 7), dtype=bool)
    states = rng.normal(size=(n, 37)).astype(np.float32)
    OfflineDataset(
        states,
        rng.integers(0, 7, n),
        np.full(n, 3e38, np.float32),
        states,
        np.zeros(n, np.float32),
        masks,
        masks,
        {"feature_set": "seed"},
    ).to_npz(tmp_path / "d.npz")
    code = iql_cli.main(
        [
            "train",
            str(tmp_path / "d.npz"),
            "-o",
            str(tmp_path / "m.pt"),
            "--steps",
            "50",
            "--hidden",
            "8",
            "--batch-size",
            "8",
            "--device",
            "cpu",
        ]
    )
    err = capsys.readouterr().err
    assert code == 1 and "became NaN or infinite" in err.splitlines()[-1] and "Traceback" not in err
    assert not (tmp_path / "m.pt").exists()


def test_the_loss_guard_names_the_losses_that_went_bad():
    with StopSignals() as signals:
        guard = loss_guard(signals.stop, signals)
        guard(1, {"loss_q": 1.0})
        with pytest.raises(TrainingStopped, match=r"step 7: loss_q, loss_v became NaN"):
            guard(7, {"loss_q": float("inf"), "loss_v": float("nan"), "loss_pi": 0.5})


async def test_a_second_screenshot_never_replaces_the_first(tmp_path):
    from esper_tui.app import EsperApp

    store = TelemetryStore(tmp_path / "run.jsonl")
    for record in RECORDS[:5]:
        store.add(record)
    app = EsperApp(
        store, None, refresh_hz=0, record_path=tmp_path / "run.jsonl", controls=False, clock=None
    )
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("s")
        await pilot.pause()
        first = next(tmp_path.glob("*.svg"))
        first.write_text("an earlier screenshot")
        await pilot.press("s")
        await pilot.pause()
    assert first.read_text() == "an earlier screenshot" and len(list(tmp_path.glob("*.svg"))) == 2
    store.close()


def test_a_record_that_hits_a_file_size_limit_midway_ends_in_one_sentence_and_exit_1(tmp_path):
    """RLIMIT_FSIZE makes writes past 40 kB fail as a full disk would (EFBIG instead of ENOSPC)."""
    import resource
    import signal
    import subprocess

    def limited() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (40_000, 40_000))

    argv = [
        sys.executable,
        "-m",
        "esper_tui.cli.iql",
        "compare",
        "--model",
        str(ROOT / "tests/fixtures/tiny_iql.pt"),
        "--preset",
        "tiny",
        "--episodes",
        "1",
        "--epochs",
        "8",
        "--device",
        "cpu",
        "--record",
        "r.jsonl",
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TMPDIR=str(tmp_path))
    result = subprocess.run(
        argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, preexec_fn=limited
    )
    lines = [line for line in result.stderr.splitlines() if line.startswith("esper-iql")]
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert len(lines) == 1 and "can no longer be written (File too large)" in lines[0]
    assert "tiny_iql vs heuristic" in result.stdout  # the comparison itself ran to its end
    assert read_records(tmp_path / "r.jsonl")[0]  # what fit is still a readable record
    assert list(tmp_path.glob("r-rescued-*")) == []  # no half rescue left behind


def test_an_atomic_write_with_force_never_replaces_a_record_a_run_took_meanwhile(tmp_path):
    """The run may start after the command checked its outputs: the rename itself refuses."""
    target = tmp_path / "a.jsonl"
    with RecordFile(target) as live:
        live.write(RECORDS[0])
        with pytest.raises(PathError, match=f"being written by process {os.getpid()}"):
            atomic_write(target, lambda tmp: tmp.write_text("a report"), "report", force=True)
        assert target.read_text().startswith('{"kind":"run"')
    assert [p.name for p in tmp_path.iterdir()] == ["a.jsonl"]
    # released: replaced
    atomic_write(target, lambda tmp: tmp.write_text("a report"), "report", force=True)
    assert target.read_text() == "a report"


def test_a_record_held_by_another_process_survives_every_output_with_force(tmp_path):
    """The issue's case: while one process writes a.jsonl, `compare --report a.jsonl --force`,
    `collect -o a.jsonl --force` and `train -o a.jsonl --force` are each refused naming its pid."""
    import subprocess

    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time\nfrom esper_tui.record_writer import RecordFile\n"
            "r = RecordFile(sys.argv[1])\nprint('ready', flush=True); time.sleep(120)",
            "a.jsonl",
        ],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        np.savez(tmp_path / "d.npz", x=np.zeros(1))
        model = str(ROOT / "tests/fixtures/tiny_iql.pt")
        small = ["--preset", "tiny", "--episodes", "1", "--epochs", "2", "--device", "cpu"]
        for argv in (
            ["compare", "--model", model, "--report", "a.jsonl", "--force", *small],
            ["collect", "-o", "a.jsonl", "--force", *small],
            ["train", "d.npz", "-o", "a.jsonl", "--force", "--device", "cpu"],
        ):
            result = subprocess.run(
                [sys.executable, "-m", "esper_tui.cli.iql", *argv],
                cwd=tmp_path,
                timeout=120,
                capture_output=True,
                text=True,
                env=dict(os.environ, PYTHONPATH=str(ROOT)),
            )
            assert result.returncode == 2, result.stderr
            assert f"a.jsonl is a record being written by process {holder.pid}" in result.stderr
            assert (tmp_path / "a.jsonl").read_bytes() == b""
    finally:
        holder.kill()
        holder.wait()


def test_compare_stopped_after_its_record_folder_was_deleted_names_the_rescued_copy(tmp_path):
    import signal
    import subprocess

    folder = tmp_path / "out"
    folder.mkdir()
    record = folder / "r.jsonl"
    argv = [
        sys.executable,
        "-m",
        "esper_tui.cli.iql",
        "compare",
        "--model",
        str(ROOT / "tests/fixtures/tiny_iql.pt"),
        "--preset",
        "tiny",
        "--episodes",
        "20",
        "--epochs",
        "3",
        "--device",
        "cpu",
        "--record",
        str(record),
    ]
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TMPDIR=str(tmp_path))
    proc = subprocess.Popen(
        argv, cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 120
    while (
        '"kind":"epoch"' not in (record.read_text() if record.exists() else "")
        and time.monotonic() < deadline
    ):
        time.sleep(0.05)
    shutil.rmtree(folder)
    time.sleep(1.5)  # at least one more record, which finds the folder gone
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err
    rescued = list(tmp_path.glob("r-rescued-*.jsonl"))
    assert len(rescued) == 1
    assert f"the whole run was saved to {rescued[0]} instead" in err
    records, corrupt = read_records(rescued[0])
    assert corrupt == 0 and records[-1].event == "stopped"
