"""``esper-tui``: every bad input exits 2 with one sentence, before the terminal is touched."""

import pickle
import subprocess
import sys
from pathlib import Path

import pytest

from esper_tui.cli import tui as cli

FIXTURES = Path(__file__).resolve().parent / "fixtures"
MODEL = FIXTURES / "tiny_iql.pt"


class Boom:
    def __reduce__(self):
        return (print, ("this must never run",))


@pytest.fixture(autouse=True)
def a_terminal(monkeypatch):
    """These tests check what is refused before the terminal is taken over, in-process, where
    pytest holds stdin and stdout: stand in a terminal."""
    monkeypatch.setattr(cli, "missing_terminal", lambda: None)


@pytest.fixture
def files(tmp_path):
    (tmp_path / "corrupt.pt").write_bytes(b"\x80\x04not really a checkpoint")
    (tmp_path / "unsafe.pt").write_bytes(pickle.dumps({"state_dim": 37, "q_network": Boom()}))
    (tmp_path / "binary.jsonl").write_bytes(b"\x00\x01\x02")
    (tmp_path / "used.jsonl").write_text('{"kind":"event"}\n')
    (tmp_path / "a_folder").mkdir()
    return tmp_path


CASES = [
    (["--model", "{tmp}/missing.pt"], "does not exist"),
    (["--model", "{tmp}/corrupt.pt"], "corrupt.pt"),
    (["--model", "{tmp}/unsafe.pt"], "unsafe.pt"),
    (["--model", "{tmp}/a_folder"], "a_folder"),
    (["--model", str(MODEL), "--model", str(MODEL), "--model", str(MODEL)], "at most two"),
    (["--preset", "cifar10"], "--data-dir"),
    (["--preset", "cifar10", "--data-dir", "{tmp}/nowhere"], "pass --download"),
    (["--replay", "{tmp}/missing.jsonl"], "does not exist"),
    (["--replay", "{tmp}/a_folder"], "is a folder"),
    (["--follow", "{tmp}/binary.jsonl"], "binary"),
    (["--replay", str(FIXTURES / "run.jsonl"), "--model", str(MODEL)], "cannot be combined"),
    (
        ["--replay", str(FIXTURES / "run.jsonl"), "--follow", str(FIXTURES / "run.jsonl")],
        "cannot be combined",
    ),
    (["--epochs", "0"], "outside 1-"),
    (["--episodes", "-2"], "outside 1-"),
    (["--slots", "4"], "3 injection points"),
    (["--slots", "x"], "not a whole number"),
    (["--refresh", "0"], "positive number"),
    (["--refresh", "100"], "outside 0.5-30"),
    (["--device", "cuda:7"], "CUDA"),
    (["--device", "gpu"], "unknown device"),
    (["--record", "{tmp}/used.jsonl", "--model", str(MODEL)], "already exists"),
    (["--record", "{tmp}/no/such/dir/r.jsonl", "--model", str(MODEL)], "does not exist"),
    (["--mode", "solo"], "invalid choice"),
    (["--runs", "{tmp}/nowhere"], "does not exist"),
    (["--runs", "{tmp}/used.jsonl"], "not a folder"),
    (["--runs", "{tmp}", "--model", str(MODEL)], "cannot be combined with --model"),
    (["--runs", "{tmp}", "--replay", str(FIXTURES / "run.jsonl")], "cannot be combined"),
]


@pytest.mark.parametrize(("args", "message"), CASES, ids=[" ".join(a)[:40] for a, _ in CASES])
def test_bad_input_exits_2_with_one_sentence(args, message, files, capsys):
    argv = [a.replace("{tmp}", str(files)) for a in args]
    with pytest.raises(SystemExit) as exit_info:
        cli.main(argv)
    assert exit_info.value.code == 2
    out, err = capsys.readouterr()
    assert out == ""  # nothing drawn: the terminal was never taken over
    assert message in err and err.startswith("esper-tui: error: ")
    assert err.count("\n") == 1 and "Traceback" not in err


