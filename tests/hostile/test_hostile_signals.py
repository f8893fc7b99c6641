"""SIGINT, SIGTERM, SIGHUP and ctrl+c end every command cleanly: the real CLIs in subprocesses
(the TUI in a pseudo-terminal), checked by their exit code, their record and the terminal."""

import json
import os
import re
import select
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from ptyrun import ALT_SCREEN_OFF, MOUSE_OFF, run_in_pty

from esper_tui.replay import read_records
from training.records import EpochRecord, RunEvent, RunInfo

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "tests" / "fixtures" / "tiny_iql.pt"
FIXTURE = ROOT / "tests" / "fixtures" / "run.jsonl"
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


def env() -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1", TERM="xterm-256color")
    e.pop("TEXTUAL", None)
    return e


def epochs_in(path: Path) -> int:
    try:
        return path.read_text().count('"kind":"epoch"')
    except OSError:
        return 0


def assert_stopped_and_replayable(path: Path, why: str) -> list:
    """``why``: who the record's last event says stopped the run ("SIGTERM")."""
    records, corrupt = read_records(path)
    assert corrupt == 0
    assert isinstance(records[0], RunInfo) and any(isinstance(r, EpochRecord) for r in records)
    assert isinstance(records[-1], RunEvent) and records[-1].event == "stopped"
    assert records[-1].message == f"stopped by {why}"
    return records


TUI = [
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
    str(MODEL),
    "--refresh",
    "10",
]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_tui_signal_stops_flushes_restores_the_terminal_and_exits_by_convention(tmp_path, sig):
    record = tmp_path / "run.jsonl"
    result = run_in_pty(
        TUI + ["--record", str(record)], env(), lambda _: epochs_in(record) >= 1, sig
    )
    assert result.code == CODES[sig]
    assert ALT_SCREEN_OFF in result.screen and MOUSE_OFF in result.screen
    assert b"Traceback" not in result.screen and b"terminate called" not in result.screen
    assert_stopped_and_replayable(record, sig.name)


def test_tui_killed_outright_leaves_every_finished_line_replayable(tmp_path):
    record = tmp_path / "run.jsonl"
    seen = []

    def two_epochs(_: bytes) -> bool:
        seen.append(epochs_in(record))
        return seen[-1] >= 2

    result = run_in_pty(TUI + ["--record", str(record)], env(), two_epochs, signal.SIGKILL)
    assert result.code == -signal.SIGKILL
    records, corrupt = read_records(record)
    assert corrupt == 0 and sum(isinstance(r, EpochRecord) for r in records) >= seen[-1]


def test_tui_ctrl_c_key_exits_130_with_the_record_closed(tmp_path):
    record = tmp_path / "run.jsonl"
    result = run_in_pty(
        TUI + ["--record", str(record)], env(), lambda _: epochs_in(record) >= 1, b"\x03"
    )
    assert result.code == 130 and ALT_SCREEN_OFF in result.screen
    assert_stopped_and_replayable(record, "operator (ctrl+c)")


def test_tui_whose_terminal_closes_gets_sighup_and_keeps_its_record(tmp_path):
    record = tmp_path / "run.jsonl"
    result = run_in_pty(
        TUI + ["--record", str(record)], env(), lambda _: epochs_in(record) >= 1, None
    )
    assert result.code == 129
    assert_stopped_and_replayable(record, "SIGHUP")


@pytest.mark.parametrize("kind", ["live", "replay"])
def test_tui_whose_terminal_goes_away_without_a_sighup_ends_promptly(tmp_path, kind):
    """A pane or tmux server killed while the shell in it ignores SIGHUP (or, like dash, does
    not pass it on): the kernel tells only the session leader, the app sees its terminal hang
    up (reads end, writes fail). It used to spin at 50 % CPU for ever; it must end the way
    SIGHUP does, its record closed with a stopped event."""
    record, code_file = tmp_path / "run.jsonl", tmp_path / "code"
    app = TUI + ["--record", str(record)]
    if kind == "replay":
        app = [sys.executable, "-m", "esper_tui.cli", "--replay", str(FIXTURE), "--speed", "2"]
    inner = " ".join(f"'{a}'" for a in app)
    shell = ["/bin/sh", "-c", f"trap '' HUP; {inner}; echo $? > '{code_file}'"]
    hung_up = []

    def ready(screen: bytes) -> bool:
        if epochs_in(record) >= 1 if kind == "live" else b"REPLAY" in screen:
            hung_up.append(time.monotonic())  # run_in_pty closes the terminal right after
            return True
        return False

    result = run_in_pty(shell, env(), ready, None, timeout=150)
    assert hung_up and result.code == 0, "the app outlived its terminal (killed at the timeout)"
    print(f"{kind}: ended {time.monotonic() - hung_up[0]:.2f} s after its terminal went away")
    assert code_file.read_text().strip() == "129"
    if kind == "live":
        assert_stopped_and_replayable(record, "a hangup (its terminal went away)")


