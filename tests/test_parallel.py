"""Episodes in worker processes give exactly what a serial run gives, in the same order; a
failing episode is recorded and the others go on; an interrupt keeps the finished episodes."""

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from esper_tui.cli.iql import main
from esper_tui.replay import read_records
from training.env.environment import EnvConfig
from training.records import EpochRecord, LaneInfo, RunEvent, RunInfo, record_to_line
from training.runs.config import RunConfig
from training.runs.driver import InProcessBackend, ProcessBackend, run_episodes
from training.runs.lanes import Lane

MODEL = Path(__file__).parent / "fixtures" / "tiny_iql.pt"
WALL_CLOCK = {"wall_seconds", "samples_per_second", "created_at", "captured_at", "vitals"}


def _strip(value):
    if isinstance(value, dict):
        return {k: _strip(v) for k, v in value.items() if k not in WALL_CLOCK}
    if isinstance(value, list):
        return [_strip(v) for v in value]
    return value


def without_wall_clock(record) -> dict:
    return _strip(json.loads(record_to_line(record)))


def comparable_file(path: Path) -> list[dict]:
    records, corrupt = read_records(path)
    assert corrupt == 0
    return [without_wall_clock(r) for r in records]


def run_cli(args: list[str]) -> int:
    try:
        return main(args)
    except SystemExit as exc:
        return int(exc.code)


COMPARE = [
    "compare",
    "--model",
    str(MODEL),
    "--model",
    str(MODEL),
    "--preset",
    "tiny",
    "--episodes",
    "3",
    "--epochs",
    "3",
    "--device",
    "cpu",
    "--run-id",
    "same",
]


def test_compare_with_two_workers_equals_the_serial_compare(tmp_path):
    for name, extra in (("serial", []), ("parallel", ["--workers", "2"])):
        assert (
            run_cli(
                COMPARE
                + extra
                + [
                    "--record",
                    str(tmp_path / f"{name}.jsonl"),
                    "--report",
                    str(tmp_path / f"{name}.json"),
                ]
            )
            == 0
        )
    serial, parallel = (
        comparable_file(tmp_path / "serial.jsonl"),
        comparable_file(tmp_path / "parallel.jsonl"),
    )
    assert serial == parallel
    # the workers sampled their own vitals (the field is left out of the comparison above)
    records = read_records(tmp_path / "parallel.jsonl")[0]
    worker_epochs = [r for r in records if isinstance(r, EpochRecord)]
    assert worker_epochs and all(r.vitals and r.vitals.proc_rss_mb for r in worker_epochs)
    assert (tmp_path / "serial.json").read_text() == (tmp_path / "parallel.json").read_text()
    episodes = [r["episode"] for r in serial if r["kind"] == "epoch"]
    assert episodes == sorted(episodes) and set(episodes) == {1, 2, 3}  # in episode order
    # three lanes, no limit
    assert len(json.loads((tmp_path / "serial.json").read_text())["lanes"]) == 3


def test_collect_with_two_workers_equals_the_serial_collect(tmp_path):
    base = [
        "collect",
        "--preset",
        "tiny",
        "--episodes",
        "3",
        "--epochs",
        "3",
        "--epsilon",
        "0.5",
        "--device",
        "cpu",
        "--seed",
        "4",
        "--run-id",
        "same",
    ]
    for name, extra in (("serial", []), ("parallel", ["--workers", "2"])):
        assert (
            run_cli(
                base
                + extra
                + ["-o", str(tmp_path / f"{name}.npz"), "--record", str(tmp_path / f"{name}.jsonl")]
            )
            == 0
        )
    assert comparable_file(tmp_path / "serial.jsonl") == comparable_file(
        tmp_path / "parallel.jsonl"
    )
    with np.load(tmp_path / "serial.npz") as a, np.load(tmp_path / "parallel.npz") as b:
        assert sorted(a.files) == sorted(b.files)
        for key in a.files:
            assert np.array_equal(a[key], b[key]), key
        assert a["states_none"].shape == (6, 27) and a["states_full"].shape == (6, 54)
        assert np.array_equal(a["states"], a["states_seed"])


def tiny_config(episodes: int = 3, epochs: int = 2) -> RunConfig:
    return RunConfig(
        env=EnvConfig(preset="tiny", max_epochs=epochs, seed=3), episodes=episodes, run_id="t"
    )


class FaultyBackend(ProcessBackend):
    """Real worker processes; episode 2 gets a model file that is not a checkpoint."""

    def submit(self, task):
        if task.episode == 2:
            broken = Lane(LaneInfo("broken", "iql", "broken.pt"), model=b"not a checkpoint")
            task = type(task)(
                task.info, task.config, task.lanes[:1] + (broken,), task.episode, task.threads
            )
        return super().submit(task)


