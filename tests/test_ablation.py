"""``esper-iql ablate`` end to end on tiny settings, and the datasets that hold every feature set."""

import json

import numpy as np
import pytest

from esper_tui.cli.iql import main
from esper_tui.replay import read_records
from training.policies.checkpoint import load_checkpoint
from training.policies.offline_data import OfflineDataset
from training.records import RunEvent


def run_cli(args: list[str], capsys) -> tuple[int, str, str]:
    try:
        code = main(args)
    except SystemExit as exc:
        code = exc.code
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def ablation(tmp_path_factory):
    out = tmp_path_factory.mktemp("ablation") / "run"
    code = main(
        [
            "ablate",
            "-o",
            str(out),
            "--preset",
            "tiny",
            "--collect-episodes",
            "2",
            "--episodes",
            "2",
            "--epochs",
            "3",
            "--steps",
            "40",
            "--hidden",
            "16",
            "--device",
            "cpu",
        ]
    )
    assert code == 0
    return out


def test_ablate_writes_one_row_per_policy_with_the_paired_statistics(ablation):
    report = json.loads((ablation / "ablation.json").read_text())
    rows = {row["name"]: row for row in report["policies"]}
    assert list(rows) == ["heuristic", "iql_27", "iql_37", "iql_54", "bc"]
    assert [rows[n]["inputs"] for n in ("iql_27", "iql_37", "iql_54", "bc")] == [27, 37, 54, 37]
    for name in ("iql_27", "iql_37", "iql_54", "bc"):
        paired = rows[name]["paired_vs_heuristic"]
        assert (
            paired["episodes"] == 2
            and paired["ci_low"] <= paired["mean_difference"] <= paired["ci_high"]
        )
        assert (
            paired["wins"] + paired["ties"] + paired["losses"] == 2
            and 0 <= paired["sign_test_p"] <= 1
        )
        assert (
            0.0 <= rows[name]["agreement_with_heuristic"] <= 1.0
            and len(rows[name]["params_added"]) == 2
        )
    assert (
        rows["heuristic"]["paired_vs_heuristic"] is None
        and len(rows["heuristic"]["final_accuracy"]) == 2
    )
    table = (ablation / "ablation.md").read_text()
    assert (
        table.count("\n| ") == 6
        and "| IQL (none) | 27 |" in table
        and "| BC (seed) | 37 |" in table
    )
    # Every paired row carries its power: paired sd, detectable effect, episodes for ±0.5.
    assert "| paired sd | detects | episodes for ±0.5 |" in table
    for name in ("iql_27", "bc"):
        paired = rows[name]["paired_vs_heuristic"]
        assert {"sd", "detectable_effect", "episodes_needed", "cs_low", "decided"} <= set(paired)


def test_ablate_trains_each_model_on_its_own_inputs_and_keeps_replayable_records(ablation):
    for name, fs in (("iql_27", "none"), ("iql_37", "seed"), ("iql_54", "full"), ("bc", "seed")):
        model = load_checkpoint(ablation / f"{name}.pt")
        assert model.feature_set == fs
    assert load_checkpoint(ablation / "bc.pt").metadata["policy"] == "bc"
    records, corrupt = read_records(ablation / "compare.jsonl")
    finished = [r for r in records if isinstance(r, RunEvent) and r.event == "episode_finished"]
    assert corrupt == 0 and [r.episode for r in finished] == [1, 2]
    behaviour, _ = read_records(ablation / "collect.jsonl")
    assert behaviour[0].seed == 100  # behaviour episodes apart from the compared seeds 0, 1


def test_train_picks_a_stored_feature_set(ablation, tmp_path, capsys):
    code, out, _ = run_cli(
        [
            "train",
            str(ablation / "data.npz"),
            "-o",
            str(tmp_path / "m.pt"),
            "--features",
            "none",
            "--steps",
            "5",
            "--hidden",
            "8",
            "--batch-size",
            "4",
            "--device",
            "cpu",
        ],
        capsys,
    )
    assert code == 0 and "27 features ('none')" in out
    assert load_checkpoint(tmp_path / "m.pt").state_dim == 27


