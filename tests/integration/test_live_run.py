"""A real tiny run in the trainer thread, watched by the real app: data reaches the screen for
every lane, pausing a seed freezes its parameters, quitting leaves a complete, replayable record."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import torch

import training.runs.comparison as comparison
from esper_tui.app import EsperApp
from esper_tui.replay import read_records, replay_all
from esper_tui.session import TrainerThread
from esper_tui.store import TelemetryStore
from training.env.environment import EnvConfig, MorphogeneticEnv
from training.policies.checkpoint import IQLPolicy
from training.policies.heuristic import HeuristicPolicy, HeuristicPolicyConfig
from training.records import EpochRecord, LaneInfo, RunEvent, RunInfo
from training.runs.comparison import RunConfig
from training.runs.lanes import Lane
from widgets import Scoreboard

MODEL = Path(__file__).resolve().parents[1] / "fixtures" / "tiny_iql.pt"
EAGER = HeuristicPolicyConfig(
    min_epochs_before_germinate=1,
    plateau_epochs_to_germinate=0,
    epochs_to_fossilize=1,
    min_training_epochs=50,
)
SIZE = (140, 45)


def lanes() -> list[Lane]:
    iql = IQLPolicy(MODEL, name="tiny_iql")
    return [
        Lane.playing(HeuristicPolicy(EAGER, name="heuristic"), LaneInfo("heuristic", "heuristic")),
        Lane.playing(
            iql,
            LaneInfo(
                "tiny_iql",
                "iql",
                str(MODEL),
                iql.state_dim,
                iql.telemetry_type,
                tuple(iql.feature_names),
            ),
        ),
    ]


async def until(pilot, predicate, timeout: float = 60.0) -> None:
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while not predicate():
        assert loop.time() < end, "timed out waiting for the trainer"
        await pilot.pause(0.05)


def epochs(store: TelemetryStore, lane: str) -> list[EpochRecord]:
    view = store.view().lane(lane)
    return [] if view is None else list(view.epochs)


async def test_every_lane_reaches_the_screen(tmp_path):
    store = TelemetryStore(tmp_path / "run.jsonl")
    config = RunConfig(env=EnvConfig(preset="tiny", max_epochs=3), episodes=1)
    thread = TrainerThread(config, lanes(), store)
    app = EsperApp(store, thread, refresh_hz=20, record_path=tmp_path / "run.jsonl")
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: store.view().status == "FINISHED")
        await pilot.pause(0.2)
        text = str(app.query_one(Scoreboard).render())
        for lane in ("heuristic", "tiny_iql"):
            assert len(epochs(store, lane)) == 3
            assert lane in text
        await pilot.press("escape", "q")
    assert not thread.is_alive()


async def test_pausing_a_seed_freezes_its_parameters(tmp_path, monkeypatch):
    envs: list[MorphogeneticEnv] = []

    class Watched(MorphogeneticEnv):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            envs.append(self)

    monkeypatch.setattr(comparison, "MorphogeneticEnv", Watched)
    store = TelemetryStore(tmp_path / "run.jsonl")
    config = RunConfig(env=EnvConfig(preset="tiny", max_epochs=40), episodes=1)
    thread = TrainerThread(config, lanes()[:1], store)
    app = EsperApp(store, thread, refresh_hz=20, record_path=tmp_path / "run.jsonl")
    async with app.run_test(size=SIZE) as pilot:
        await until(
            pilot,
            lambda: any(r.seeds[0].stage_name == "TRAINING" for r in epochs(store, "heuristic")),
        )
        await pilot.press("p")  # the selected card: heuristic, slot 0
        await until(pilot, lambda: epochs(store, "heuristic")[-1].seeds[0].paused)
        slot = envs[0].model.slot(0)
        frozen = [p.detach().clone() for p in slot.seed.parameters()]
        seen = epochs(store, "heuristic")[-1].epoch
        await until(pilot, lambda: epochs(store, "heuristic")[-1].epoch >= seen + 2)
        assert all(torch.equal(a, b) for a, b in zip(frozen, slot.seed.parameters(), strict=True))
        record = epochs(store, "heuristic")[-1].seeds[0]
        assert record.paused and not record.gradients_measured
        await pilot.press("p")  # resume: it learns again
        await until(pilot, lambda: not epochs(store, "heuristic")[-1].seeds[0].paused)
        await until(pilot, lambda: epochs(store, "heuristic")[-1].seeds[0].gradients_measured)
        assert not all(
            torch.equal(a, b) for a, b in zip(frozen, slot.seed.parameters(), strict=True)
        )
        await pilot.press("q")
    assert not thread.is_alive()


@pytest.mark.parametrize(("quit_key", "code"), [("q", 0), ("ctrl+c", 130)])
async def test_quitting_leaves_a_complete_replayable_record(tmp_path, quit_key, code):
    path = tmp_path / "run.jsonl"
    store = TelemetryStore(path)
    config = RunConfig(env=EnvConfig(preset="tiny", max_epochs=30), episodes=2)
    thread = TrainerThread(config, lanes(), store)
    app = EsperApp(store, thread, refresh_hz=20, record_path=path)
    async with app.run_test(size=SIZE) as pilot:
        await until(pilot, lambda: len(epochs(store, "tiny_iql")) >= 2)
        await pilot.press(quit_key)
    assert not thread.is_alive() and app.return_code == code
    records, corrupt = read_records(path)
    assert corrupt == 0
    assert isinstance(records[0], RunInfo)
    assert isinstance(records[-1], RunEvent) and records[-1].event == "stopped"
    replayed = TelemetryStore(source="replay")
    replay_all(path, replayed)
    assert [r.epoch for r in epochs(replayed, "tiny_iql")] == [
        r.epoch for r in epochs(store, "tiny_iql")
    ]
