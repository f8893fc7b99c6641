"""The plan's two entry points, ``head_to_head_comparison`` and ``live_comparison``, with the
signatures and result keys its scripts use; both run through the one episode driver."""

from __future__ import annotations

from training.env.config import EnvConfig
from training.policies.iql_policy import IQLPolicy
from training.runs.comparison import Sink
from training.runs.config import RunConfig
from training.runs.driver import run_in_process
from training.runs.lanes import Lane
from training.runs.scorekeeper import ComparisonResult


def _compare(
    model_path: str, config: RunConfig, device: str, sink: Sink | None
) -> ComparisonResult:
    policy = IQLPolicy(model_path, name="iql", device=device)
    lanes = [Lane.heuristic(), Lane.playing(policy, policy.lane_info())]
    return run_in_process(config, lanes, sink or (lambda record: None))


def head_to_head_comparison(
    model_path: str,
    n_episodes: int = 5,
    max_epochs: int = 25,
    device: str = "cpu",
    preset: str = "synthetic",
    seed: int = 0,
    slots: int = 3,
    sink: Sink | None = None,
    data_seed: int = 0,
) -> dict:
    """The plan's head-to-head: the heuristic and the IQL model each train their own identical
    copy of every episode. Wins need a margin of more than 0.5 points; the rest are ties."""
    env = EnvConfig(
        preset=preset,
        seed=seed,
        max_epochs=max_epochs,
        slots=slots,
        device=device,
        data_seed=data_seed,
    )
    result = _compare(model_path, RunConfig(env=env, episodes=n_episodes), device, sink)
    paired = result.paired[0]
    return {
        "heuristic_accuracies": result.accuracies("heuristic"),
        "iql_accuracies": result.accuracies("iql"),
        "iql_wins": paired.wins,
        "heuristic_wins": paired.losses,
        "ties": paired.ties,
        "heuristic_actions": result.action_counts("heuristic"),
        "iql_actions": result.action_counts("iql"),
        "agreement_rate": result.agreement_rate(),
        "paired": paired.to_dict(),
    }


def live_comparison(
    model_path: str,
    n_episodes: int = 5,
    max_epochs: int = 25,
    device: str = "cpu",
    preset: str = "synthetic",
    seed: int = 0,
    slots: int = 3,
    sink: Sink | None = None,
    data_seed: int = 0,
) -> dict:
    """The plan's live comparison: the heuristic controls training while the IQL model says what
    it would do on the same state; reports how often they agree."""
    env = EnvConfig(
        preset=preset,
        seed=seed,
        max_epochs=max_epochs,
        slots=slots,
        device=device,
        data_seed=data_seed,
    )
    config = RunConfig(env=env, episodes=n_episodes, mode="shadow", executing_lane="heuristic")
    result = _compare(model_path, config, device, sink)
    return {
        "accuracies": result.accuracies("heuristic"),
        "agreement_rate": result.agreement_rate(),
        "agreements": sum(e.agreements for e in result.episodes),
        "decisions": sum(e.decisions for e in result.episodes),
        "heuristic_actions": result.action_counts("heuristic"),
        "iql_actions": result.action_counts("iql"),
    }