def test_the_unsafe_pickle_never_runs(files, capsys):
    with pytest.raises(SystemExit):
        cli.main(["--model", str(files / "unsafe.pt")])
    out, err = capsys.readouterr()
    assert "this must never run" not in out + err


def test_a_real_process_in_a_terminal_leaves_it_untouched_on_bad_input(files):
    from hostile.ptyrun import run_in_pty

    argv = [sys.executable, "-m", "esper_tui.cli", "--model", str(files / "missing.pt")]
    result = run_in_pty(
        argv,
        {"PATH": "/usr/bin:/bin", "TERM": "xterm-256color"},
        lambda _: False,
        None,
        timeout=120,
    )
    assert result.code == 2 and b"\x1b[" not in result.screen
    lines = result.screen.decode().strip().splitlines()
    assert len(lines) == 1 and "missing.pt" in lines[0] and lines[0].endswith("does not exist.")


def test_without_a_terminal_there_is_no_tui_but_one_sentence_saying_what_to_run(tmp_path):
    """Under a job scheduler or ``timeout`` (</dev/null >out 2>err) the TUI would write escape
    codes to a file and never read a key: it refuses at once, exit 2, naming the headless way."""
    argv = [sys.executable, "-m", "esper_tui.cli", "--preset", "tiny", "--model", str(MODEL)]
    with open(tmp_path / "out", "w") as out, open(tmp_path / "err", "w") as err:
        result = subprocess.run(
            argv, stdin=subprocess.DEVNULL, stdout=out, stderr=err, timeout=60, cwd=tmp_path
        )
    out, err = (tmp_path / "out").read_text(), (tmp_path / "err").read_text()
    assert result.returncode == 2 and out == "" and "\x1b" not in err
    lines = err.strip().splitlines()
    assert (
        len(lines) == 1
        and "esper-tui needs a terminal, and its stdin, stdout and stderr are not terminals"
        in lines[0]
    )
    assert "esper-iql compare --record FILE" in lines[0] and "esper-tui --follow FILE" in lines[0]
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "err",
        "out",
    ]  # no record, no runs/ folder


def test_help_documents_every_flag():
    text = cli.build_parser().format_help()
    for flag in (
        "--model",
        "--mode",
        "--episodes",
        "--epochs",
        "--preset",
        "--data-dir",
        "--download",
        "--device",
        "--slots",
        "--seed",
        "--record",
        "--no-record",
        "--replay",
        "--follow",
        "--speed",
        "--refresh",
        "--runs",
    ):
        assert flag in text


def test_default_record_goes_to_a_new_file_in_runs(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    launch = cli.prepare(cli.build_parser().parse_args(["--model", str(MODEL), "--preset", "tiny"]))
    assert launch.record_path.parent == Path("runs") and launch.record_path.suffix == ".jsonl"
    assert launch.record_path.exists() and launch.controls
    launch.store.close()


def test_runs_without_a_folder_lists_runs_here(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as exit_info:
        cli.main(["--runs"])
    assert exit_info.value.code == 2
    assert "runs folder runs does not exist" in capsys.readouterr().err
    (tmp_path / "runs").mkdir()
    launch = cli.prepare(cli.build_parser().parse_args(["--runs"]))
    assert launch.runs_folder == Path("runs") and launch.session is None


def test_in_a_terminal_with_stdin_redirected_it_names_stdin(tmp_path):
    from hostile.ptyrun import run_in_pty

    command = f"exec {sys.executable} -m esper_tui.cli --preset tiny --model {MODEL} </dev/null"
    result = run_in_pty(
        ["/bin/sh", "-c", command],
        {"PATH": "/usr/bin:/bin", "TERM": "xterm-256color"},
        lambda _: False,
        None,
        timeout=60,
    )
    assert result.code == 2 and b"\x1b[" not in result.screen
    assert "esper-tui needs a terminal, and its stdin is not one;" in result.screen.decode()
