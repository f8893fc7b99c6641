"""A stop signal ends ``esper-iql ablate`` at its next batch or training step, in any stage,
and keeps what had finished."""

import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
import pytest

from training.env.environment import EnvConfig
from training.policies.iql import IQLConfig
from training.records import RunEvent
from training.runs.ablation import AblationConfig, AblationStopped, run_ablation
from training.runs.ablation_table import markdown
from training.runs.config import RunConfig
from training.runs.driver import InProcessBackend

ROOT = Path(__file__).resolve().parents[1]


def config(collect_episodes: int = 2) -> AblationConfig:
    compare = RunConfig(
        env=EnvConfig(preset="tiny", max_epochs=3, seed=0, device="cpu"), episodes=2
    )
    collect = RunConfig(
        env=EnvConfig(preset="tiny", max_epochs=3, seed=100, device="cpu"),
        episodes=collect_episodes,
    )
    return AblationConfig(collect=collect, compare=compare, steps=20, iql=IQLConfig(hidden=8))


def ablate(out: Path, stop: threading.Event, collect_sink=None, compare_sink=None, progress=None):
    return run_ablation(
        config(),
        out,
        lambda: InProcessBackend(stop_event=stop),
        collect_sink or (lambda r: None),
        compare_sink or (lambda r: None),
        progress,
        stop,
    )


def after_episodes(stop: threading.Event, n: int):
    """A sink that raises ``stop`` once ``n`` episodes have finished."""
    seen = []

    def sink(record) -> None:
        if isinstance(record, RunEvent) and record.event == "episode_finished":
            seen.append(record.episode)
            if len(seen) >= n:
                stop.set()

    return sink


def test_a_stop_before_any_episode_finished_keeps_nothing_and_says_so(tmp_path):
    stop = threading.Event()
    stop.set()
    with pytest.raises(AblationStopped, match="before any behaviour episode finished"):
        ablate(tmp_path, stop)
    assert not (tmp_path / "data.npz").exists()


def test_a_stop_during_the_collection_keeps_its_finished_episodes(tmp_path):
    stop = threading.Event()
    with pytest.raises(AblationStopped, match="kept its 1 finished behaviour episode") as caught:
        ablate(tmp_path, stop, collect_sink=after_episodes(stop, 1))
    assert "no model was trained" in str(caught.value)
    with np.load(tmp_path / "data.npz") as data:
        assert data["dones"].sum() == 1 and json.loads(str(data["metadata"]))["interrupted"]
    assert not list(tmp_path.glob("*.pt"))


def test_a_stop_during_training_keeps_the_models_already_trained(tmp_path):
    stop = threading.Event()

    def progress(stage: str, state) -> None:
        if stage == "train" and state[0] == "seed" and state[1] >= 5:
            stop.set()

    with pytest.raises(AblationStopped, match="training IQL on the 'seed' features") as caught:
        ablate(tmp_path, stop, progress=progress)
    assert "iql_27.pt" in str(caught.value) and "nothing was compared" in str(caught.value)
    assert sorted(p.name for p in tmp_path.glob("*.pt")) == ["iql_27.pt"]


def test_a_stop_during_the_comparison_reports_the_paired_episodes_that_finished(tmp_path):
    stop = threading.Event()
    result = ablate(tmp_path, stop, compare_sink=after_episodes(stop, 1))
    assert result.comparison.result.stopped and len(result.comparison.result.episodes) == 1
    assert "**Interrupted:** 1 of 2 paired episodes finished." in markdown(result, config())
    assert result.to_dict(config())["compare"]["stopped"] is True


def test_sigterm_interrupts_the_ablate_command_with_one_sentence(tmp_path):
    out = tmp_path / "abl"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "esper_tui.cli.iql",
            "ablate",
            "-o",
            str(out),
            "--preset",
            "tiny",
            "--collect-episodes",
            "30",
            "--epochs",
            "3",
            "--device",
            "cpu",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    record = out / "collect.jsonl"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if record.exists() and '"episode_finished"' in record.read_text():
            break
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 143 and "Traceback" not in err
    assert (
        "ablation interrupted by SIGTERM during the collection; kept its"
        in err.strip().splitlines()[-1]
    )
    assert (
        out / "data.npz"
    ).exists() and '"stopped by SIGTERM"' in record.read_text().splitlines()[-1]
    assert not (out / "compare.jsonl").exists()  # the comparison never began: no empty record of it
