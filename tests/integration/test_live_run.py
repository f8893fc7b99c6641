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
from training.policies.heuristic import HeuristicPolicy, HeuristicPolicyConfig
from training.policies.iql_policy import IQLPolicy
from training.records import EpochRecord, LaneInfo, RunEvent, RunInfo
from training.runs.config import RunConfig
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
    # The seed's parameters as each epoch ends, taken in the trainer thread. Cloning them from
    # the UI thread raced the trainer: its sharpness estimate (diagnostics.sharpness_of) adds
    # noise to every weight, a paused seed's too, and restores them exactly before the epoch
    # ends, so a clone taken meanwhile held noisy weights that no later read could match.
    ends: dict[int, tuple[bool, list[torch.Tensor]]] = {}

    class Watched(MorphogeneticEnv):
        def train_epoch(self, *args, **kwargs):
            result = super().train_epoch(*args, **kwargs)
            slot = self.model.slot(0)
            if slot.seed is not None:
                ends[self.epoch] = (
                    slot.is_paused,
                    [p.detach().clone() for p in slot.seed.parameters()],
                )
            return result

    def same(a: list[torch.Tensor], b: list[torch.Tensor]) -> bool:
        return all(torch.equal(x, y) for x, y in zip(a, b, strict=True))

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
        # The pause applies at a batch boundary (or before the decision), so the parameters
        # at the end of the epoch whose record first says paused are those it froze.
        paused_at = epochs(store, "heuristic")[-1].epoch
        await until(pilot, lambda: epochs(store, "heuristic")[-1].epoch >= paused_at + 2)
        frozen = ends[paused_at][1]
        for epoch in (paused_at + 1, paused_at + 2):
            assert ends[epoch][0] and same(frozen, ends[epoch][1]), f"epoch {epoch} moved it"
        record = epochs(store, "heuristic")[-1].seeds[0]
        assert record.paused and not record.gradients_measured
        await pilot.press("p")  # resume: it learns again
        await until(pilot, lambda: not epochs(store, "heuristic")[-1].seeds[0].paused)
        await until(pilot, lambda: epochs(store, "heuristic")[-1].seeds[0].gradients_measured)
        learnt = epochs(store, "heuristic")[-1].epoch
        assert not ends[learnt][0] and not same(frozen, ends[learnt][1])
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