def test_tui_sigterm_ends_it_even_when_its_terminal_stops_reading(tmp_path):
    """A terminal that stops reading (a frozen ssh session, a suspended terminal emulator)
    fills the pty: Textual's writer blocks, and the event loop with it, so a signal handler
    that waits for the loop never runs. SIGTERM must still end the app, its record closed."""
    import fcntl
    import pty
    import struct
    import termios

    record = tmp_path / "run.jsonl"
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvpe(TUI[0], TUI + ["--record", str(record)], env())
        finally:
            os._exit(127)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    deadline = time.monotonic() + 120
    try:
        while epochs_in(record) < 1 and time.monotonic() < deadline:
            if select.select([fd], [], [], 0.1)[0]:
                os.read(fd, 65536)
        time.sleep(3.0)  # nothing read any more: the screen's updates fill the terminal
        os.kill(pid, signal.SIGTERM)
        sent = time.monotonic()
        while time.monotonic() < sent + 60:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pytest.fail("SIGTERM was not answered within 60 s")
    finally:
        os.close(fd)
    seconds = time.monotonic() - sent
    print(f"ended {seconds:.2f} s after SIGTERM")
    assert os.waitstatus_to_exitcode(status) == 143
    # Restoring a terminal that does not read can never finish: the app leaves once its loop
    # stops answering for 1.5 s (it used to wait a fixed 5 s, or for ever if the loop was stuck).
    assert seconds < 4.5
    assert_stopped_and_replayable(record, "SIGTERM")


def write_dataset(path: Path, n: int = 64, dim: int = 37) -> None:
    from training.policies.offline_data import OfflineDataset

    rng = np.random.default_rng(0)
    masks = np.ones((n, 7), dtype=bool)
    OfflineDataset(
        rng.normal(size=(n, dim)).astype(np.float32),
        rng.integers(0, 7, n),
        rng.normal(size=n),
        rng.normal(size=(n, dim)).astype(np.float32),
        np.zeros(n, np.float32),
        masks,
        masks,
        {"feature_set": "seed"},
    ).to_npz(path)


@pytest.mark.parametrize(
    "sig", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: s.name
)
def test_a_headless_command_stops_at_the_next_boundary_on_each_signal(sig):
    from esper_tui.stop_signals import StopSignals

    before = signal.getsignal(signal.SIGTERM)  # another test in this worker may have set one
    with StopSignals() as signals:
        signals.at_once(None)  # the work has begun: stop gracefully
        os.kill(os.getpid(), sig)
        assert signals.stop.wait(5) and signals.code == CODES[sig]
        # a second signal: stop waiting, with its own exit code
        os.kill(os.getpid(), signal.SIGTERM)
        assert signals.stop.urgent.wait(5) and signals.code == 143
    assert signal.getsignal(signal.SIGTERM) == before  # put back as it was


def iql(args: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "esper_tui.cli.iql", *args],
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def signal_when(
    proc: subprocess.Popen, ready, sig: int, timeout: float = 60.0
) -> tuple[int, str, str]:
    deadline = time.monotonic() + timeout
    while not ready() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=60)
    return proc.returncode, out, err


def last_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert "Traceback" not in err
    return lines[-1]


@pytest.mark.parametrize("sig", [signal.SIGHUP], ids=lambda s: s.name)
def test_interrupted_collect_writes_its_finished_episodes_and_says_how_many(tmp_path, sig):
    record = tmp_path / "c.jsonl"
    proc = iql(
        [
            "collect",
            "-o",
            "d.npz",
            "--preset",
            "tiny",
            "--episodes",
            "30",
            "--epochs",
            "3",
            "--device",
            "cpu",
            "--record",
            str(record),
        ],
        tmp_path,
    )
    code, _, err = signal_when(
        proc, lambda: '"episode_finished"' in (record.read_text() if record.exists() else ""), sig
    )
    assert code == CODES[sig]
    records = assert_stopped_and_replayable(record, sig.name)
    finished = sum(isinstance(r, RunEvent) and r.event == "episode_finished" for r in records)
    assert f"wrote the {finished} finished episode(s), {2 * finished} transitions" in last_line(err)
    data = np.load(tmp_path / "d.npz", allow_pickle=False)
    assert data["states"].shape == (2 * finished, 37) and data["dones"].sum() == finished
    assert json.loads(str(data["metadata"]))["episodes"] == finished


def test_interrupted_train_writes_no_checkpoint(tmp_path):
    write_dataset(tmp_path / "d.npz")
    argv = [
        sys.executable,
        "-m",
        "esper_tui.cli.iql",
        "train",
        str(tmp_path / "d.npz"),
        "-o",
        str(tmp_path / "m.pt"),
        "--steps",
        "100000000",
        "--hidden",
        "8",
        "--batch-size",
        "4",
        "--device",
        "cpu",
    ]
    stepping = re.compile(rb"[1-9][0-9]*00/100000000")  # the bar has counted blocks of steps
    result = run_in_pty(
        argv, env(), lambda screen: bool(stepping.search(screen)), signal.SIGTERM, timeout=180
    )
    tail = result.screen.decode(errors="replace").splitlines()[-1]
    assert result.code == 143 and "Traceback" not in result.screen.decode(errors="replace")
    assert re.search(
        r"esper-iql: interrupted by SIGTERM: after [0-9]+ training step\(s\); no checkpoint was written",
        tail,
    ), tail
    assert not (tmp_path / "m.pt").exists() and list(tmp_path.glob(".m.pt*")) == []


def test_interrupted_compare_closes_its_record_and_writes_the_report(tmp_path):
    record = tmp_path / "r.jsonl"
    proc = iql(
        [
            "compare",
            "--model",
            str(MODEL),
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
            "--report",
            "rep.json",
        ],
        tmp_path,
    )
    code, _, err = signal_when(proc, lambda: epochs_in(record) >= 1, signal.SIGTERM)
    assert code == 143 and "interrupted by SIGTERM" in last_line(err)
    assert_stopped_and_replayable(record, "SIGTERM")
    assert json.loads((tmp_path / "rep.json").read_text())["stopped"] is True
