"""The hostile matrix across both CLIs: special files, existing outputs, locked records, model
files, datasets and numbers. Each case: exit code 2, exactly one line on stderr, no traceback,
nothing lost (an existing file is left byte for byte), nothing executed, nothing blocks."""

import os
import pickle
import signal
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch

from esper_tui.cli import iql as iql_cli
from esper_tui.cli import tui as cli
from esper_tui.cli.parallel import usable_cpus
from esper_tui.record_writer import RecordFile
from training.records import RunEvent

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
MODEL = FIXTURES / "tiny_iql.pt"
KEPT = b'{"kind":"event","note":"an earlier run that must survive"}\n'


class Marker:
    """Unpickling this would create the file ``executed``: proof that something ran."""

    def __reduce__(self):
        return (open, ("executed", "w"))


@pytest.fixture(autouse=True)
def no_hang():
    """Anything that blocks (a FIFO opened for reading) fails the test instead of hanging it."""

    def hung(signum, frame):
        raise TimeoutError("blocked")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(60)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


@pytest.fixture
def hostile(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    # in-process, pytest holds stdin/stdout
    monkeypatch.setattr(cli, "missing_terminal", lambda: None)
    os.mkfifo("fifo")
    server = socket.socket(socket.AF_UNIX)
    server.bind("sock")
    Path("folder").mkdir()
    Path("kept.jsonl").write_bytes(KEPT)
    Path("kept.npz").write_bytes(KEPT)
    Path("kept.pt").write_bytes(KEPT)
    Path("kept.json").write_bytes(KEPT)
    os.symlink("kept.jsonl", "link.jsonl")
    torch.save({"state_dim": 37, "q_network": Marker()}, "unsafe.pt")
    Path("unsafe_raw.pt").write_bytes(pickle.dumps({"state_dim": 37, "q_network": Marker()}))
    data = bytearray(MODEL.read_bytes())
    member = zipfile.ZipFile(MODEL).infolist()[4]  # a tensor's bytes, stored uncompressed
    data[member.header_offset + 300] ^= 0x01
    Path("bad_crc.pt").write_bytes(bytes(data))
    with open("huge.pt", "wb") as f:  # sparse: no disk used
        f.truncate(2**30 + 1)
    cifar = Path("cifar/cifar-10-batches-py")
    cifar.mkdir(parents=True)
    os.mkfifo(cifar / "data_batch_1")
    yield tmp_path
    server.close()
    assert not Path("executed").exists()
    for name in ("kept.jsonl", "kept.npz", "kept.pt", "kept.json"):
        assert Path(name).read_bytes() == KEPT, f"{name} was changed"


def one_sentence(main, argv, capsys) -> str:
    with pytest.raises(SystemExit) as caught:
        main(argv)
    out, err = capsys.readouterr()
    assert caught.value.code == 2, err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    return err


TUI = ["--preset", "tiny", "--model", str(MODEL)]
TUI_CASES = {
    "model-fifo": (["--model", "fifo"], "FIFO"),
    "model-socket": (["--model", "sock"], "socket"),
    "model-device": (["--model", "/dev/zero"], "device"),
    "model-folder": (["--model", "folder"], "directory"),
    "model-raw-pickle-executes": (["--model", "unsafe_raw.pt"], "not a torch checkpoint"),
    "model-over-1-GiB": (["--model", "huge.pt"], "MiB"),
    "model-bad-crc": (["--model", "bad_crc.pt"], "CRC"),
    "model-executes-on-unpickling": (["--model", "unsafe.pt"], "refused without running it"),
    "replay-fifo": (["--replay", "fifo"], "FIFO"),
    "follow-fifo": (["--follow", "fifo"], "FIFO"),
    "replay-socket": (["--replay", "sock"], "socket"),
    "replay-device": (["--replay", "/dev/zero"], "device"),
    "record-existing": (TUI + ["--record", "kept.jsonl"], "already exists"),
    "record-symlink": (TUI + ["--record", "link.jsonl", "--force"], "symbolic link"),
    "record-fifo": (TUI + ["--record", "fifo"], "FIFO"),
    "record-device": (TUI + ["--record", "/dev/null"], "device"),
    "record-folder": (TUI + ["--record", "folder"], "folder"),
    "record-and-no-record": (TUI + ["--record", "new.jsonl", "--no-record"], "contradict"),
    "data-dir-fifo": (["--preset", "cifar10", "--data-dir", "fifo"], "FIFO"),
    "cifar-batch-fifo": (["--preset", "cifar10", "--data-dir", "cifar"], "FIFO"),
    "seed-past-32-bits": (["--seed", str(2**32)], "32 bits"),
    "seed-negative": (["--seed", "-1"], "outside"),
    "seed-plus-episodes-past-32-bits": (
        TUI + ["--seed", str(2**32 - 1), "--episodes", "2"],
        "largest seed",
    ),
    "epochs-a-billion": (["--epochs", "1000000000"], "outside"),
    "speed-nan": (["--speed", "nan"], "nan is not a number (NaN)"),
    "speed-inf": (["--speed", "inf"], "inf is not a finite number"),
    "speed-overflow": (["--speed=1e400"], "1e400 is too large: it overflows to infinity"),
    "speed-huge": (["--speed", "1e300"], "outside"),
    "refresh-nan": (["--refresh", "nan"], "nan is not a number (NaN)"),
    "refresh-overflow": (["--refresh=1e400"], "1e400 is too large: it overflows to infinity"),
    "refresh-negative": (["--refresh=-2"], "-2 must be a positive number"),
    "slots-zero": (["--slots", "0"], "at least 1"),
}


@pytest.mark.parametrize("case", sorted(TUI_CASES))
def test_esper_tui_refuses_in_one_sentence(case, hostile, capsys):
    argv, expected = TUI_CASES[case]
    assert expected in one_sentence(cli.main, argv, capsys)


def test_a_follow_in_a_missing_folder_is_waited_for_like_a_missing_file(hostile):
    launch = cli.prepare(cli.build_parser().parse_args(["--follow", "nowhere/run.jsonl"]))
    assert launch.session is not None and not launch.controls and not Path("nowhere").exists()


def test_a_second_run_on_a_record_in_use_is_refused_naming_the_holder(hostile, capsys):
    with RecordFile(hostile / "busy.jsonl"):
        err = one_sentence(cli.main, TUI + ["--record", "busy.jsonl", "--force"], capsys)
    assert f"being written by process {os.getpid()}" in err


def test_force_replaces_a_finished_record_but_never_a_special_file(hostile, capsys):
    launch = cli.prepare(cli.build_parser().parse_args(TUI + ["--record", "kept.jsonl", "--force"]))
    launch.store.close()
    assert Path("kept.jsonl").read_bytes() == b""
    Path("kept.jsonl").write_bytes(KEPT)
    assert "device" in one_sentence(cli.main, TUI + ["--record", "/dev/null", "--force"], capsys)


def dataset(path: str, states=None, rewards=None, metadata=None, n: int = 32, dim: int = 37) -> str:
    from training.policies.offline_data import OfflineDataset

    rng = np.random.default_rng(0)
    masks = np.ones((n, 7), dtype=bool)
    s = rng.normal(size=(n, dim)).astype(np.float32) if states is None else states
    r = rng.normal(size=n).astype(np.float32) if rewards is None else rewards
    OfflineDataset(
        s,
        rng.integers(0, 7, n),
        r,
        s,
        np.zeros(n, np.float32),
        masks,
        masks,
        metadata if metadata is not None else {"feature_set": "seed"},
    ).to_npz(path)
    return path


def nan_metadata(path: str) -> str:
    dataset(path)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["metadata"] = np.asarray('{"feature_set": "seed", "x": NaN}')
    np.savez(path, **arrays)
    return path


def complex_states(path: str) -> str:
    dataset(path)
    with np.load(path) as data:
        arrays = dict(data)
    arrays["states"] = arrays["states"].astype(np.complex64)
    np.savez(path, **arrays)
    return path


IQL_CASES = {
    "collect-output-existing": (["collect", "-o", "kept.npz"], "already exists"),
    "collect-output-fifo": (["collect", "-o", "fifo"], "FIFO"),
    "collect-output-device": (["collect", "-o", "/dev/null", "--force"], "device"),
    "collect-output-folder": (["collect", "-o", "folder"], "folder"),
    "collect-record-existing": (
        ["collect", "-o", "new.npz", "--record", "kept.jsonl"],
        "already exists",
    ),
    "train-data-fifo": (["train", "fifo", "-o", "new.pt"], "FIFO"),
    "train-data-device": (["train", "/dev/zero", "-o", "new.pt"], "device"),
    "train-data-folder": (["train", "folder", "-o", "new.pt"], "folder"),
    "train-output-existing": (["train", "{good}", "-o", "kept.pt"], "already exists"),
    "train-output-device": (["train", "{good}", "-o", "/dev/null", "--force"], "device"),
    "train-width-5": (["train", "{width5}", "-o", "new.pt"], "5 features"),
    "train-huge-values": (["train", "{huge}", "-o", "new.pt"], "beyond"),
    "train-nan-metadata": (["train", "{nanmeta}", "-o", "new.pt"], "metadata"),
    "train-complex-states": (["train", "{complex}", "-o", "new.pt"], "malformed"),
    "train-lr-huge": (["train", "{good}", "-o", "new.pt", "--lr", "1e30"], "outside"),
    "train-seed-negative": (["train", "{good}", "-o", "new.pt", "--seed", "-5"], "outside"),
    "train-steps-huge": (["train", "{good}", "-o", "new.pt", "--steps", str(10**12)], "outside"),
    "train-lr-inf": (["train", "{good}", "-o", "new.pt", "--lr=inf"], "inf is not a finite number"),
    "train-beta-overflow": (["train", "{good}", "-o", "new.pt", "--beta=1e400"], "overflows"),
    "compare-threads-100000": (["compare", "--model", str(MODEL), "--threads", "100000"], "1-1024"),
    "compare-threads-past-the-cpus": (
        ["compare", "--model", str(MODEL), "--threads", str(usable_cpus() + 1)],
        f"this machine has {usable_cpus()} CPU(s) for this run",
    ),
    "collect-workers-past-the-cpus": (
        ["collect", "-o", "new.npz", "--workers", str(usable_cpus() + 1)],
        f"this machine has {usable_cpus()} CPU(s) for this run",
    ),
    "compare-report-existing": (
        ["compare", "--model", str(MODEL), "--report", "kept.json"],
        "already exists",
    ),
    "compare-model-fifo": (["compare", "--model", "fifo"], "FIFO"),
    "compare-model-executes": (["compare", "--model", "unsafe.pt"], "refused without running it"),
    "compare-record-fifo": (
        ["compare", "--model", str(MODEL), "--preset", "tiny", "--record", "fifo"],
        "FIFO",
    ),
}


@pytest.mark.parametrize("case", sorted(IQL_CASES))
def test_esper_iql_refuses_in_one_sentence(case, hostile, capsys):
    files = {
        "{good}": lambda: dataset("good.npz"),
        "{width5}": lambda: dataset("w5.npz", metadata={}, dim=5),
        "{huge}": lambda: dataset("huge.npz", rewards=np.full(32, 1e9, np.float32)),
        "{nanmeta}": lambda: nan_metadata("nanmeta.npz"),
        "{complex}": lambda: complex_states("complex.npz"),
    }
    argv, expected = IQL_CASES[case]
    argv = [files[a]() if a in files else a for a in argv]
    assert expected in one_sentence(iql_cli.main, argv, capsys)
    assert not Path("new.pt").exists() and not Path("new.npz").exists()
    assert [
        p.name for p in Path(".").glob(".*") if p.is_file()
    ] == []  # no temporary file left behind


def test_a_checkpoint_with_metadata_nested_beyond_recursion_is_one_sentence(hostile, capsys):
    checkpoint = torch.load(MODEL, weights_only=True)
    checkpoint["metadata"] = "[" * 100_000 + "]" * 100_000
    torch.save(checkpoint, "deep.pt")
    assert "metadata" in one_sentence(cli.main, ["--model", "deep.pt"], capsys)


BUSY = "busy.jsonl"
# quick, were it to run
SMALL = ["--preset", "tiny", "--episodes", "1", "--epochs", "2", "--device", "cpu"]
BUSY_CASES = {
    "collect-output": ["collect", "-o", BUSY, "--force", *SMALL],
    "collect-record": ["collect", "-o", "new.npz", "--record", BUSY, "--force", *SMALL],
    "train-output": ["train", "{good}", "-o", BUSY, "--force", "--steps", "2", "--device", "cpu"],
    "compare-report": ["compare", "--model", str(MODEL), "--report", BUSY, "--force", *SMALL],
    "compare-record": ["compare", "--model", str(MODEL), "--record", BUSY, "--force", *SMALL],
}


@pytest.mark.parametrize("case", sorted(BUSY_CASES))
def test_no_output_replaces_a_record_another_run_holds_even_with_force(case, hostile, capsys):
    argv = [dataset("good.npz") if a == "{good}" else a for a in BUSY_CASES[case]]
    with RecordFile(BUSY) as live:
        live.write(RunEvent("r", "started"))
        before = Path(BUSY).read_bytes()
        err = one_sentence(iql_cli.main, argv, capsys)
        assert f"being written by process {os.getpid()}" in err
        assert Path(BUSY).read_bytes() == before
    assert not Path("new.npz").exists()


SAME_CASES = {
    "collect-output-is-its-record": (
        ["collect", "-o", "x.npz", "--record", "x.npz", *SMALL],
        "-o and --record both name",
    ),
    "compare-report-is-its-record": (
        ["compare", "--model", str(MODEL), "--record", "s.json", "--report", "s.json"],
        "--report and --record both name",
    ),
    "compare-report-is-its-record-by-another-path": (
        ["compare", "--model", str(MODEL), "--record", "s.json", "--report", "folder/../s.json"],
        "both name",
    ),
    "compare-report-is-a-hard-link-of-its-record": (
        [
            "compare",
            "--model",
            str(MODEL),
            "--record",
            "kept.json",
            "--report",
            "alias.json",
            "--force",
        ],
        "both name",
    ),
    "compare-report-is-its-model": (
        ["compare", "--model", "m.pt", "--report", "m.pt", "--force"],
        "is also the --model",
    ),
    "train-output-is-its-dataset": (
        ["train", "{good}", "-o", "good.npz", "--force"],
        "is also the dataset",
    ),
}


@pytest.mark.parametrize("case", sorted(SAME_CASES))
def test_two_files_of_one_command_naming_one_file_are_refused_before_any_work(
    case, hostile, capsys
):
    Path("m.pt").write_bytes(MODEL.read_bytes())
    os.link("kept.json", "alias.json")
    argv, expected = SAME_CASES[case]
    argv = [dataset("good.npz") if a == "{good}" else a for a in argv]
    argv += SMALL[:2] + ["--epochs", "2", "--device", "cpu"] if argv[0] == "compare" else []
    good = Path("good.npz").read_bytes() if Path("good.npz").exists() else None
    assert expected in one_sentence(iql_cli.main, argv, capsys)
    assert not Path("x.npz").exists() and not Path("s.json").exists()
    assert Path("m.pt").read_bytes() == MODEL.read_bytes()
    assert good is None or Path("good.npz").read_bytes() == good


def test_the_dashboard_s_record_is_never_its_model(hostile, capsys):
    Path("m.pt").write_bytes(MODEL.read_bytes())
    err = one_sentence(
        cli.main, ["--preset", "tiny", "--model", "m.pt", "--record", "m.pt", "--force"], capsys
    )
    assert (
        "--record m.pt is also the --model" in err
        and Path("m.pt").read_bytes() == MODEL.read_bytes()
    )