def test_a_failing_episode_is_recorded_with_its_traceback_and_the_others_go_on():
    records = []
    with FaultyBackend(2) as backend:
        run = run_episodes(tiny_config(), [Lane.heuristic()], records.append, backend)
    assert run.result.failed == [2]
    assert [e.episode for e in run.result.episodes] == [1, 3]
    failed = [r for r in records if isinstance(r, RunEvent) and r.event == "episode_failed"]
    assert len(failed) == 1 and failed[0].episode == 2 and "Traceback" in failed[0].traceback
    assert "episode 2 failed" in failed[0].message
    assert records[-1].event == "finished" and records[-1].data["failed"] == [2]


class DyingBackend(ProcessBackend):
    """Episode 2's worker process dies outright (as under the OOM killer)."""

    def submit(self, task):
        if task.episode == 2:
            import os

            return self._executor.submit(os._exit, 9)
        return super().submit(task)


def test_a_worker_that_dies_fails_only_its_episode():
    with DyingBackend(1) as backend:
        run = run_episodes(tiny_config(), [Lane.heuristic()], lambda r: None, backend)
    assert run.result.failed == [2]
    assert [e.episode for e in run.result.episodes] == [1, 3]


def test_an_interrupt_stops_the_workers_and_keeps_finished_episodes():
    records, workers = [], []

    def progress(state):
        workers.extend(backend._executor._processes.values())
        if state.done >= 1:
            assert state.epochs_done >= 4  # the workers' shared epoch counter reached the driver
            raise KeyboardInterrupt

    with ProcessBackend(2) as backend, pytest.raises(KeyboardInterrupt):
        run_episodes(
            tiny_config(episodes=4, epochs=4), [Lane.heuristic()], records.append, backend, progress
        )
    finished = [
        r.episode for r in records if isinstance(r, RunEvent) and r.event == "episode_finished"
    ]
    # Whichever episode of the two running finished first, it is kept, and the record stays in
    # episode order (the other's partial epochs come first, without an episode_finished).
    assert finished and finished == sorted(finished)
    order = [r.episode for r in records if isinstance(r, EpochRecord)]
    assert order == sorted(order)
    assert isinstance(records[0], RunInfo) and records[-1].event == "stopped"
    assert 4 not in {r.episode for r in records if isinstance(r, EpochRecord)}  # never started
    assert workers and not any(p.is_alive() for p in workers)


def test_without_ray_the_cli_says_how_to_install_it(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "ray", None)  # as if the cluster extra were not installed
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--model", str(MODEL), "--preset", "tiny", "--ray"])
    err = capsys.readouterr().err
    assert (
        exit_info.value.code == 2 and "pip install -e '.[cluster]'" in err and err.count("\n") == 1
    )


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--ray", "--ray-address", "auto"], "not both"),
        (["--gpus-per-episode", "0.5"], "needs --ray"),
        (["--workers", "2", "--ray"], "the cluster decides"),
        (["--workers", "0"], "0 is outside 1-1024"),
    ],
)
def test_parallel_flag_mistakes_are_one_sentence(flags, message, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["compare", "--model", str(MODEL), "--preset", "tiny"] + flags)
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and message in err and err.count("\n") == 1


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="reads child processes from /proc")
def test_sigterm_stops_the_workers_and_keeps_finished_episodes(tmp_path):
    import os
    import signal
    import subprocess
    import time

    record = tmp_path / "run.jsonl"
    args = [
        sys.executable,
        "-m",
        "esper_tui.cli.iql",
        "compare",
        "--model",
        str(MODEL),
        "--preset",
        "tiny",
        "--episodes",
        "8",
        "--epochs",
        "6",
        "--device",
        "cpu",
        "--workers",
        "2",
        "--record",
        str(record),
    ]
    process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and process.poll() is None:
        if record.exists() and '"episode_finished"' in record.read_text():
            break
        time.sleep(0.2)
    workers = _children(process.pid)
    os.kill(process.pid, signal.SIGTERM)
    _, err = process.communicate(timeout=120)
    assert process.returncode != 0 and "Traceback" not in err
    records, corrupt = read_records(record)
    assert corrupt == 0 and records[-1].event == "stopped"
    assert any(
        isinstance(r, RunEvent) and r.event == "episode_finished" and r.episode == 1
        for r in records
    )
    end = time.monotonic() + 10
    while time.monotonic() < end and any(Path(f"/proc/{pid}").exists() for pid in workers):
        time.sleep(0.2)
    # no orphans
    assert len(workers) >= 2 and not any(Path(f"/proc/{pid}").exists() for pid in workers)


def test_progress_counts_lane_epochs_and_episodes_to_the_end():
    states = []
    with InProcessBackend() as b:
        run_episodes(
            tiny_config(episodes=3, epochs=2),
            [Lane.heuristic(), Lane.heuristic("other")],
            lambda r: None,
            b,
            progress=states.append,
        )
    epochs = [s.epochs_done for s in states]
    assert epochs == sorted(epochs) and states[-1].epochs_total == 3 * 2 * 2
    assert states[-1].epochs_done == 12 and states[-1].done == 3 and states[-1].queued == 0
    assert any(s.running >= 1 for s in states) and len(states[-1].paired) == 1
