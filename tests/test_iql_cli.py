"""``esper-iql`` end to end on tiny settings, and its bad inputs."""

import json
import subprocess
import sys

import numpy as np
import pytest

from esper_tui.cli.iql import main
from esper_tui.replay import read_records
from training.records import EpochRecord, RunInfo


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory):
    """collect -> train once for the module; returns the folder."""
    folder = tmp_path_factory.mktemp("iql")
    assert (
        main(
            [
                "collect",
                "-o",
                str(folder / "d.npz"),
                "--preset",
                "tiny",
                "--episodes",
                "2",
                "--epochs",
                "5",
                "--epsilon",
                "0.6",
                "--seed",
                "1",
                "--device",
                "cpu",
                "--record",
                str(folder / "c.jsonl"),
            ]
        )
        == 0
    )
    assert (
        main(
            [
                "train",
                str(folder / "d.npz"),
                "-o",
                str(folder / "m.pt"),
                "--steps",
                "30",
                "--hidden",
                "16",
                "--batch-size",
                "16",
                "--device",
                "cpu",
            ]
        )
        == 0
    )
    return folder


def test_collect_writes_transitions_with_metadata(pipeline):
    data = np.load(pipeline / "d.npz", allow_pickle=False)
    assert data["states"].shape == (8, 37) and data["next_states"].shape == (8, 37)
    assert data["masks"].shape == (8, 7) and data["dones"].sum() == 2  # one terminal per episode
    meta = json.loads(str(data["metadata"]))
    assert meta["feature_set"] == "seed" and meta["preset"] == "tiny" and meta["seeds"] == [1, 2]
    assert all(data["masks"][np.arange(8), data["actions"]])  # every action was valid where taken
    records, corrupt = read_records(pipeline / "c.jsonl")
    assert corrupt == 0 and isinstance(records[0], RunInfo)


def test_train_prints_histograms_and_agreement(pipeline, capsys):
    code, out, _ = run_cli(
        [
            "train",
            str(pipeline / "d.npz"),
            "-o",
            str(pipeline / "m2.pt"),
            "--steps",
            "10",
            "--hidden",
            "8",
            "--batch-size",
            "8",
            "--device",
            "cpu",
        ],
        capsys,
    )
    assert code == 0
    for label in (
        "action histogram, data:",
        "action histogram, IQL:",
        "action histogram, BC:",
        "agreement with the data",
    ):
        assert label in out
    assert (pipeline / "m2.pt").stat().st_size > 0


def test_compare_writes_report_and_replayable_record(pipeline, capsys, tmp_path):
    code, out, _ = run_cli(
        [
            "compare",
            "--model",
            str(pipeline / "m.pt"),
            "--preset",
            "tiny",
            "--episodes",
            "2",
            "--epochs",
            "2",
            "--device",
            "cpu",
            "--report",
            str(tmp_path / "r.json"),
            "--record",
            str(tmp_path / "r.jsonl"),
        ],
        capsys,
    )
    assert code == 0, out
    report = json.loads((tmp_path / "r.json").read_text())
    assert set(report["lanes"]) == {"heuristic", "m"}
    assert report["paired"][0]["episodes"] == 2 and "m vs heuristic" in out
    records, corrupt = read_records(tmp_path / "r.jsonl")
    epochs = [r for r in records if isinstance(r, EpochRecord)]
    assert corrupt == 0 and len(epochs) == 2 * 2 * 2
    iql = [r for r in epochs if r.lane == "m"]
    assert all(r.decision.q_values is not None and len(r.decision.q_values) == 7 for r in iql)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["compare", "--model", "missing.pt"], "missing.pt"),
        (["compare", "--model", "m.pt", "--epochs", "0"], "outside 1-"),
        (["compare", "--model", "m.pt", "--slots", "4"], "3 injection points"),
        (["compare", "--model", "m.pt", "--preset", "cifar10"], "--data-dir"),
        (
            ["compare", "--model", "m.pt", "--preset", "cifar10", "--data-dir", "nowhere"],
            "--download",
        ),
        (["compare", "--model", "m.pt", "--device", "tpu"], "unknown device"),
        (["compare", "--model", "m.pt", "--mode", "solo"], "invalid choice"),
        (["collect", "-o", "x.npz", "--epsilon", "2"], "between 0 and 1"),
        (["collect", "-o", "x.npz", "--epochs", "1"], "at least 2 epochs"),
        (["collect", "-o", "no/such/dir/x.npz"], "does not exist"),
        (["train", "missing.npz", "-o", "x.pt"], "missing.npz"),
        (["train", "junk.npz", "-o", "x.pt"], "junk.npz"),
        (["compare", "--model", "junk.npz"], "junk.npz"),
    ],
)
def test_bad_input_exits_2_with_one_sentence(args, message, pipeline, capsys, monkeypatch):
    monkeypatch.chdir(pipeline)
    (pipeline / "junk.npz").write_bytes(b"this is not an archive")
    code, out, err = run_cli(args, capsys)
    assert code == 2
    assert message in err
    assert err.count("\n") == 1 and "Traceback" not in err


def test_console_script_is_installed():
    result = subprocess.run(
        [sys.executable, "-m", "esper_tui.cli.iql", "--help"], capture_output=True, text=True
    )
    assert result.returncode == 0 and "collect" in result.stdout and "compare" in result.stdout
