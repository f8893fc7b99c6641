"""A stop signal is answered at once, whatever the main thread is doing: the headless commands'
``StopSignals`` (a watcher thread woken by the C-level handler), the driver's short grace for
workers that do not return, and training that stops within a step."""

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from training.runs.backends import ProcessBackend
from training.runs.driver import run_episodes
from training.runs.lanes import Lane
from training.util.stopping import StopFlag

ROOT = Path(__file__).resolve().parents[2]
CODES = {signal.SIGINT: 130, signal.SIGTERM: 143, signal.SIGHUP: 129}


def script(body: str) -> subprocess.Popen:
    """A Python process running ``body`` under ``StopSignals``; it prints "ready" when set."""
    code = textwrap.dedent(
        """
        import os, subprocess, sys, time
        from esper_tui.stop_signals import StopSignals
        with StopSignals("demo") as signals:
        """
    ) + textwrap.indent(textwrap.dedent(body), "    ")
    return subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=dict(os.environ, PYTHONPATH=str(ROOT)),
    )


def answered(
    proc: subprocess.Popen, *signals: int, gap: float = 0.3
) -> tuple[float, int, str, str]:
    """Wait for "ready", send the signals, and return (seconds from the last one to the exit,
    exit code, stdout, stderr)."""
    assert proc.stdout.readline().strip() == "ready"
    for i, sig in enumerate(signals):
        if i:
            time.sleep(gap)
        sent = time.monotonic()
        proc.send_signal(sig)
    out, err = proc.communicate(timeout=30)
    return time.monotonic() - sent, proc.returncode, out, err


@pytest.mark.parametrize("sig", list(CODES), ids=lambda s: signal.Signals(s).name)
def test_before_anything_is_made_a_signal_ends_the_process_at_once_even_inside_a_long_call(sig):
    """The main thread is inside one long C call (a sleep standing for importing torch or
    building a model): the signal is still answered, with one sentence and its exit code."""
    proc = script(
        """
        signals.at_once(lambda: "before the run began; nothing was written")
        print("ready", flush=True)
        import threading
        threading.Event().wait(60)
        """
    )
    seconds, code, _, err = answered(proc, sig)
    print(f"{signal.Signals(sig).name} answered in {seconds:.3f} s")
    assert code == CODES[sig] and seconds < 2.0
    assert (
        err
        == f"demo: interrupted by {signal.Signals(sig).name}: before the run began; nothing was written\n"
    )


def test_leaving_at_once_ends_the_processes_it_started():
    proc = script(
        """
        child = subprocess.Popen(["sleep", "60"])
        print(child.pid, flush=True)
        print("ready", flush=True)
        time.sleep(60)
        """
    )
    child = int(proc.stdout.readline())
    _, code, _, _ = answered(proc, signal.SIGTERM)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{child}").exists() and time.monotonic() < deadline:
        try:
            os.waitpid(child, os.WNOHANG)  # not ours to reap; /proc says whether it still runs
        except ChildProcessError:
            pass
        time.sleep(0.05)
    state = (
        Path(f"/proc/{child}/stat").read_text().split()[2]
        if Path(f"/proc/{child}").exists()
        else "gone"
    )
    assert code == 143 and state in ("gone", "Z")  # killed (a zombie until init reaps it)


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (signal.SIGTERM, signal.SIGTERM),
        (signal.SIGHUP, signal.SIGHUP),
        (signal.SIGINT, signal.SIGTERM),
    ],
    ids=["TERM-TERM", "HUP-HUP", "INT-TERM"],
)
def test_once_work_runs_a_first_signal_asks_to_stop_and_a_second_one_hurries_it(first, second):
    """The work then ends itself (writing what finished): the exit code is the last signal's."""
    proc = script(
        """
        signals.at_once(None)
        print("ready", flush=True)
        assert signals.stop.wait(10)
        print("stop", signals.stop.reason, flush=True)
        assert signals.stop.urgent.wait(10)
        print("urgent", flush=True)
        sys.exit(signals.code)
        """
    )
    seconds, code, out, err = answered(proc, first, second)
    assert out.splitlines() == [f"stop by {signal.Signals(first).name}", "urgent"], err
    assert code == CODES[second] and seconds < 2.0


def test_a_signal_that_came_while_work_ran_ends_at_once_when_nothing_is_left_to_keep():
    proc = script(
        """
        signals.at_once(None)
        print("ready", flush=True)
        assert signals.stop.wait(10)
        signals.at_once(lambda: "nothing to keep")
        time.sleep(30)
        """
    )
    seconds, code, _, err = answered(proc, signal.SIGHUP)
    assert code == 129 and err == "demo: interrupted by SIGHUP: nothing to keep\n" and seconds < 2.0


def tiny_config(episodes: int, epochs: int):
    from training.env.environment import EnvConfig
    from training.runs.config import RunConfig

    return RunConfig(
        env=EnvConfig(preset="tiny", max_epochs=epochs, device="cpu"), episodes=episodes
    )


@pytest.mark.parametrize("urgent", [False, True], ids=["grace", "second-signal"])
def test_workers_still_starting_are_ended_within_the_grace_and_at_once_on_a_second_stop(urgent):
    """Workers busy building their image task (seconds; more on a loaded machine) cannot
    return a partial episode: the driver ends them after a short grace, or at once when the
    stop is asked for twice, and still writes the stopped event."""
    from training.env.data import DataConfig

    stop = StopFlag()
    records = []
    slow = DataConfig(preset="synthetic", seed=123)  # each worker builds 16,000 images as it starts
    with ProcessBackend(2, data=slow) as backend:

        def signals() -> None:  # as the watcher thread would, on a first and a second signal
            stop.request("by test")
            if urgent:
                time.sleep(0.1)
                stop.hurry()

        threading.Timer(1.0, signals).start()
        start = time.monotonic()
        run = run_episodes(
            tiny_config(4, 3), [Lane.heuristic()], records.append, backend, stop=stop
        )
        seconds = time.monotonic() - start - 1.0
    print(f"stopped {'(twice)' if urgent else ''} {seconds:.2f} s after the request")
    assert (
        run.result.stopped
        and records[-1].event == "stopped"
        and records[-1].message == "stopped by test"
    )
    assert seconds < (1.0 if urgent else 2.0)


def test_training_stops_within_a_step_not_a_block_of_steps():
    from training.policies.iql import IQLConfig
    from training.policies.trainer import OfflineTrainer

    rng = np.random.default_rng(0)
    n, masks = 64, np.ones((64, 7), dtype=bool)
    data = {
        "states": rng.normal(size=(n, 37)).astype(np.float32),
        "actions": rng.integers(0, 7, n),
        "rewards": rng.normal(size=n).astype(np.float32),
        "next_states": rng.normal(size=(n, 37)).astype(np.float32),
        "dones": np.zeros(n, np.float32),
        "masks": masks,
        "next_masks": masks,
        "metadata": {"feature_set": "seed"},
    }
    trainer = OfflineTrainer(data, IQLConfig(hidden=8, batch_size=8))
    stop = threading.Event()
    step = trainer.iql.step

    def counting(batch):
        if len(counted) == 2:
            stop.set()  # as a signal would, during the third step of a block of 100
        counted.append(1)
        return step(batch)

    counted: list[int] = []
    trainer.iql.step = counting
    seen = []
    trainer.run(1000, lambda s, losses: seen.append(s), stop)
    assert len(trainer.history) == 3 and seen == [1, 2, 3]