def test_an_old_dataset_with_only_states_still_loads_in_its_own_set(ablation, tmp_path):
    with np.load(ablation / "data.npz") as data:
        old = {
            k: data[k]
            for k in (
                "states",
                "actions",
                "rewards",
                "next_states",
                "dones",
                "masks",
                "next_masks",
                "metadata",
            )
        }
    np.savez(tmp_path / "old.npz", **old)
    assert OfflineDataset.from_npz(tmp_path / "old.npz").state_dim == 37
    assert OfflineDataset.from_npz(tmp_path / "old.npz", "seed").state_dim == 37
    with pytest.raises(ValueError, match="holds no 'full' states"):
        OfflineDataset.from_npz(tmp_path / "old.npz", "full")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--collect-seed", "1", "--seed", "0", "--episodes", "3"], "overlap"),
        (["--epochs", "1"], "at least 2 epochs"),
        (
            ["--collect-seed", "4294967295", "--collect-episodes", "2"],
            "runs past 4294967295, the largest seed",
        ),
        (["--lr", "inf"], "inf is not a finite number"),
        (["--hidden", "100000"], "100000 is outside 1-8192"),
    ],
)
def test_ablate_mistakes_are_one_sentence(args, message, tmp_path, capsys):
    code, _, err = run_cli(
        ["ablate", "-o", str(tmp_path / "new"), "--preset", "tiny"] + args, capsys
    )
    assert code == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--train-seed", "-1"], "0-4294967295"),
        (["--train-seed", str(2**32)], "0-4294967295"),
        (["--collect-seed", str(2**32)], "0-4294967295"),
        (["--collect-seed", str(2**32 - 2), "--collect-episodes", "3"], "runs past 4294967295"),
        (["--steps", str(10**8 + 1)], "outside 1-100000000"),
        (["--hidden", "8193"], "outside 1-8192"),
        (["--lr", "11"], "outside"),
        (["--beta", "1001"], "outside"),
        (["--collect-episodes", "100001"], "outside 1-100000"),
    ],
)
def test_ablate_takes_the_training_flags_with_trains_bounds(args, message, tmp_path, capsys):
    code, _, err = run_cli(
        ["ablate", "-o", str(tmp_path / "new"), "--preset", "tiny"] + args, capsys
    )
    assert code == 2 and message in err and err.count("\n") == 1
    assert not (tmp_path / "new").exists()  # refused before any work


def test_ablate_refuses_a_folder_that_holds_files(ablation, capsys):
    code, _, err = run_cli(["ablate", "-o", str(ablation), "--preset", "tiny"], capsys)
    assert code == 2 and "not empty" in err


def test_the_bc_lane_records_its_own_policy_and_no_q(ablation):
    """BC has no Q: its decisions carry policy "bc" and its own probabilities, never the Q, V
    and advantage of the IQL model whose checkpoint slots it shares."""
    records, _ = read_records(ablation / "compare.jsonl")
    info = records[0]
    assert {lane.name: lane.policy_kind for lane in info.lanes}["bc"] == "bc"
    decisions = [r.decision for r in records if getattr(r, "decision", None) is not None]
    bc = [d for d in decisions if d.lane == "bc"]
    iql = {(d.episode, d.epoch): d for d in decisions if d.lane == "iql_37"}
    assert bc and all(
        d.policy == "bc" and d.q_values is None and d.value is None and d.advantage is None
        for d in bc
    )
    assert all(d.probabilities is not None and abs(sum(d.probabilities) - 1) < 1e-4 for d in bc)
    assert any(d.probabilities != iql[(d.episode, d.epoch)].probabilities for d in bc)
    assert all(d.reason.startswith(("masked BC policy", "only ")) for d in bc)


def test_ablate_refuses_a_symbolic_link_and_a_file_as_its_folder(tmp_path, capsys):
    (tmp_path / "real").mkdir()
    (tmp_path / "link").symlink_to(tmp_path / "real")
    (tmp_path / "file").write_text("x")
    code, _, err = run_cli(["ablate", "-o", str(tmp_path / "link"), "--preset", "tiny"], capsys)
    assert code == 2 and "is a symbolic link" in err and err.count("\n") == 1
    code, _, err = run_cli(["ablate", "-o", str(tmp_path / "file"), "--preset", "tiny"], capsys)
    assert code == 2 and "is a regular file, not a folder" in err and err.count("\n") == 1
