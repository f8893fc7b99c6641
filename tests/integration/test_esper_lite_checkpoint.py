"""A checkpoint saved by esper-lite's own trainer (a plain ``torch.save`` of the plan's keys plus
its ``metrics``) loads and acts in ``esper-iql compare`` and in the live dashboard, reads the raw
inputs esper-lite fed it, and its metrics reach the record."""

from __future__ import annotations

import json

import torch

from esper_tui.app import EsperApp
from esper_tui.cli.iql import main as iql_main
from esper_tui.cli.lanes import load_model_lanes
from esper_tui.replay import read_records
from esper_tui.screens.detail import model_text
from esper_tui.session import TrainerThread
from esper_tui.store import TelemetryStore
from training.env.actions import ACTION_DIM
from training.env.environment import EnvConfig
from training.records import EpochRecord, RunInfo
from training.runs.config import RunConfig
from training.runs.lanes import Lane

METRICS = {"agreement": 0.58, "q_improvement": 2.4, "action_counts": [40, 3, 2, 1, 0, 5, 9]}


def esper_lite_checkpoint(path, state_dim: int = 37, hidden: int = 16) -> None:
    """What esper-lite's ``simic`` IQL writes: its networks' state dicts and hyperparameters."""
    torch.manual_seed(0)

    def mlp(out_dim: int) -> dict:
        net = torch.nn.Sequential(
            torch.nn.Linear(state_dim, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, hidden),
            torch.nn.ReLU(),
            torch.nn.Linear(hidden, out_dim),
        )
        return {f"net.{k}": v for k, v in net.state_dict().items()}

    torch.save(
        {
            "q_network": mlp(ACTION_DIM),
            "v_network": mlp(1),
            "state_dim": state_dim,
            "action_dim": ACTION_DIM,
            "gamma": 0.99,
            "tau": 0.7,
            "beta": 3.0,
            "metrics": METRICS,
        },
        path,
    )


def test_compare_runs_an_esper_lite_checkpoint_on_raw_inputs(tmp_path, capsys):
    esper_lite_checkpoint(tmp_path / "lite.pt")
    code = iql_main(
        [
            "compare",
            "--model",
            str(tmp_path / "lite.pt"),
            "--preset",
            "tiny",
            "--episodes",
            "1",
            "--epochs",
            "2",
            "--device",
            "cpu",
            "--report",
            str(tmp_path / "r.json"),
            "--record",
            str(tmp_path / "r.jsonl"),
        ]
    )
    assert code == 0, capsys.readouterr()
    records, corrupt = read_records(tmp_path / "r.jsonl")
    assert corrupt == 0
    lane = next(li for li in records[0].lanes if li.name == "lite")
    assert (
        isinstance(records[0], RunInfo) and lane.model_format == "plan" and lane.metrics == METRICS
    )
    decisions = [r.decision for r in records if isinstance(r, EpochRecord) and r.lane == "lite"]
    assert [d.features[0] for d in decisions] == [1.0, 2.0]  # the raw epoch, as esper-lite fed it
    assert all(d.z_scores is None and len(d.range_excess) == 37 for d in decisions)
    assert json.loads((tmp_path / "r.json").read_text())["lanes"]["lite"]


async def test_the_dashboard_runs_an_esper_lite_checkpoint(tmp_path):
    esper_lite_checkpoint(tmp_path / "lite.pt", state_dim=27)
    store = TelemetryStore(tmp_path / "run.jsonl")
    lanes = [Lane.heuristic(), *load_model_lanes([str(tmp_path / "lite.pt")], "cpu")]
    thread = TrainerThread(
        RunConfig(env=EnvConfig(preset="tiny", max_epochs=2), episodes=1), lanes, store
    )
    app = EsperApp(store, thread, refresh_hz=20, record_path=tmp_path / "run.jsonl")
    async with app.run_test(size=(140, 45)) as pilot:
        while store.view().status != "FINISHED":
            await pilot.pause(0.05)
        view = store.view()
        assert view.run.lanes[-1].metrics == METRICS
        decision = view.lane("lite").latest.decision
        assert decision.q_values is not None and decision.features[0] == 2.0
        # the seed detail's line naming the format and metrics
        shown = model_text(view, "lite").plain
        assert (
            "esper-lite (plan) checkpoint" in shown
            and "agreement 0.58" in shown
            and "[40, 3, 2" in shown
        )
        await pilot.press("escape", "q")
