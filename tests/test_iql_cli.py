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


def rewrite(source, target, **changes) -> None:
    """A copy of an .npz dataset with some arrays replaced."""
    with np.load(source, allow_pickle=False) as data:
        arrays = {key: data[key] for key in data.files}
    arrays.update(changes)
    np.savez_compressed(target, **arrays)


def test_train_warns_on_fewer_transitions_than_a_batch_and_on_one_action(
    pipeline, capsys, tmp_path
):
    waits = tmp_path / "waits.npz"
    with np.load(pipeline / "d.npz", allow_pickle=False) as data:
        n = len(data["actions"])
    rewrite(pipeline / "d.npz", waits, actions=np.zeros(n, dtype=np.int64))
    code, _, err = run_cli(
        [
            "train",
            str(waits),
            "-o",
            str(tmp_path / "w.pt"),
            "--steps",
            "5",
            "--hidden",
            "8",
            "--device",
            "cpu",
        ],
        capsys,
    )
    assert code == 0
    assert f"warning: only {n} transitions, fewer than one batch of 256" in err
    assert f"warning: {n} of {n} transitions (100%) are WAIT" in err


@pytest.mark.parametrize(
    ("name", "what"), [("c.jsonl", "a JSON-lines record"), ("m.pt", "a PyTorch checkpoint")]
)
def test_train_names_a_file_that_is_not_a_dataset_and_never_advises_unpickling(
    name, what, pipeline, capsys, tmp_path
):
    code, _, err = run_cli(["train", str(pipeline / name), "-o", str(tmp_path / "x.pt")], capsys)
    assert code == 2 and err.count("\n") == 1
    assert f"{pipeline / name} is {what}, not an .npz dataset" in err
    assert "pickle" not in err


def test_compare_prints_agreement_per_lane(pipeline, capsys):
    code, out, _ = run_cli(
        [
            "compare",
            "--model",
            str(pipeline / "m.pt"),
            "--model",
            str(pipeline / "m2.pt"),
            "--preset",
            "tiny",
            "--episodes",
            "1",
            "--epochs",
            "2",
            "--device",
            "cpu",
        ],
        capsys,
    )
    assert code == 0, out
    lines = [
        line.strip()
        for line in out.splitlines()
        if "agrees with the heuristic on the same states" in line
    ]
    assert [line.split(":")[0] for line in lines] == ["m", "m2"]
    assert all(line.endswith("of 2)") for line in lines)


def test_progress_labels_stay_whole_and_the_eta_settles():
    from rich.console import Console

    from esper_tui.cli.progress import ProgressBars, SteadyETAColumn

    console = Console(width=60, record=True, file=__import__("io").StringIO())
    bars = ProgressBars("info", "eta", name_width=8, console=console)  # as ablate's
    for label in ("collect", "train", "compare"):
        bars.add(
            label,
            total=10,
            completed=3,
            info="iql_27 +0.00 [+0.0, +0.0]  iql_37 +0.05 [-0.1, +0.2]  bc -0.02",
        )
    progress = bars._progress  # noqa: SLF001 - its table, drawn once at a fixed width
    console.print(progress.make_tasks_table(progress.tasks))
    text = console.export_text()
    assert all(label in text for label in ("collect", "train", "compare")) and "…" not in text
    task = progress.tasks[0]
    task.start_time, task.completed, task.total = 0.0, 100.0, 500.0  # 100 of 500 in 10 s
    task._get_time = lambda: 10.0  # noqa: SLF001 - a fixed clock
    assert SteadyETAColumn().render(task).plain == "0:00:40"
