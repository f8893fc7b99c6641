"""The plan's question in one run: does IQL decide better with 27 (no telemetry), 37 (seed
telemetry) or 54 (legacy) inputs?

One behaviour collection stores every transition under all three feature sets; IQL is trained on
each, and a behaviour-cloning baseline on the seed features; then every policy and the
heuristic play the same paired episodes (seeds disjoint from the collection's). The report
gives, per policy: final accuracy (mean ± sd), the paired difference against the heuristic with
its 95 % CI, W/T/L, the sign test, agreement with the heuristic on the same states, and the
seed parameters its growth added (the table: ``training.runs.ablation_table``).
"""

from __future__ import annotations

import copy
import statistics
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from training.env.features import ALL_FEATURE_SETS, FEATURE_SETS
from training.policies.checkpoint import save_checkpoint
from training.policies.iql import IQLConfig
from training.policies.offline_data import OfflineDataset
from training.policies.trainer import TrainResult, train_offline
from training.records import LaneInfo, Record
from training.runs.collect import collect
from training.runs.comparison import Sink
from training.runs.config import RunConfig
from training.runs.driver import Backend, EpisodeRun, Progress, run_episodes
from training.runs.lanes import Lane
from training.runs.tally import PolicyTally
from training.util.safe_io import write_or_rescue

BC_FEATURES = "seed"
# Each model's name and the feature set it reads: IQL on every set, BC on the seed features.
MODEL_SETS = {f"iql_{FEATURE_SETS[fs]}": fs for fs in ALL_FEATURE_SETS} | {"bc": BC_FEATURES}


@dataclass(frozen=True)
class AblationConfig:
    collect: RunConfig  # the behaviour episodes (their seeds: collect.env.seed onwards)
    compare: RunConfig  # the paired evaluation episodes
    epsilon: float = 0.3
    steps: int = 5000
    iql: IQLConfig = field(default_factory=lambda: IQLConfig(hidden=128))
    train_seed: int = 0
    threads: int = 1
    train_device: str = "cpu"


@dataclass
class PolicyRow:
    """One policy's row of the report."""

    name: str
    kind: str  # heuristic, iql, bc
    feature_set: str | None
    inputs: int | None
    final_accuracy: list[float]
    params_added: list[int]
    agreement: float | None
    paired: dict | None = None

    def to_dict(self) -> dict:
        acc = self.final_accuracy
        return {
            "name": self.name,
            "kind": self.kind,
            "feature_set": self.feature_set,
            "inputs": self.inputs,
            "final_accuracy": acc,
            "final_accuracy_mean": statistics.fmean(acc) if acc else None,
            "final_accuracy_sd": statistics.stdev(acc) if len(acc) > 1 else None,
            "params_added": self.params_added,
            "params_added_mean": statistics.fmean(self.params_added) if self.params_added else None,
            "agreement_with_heuristic": self.agreement,
            "paired_vs_heuristic": self.paired,
        }


@dataclass
class AblationResult:
    rows: list[PolicyRow]
    data_path: Path
    models: dict[str, Path]
    transitions: int
    training: dict[str, dict]
    comparison: EpisodeRun

    def to_dict(self, config: AblationConfig) -> dict:
        env = config.compare.env
        return {
            "question": "27 (none) vs 37 (seed) vs 54 (full) inputs, and BC, against the heuristic",
            "preset": env.preset,
            "epochs": env.max_epochs,
            "slots": env.slots,
            "data_seed": env.data_seed,
            "collect": {
                "episodes": config.collect.episodes,
                "first_seed": config.collect.env.seed,
                "epsilon": config.epsilon,
                "transitions": self.transitions,
                "data": str(self.data_path),
            },
            "train": {
                "steps": config.steps,
                "hidden": config.iql.hidden,
                "tau": config.iql.tau,
                "beta": config.iql.beta,
                "seed": config.train_seed,
                "per_model": self.training,
            },
            "compare": {
                "episodes": config.compare.episodes,
                "first_seed": env.seed,
                "finished": len(self.comparison.result.episodes),
                "failed": self.comparison.result.failed,
                "stopped": self.comparison.result.stopped,
            },
            "models": {name: str(path) for name, path in self.models.items()},
            "policies": [row.to_dict() for row in self.rows],
        }


def train_all(
    data: Path,
    out: Path,
    config: AblationConfig,
    progress: Callable[[str, int, int], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[dict[str, Path], dict[str, dict]]:
    """IQL on every stored feature set and BC on the seed set; checkpoints into ``out``. A set
    ``stop`` raises ``AblationStopped`` at the next step, keeping the models already written."""
    models: dict[str, Path] = {}
    summaries: dict[str, dict] = {}
    for fs in ALL_FEATURE_SETS:
        dataset = OfflineDataset.from_npz(data, fs)

        def stopped(step: int, fs: str = fs) -> AblationStopped:
            kept = ", ".join(path.name for path in models.values())
            return AblationStopped(
                f"while training IQL on the '{fs}' features at step {step}; kept {data}"
                + (f" and {kept}" if kept else "")
                + "; nothing was compared"
            )

        def report(step: int, losses: dict, fs: str = fs) -> None:
            if stop is not None and stop.is_set():
                raise stopped(step, fs)
            if progress is not None:
                progress(fs, step, config.steps)

        result = train_offline(
            dataset,
            config.steps,
            config.iql,
            seed=config.train_seed,
            progress=report,
            device=config.train_device,
            stop=stop,
        )
        if (
            stop is not None and stop.is_set()
        ):  # stopped between two blocks of steps: no half-trained model
            raise stopped(len(result.history))
        metadata = dict(
            dataset.metadata,
            trained_steps=config.steps,
            train_seed=config.train_seed,
            source=str(data),
        )
        name = f"iql_{FEATURE_SETS[fs]}"
        models[name] = out / f"{name}.pt"
        _save_model(models[name], result.iql, result, fs, metadata | {"policy": "iql"})
        summaries[name] = {
            "feature_set": fs,
            "agreement_with_data": result.agreement["iql"],
            "actions": list(result.action_counts["iql"]),
        }
        if fs == BC_FEATURES:
            models["bc"] = out / "bc.pt"
            _save_model(
                models["bc"], _bc_in_policy_slot(result), result, fs, metadata | {"policy": "bc"}
            )
            summaries["bc"] = {
                "feature_set": fs,
                "agreement_with_data": result.agreement["bc"],
                "actions": list(result.action_counts["bc"]),
            }
    models["bc"] = models.pop("bc")  # rows: IQL 27, 37, 54, then the BC baseline
    return models, summaries


def _save_model(path: Path, agent, result: TrainResult, feature_set: str, metadata: dict) -> None:
    """A checkpoint into the ablation's folder; a failed write says why and where it went instead."""
    write_or_rescue(
        path,
        lambda tmp: save_checkpoint(tmp, agent, result.normalizer, feature_set, metadata),
        f"the model {path.stem}",
    )


def _bc_in_policy_slot(result: TrainResult):
    """The BC baseline as a checkpoint that acts like BC: its network in the policy slot (the
    masked argmax acts on it); Q and V are the IQL's of the same run, shown but not acted on."""
    agent = copy.deepcopy(result.iql)
    assert agent.policy_network is not None  # the ablation trains every IQL with its policy network
    agent.policy_network.load_state_dict(result.bc.policy_network.state_dict())
    return agent


def compare_all(
    config: AblationConfig,
    models: dict[str, Path],
    sink: Sink,
    backend: Backend,
    progress: Callable[[Progress], None] | None = None,
    stop: threading.Event | None = None,
) -> tuple[EpisodeRun, PolicyTally]:
    """Every model and the heuristic on the same paired episodes."""
    lanes = [Lane.heuristic()]
    for name, path in models.items():
        fs = MODEL_SETS[name]
        info = LaneInfo(name, "bc" if name == "bc" else "iql", str(path), FEATURE_SETS[fs], fs)
        lanes.append(Lane(info, model=path.read_bytes()))
    tally = PolicyTally()

    def both(record: Record) -> None:
        tally(record)
        sink(record)

    run = run_episodes(
        replace(config.compare, mode="head-to-head"),
        lanes,
        both,
        backend,
        progress=progress,
        threads=config.threads,
        stop=stop,
    )
    return run, tally


def score(run: EpisodeRun, tally: PolicyTally) -> list[PolicyRow]:
    result = run.result
    episodes = [e.episode for e in result.episodes]
    paired = {p.lane: p.to_dict() for p in result.paired}
    rows = []
    for lane in result.lanes:
        kind = "heuristic" if lane == "heuristic" else ("bc" if lane == "bc" else "iql")
        fs = MODEL_SETS.get(lane)
        rows.append(
            PolicyRow(
                lane,
                kind,
                fs,
                FEATURE_SETS.get(fs or ""),
                result.accuracies(lane),
                tally.params_added(lane, episodes),
                tally.agreement(lane),
                paired.get(lane),
            )
        )
    return rows


class AblationStopped(Exception):
    """A stop request ended the ablation before its comparison; the message says what was kept."""


def run_ablation(
    config: AblationConfig,
    out: Path,
    backend_factory: Callable[[], Backend],
    collect_sink: Sink,
    compare_sink: Sink,
    progress: Callable[[str, object], None] | None = None,
    stop: threading.Event | None = None,
    on_stage: Callable[[str], None] | None = None,
) -> AblationResult:
    """Collect once, train every model, compare them all; files go into the folder ``out``.
    ``backend_factory`` gives a fresh backend for each fan-out (collection, comparison).

    ``stop`` (a signal) ends it at the next batch or training step and keeps what is finished:
    during the collection, the finished episodes in ``data.npz``; during training, the data and
    the models already trained (both raise ``AblationStopped``); during the comparison, the
    paired episodes that finished, whose report comes back with ``comparison.result.stopped``.
    ``on_stage(name)`` is called as each stage begins ("collect", "train", "compare"): the CLI
    lets a signal end the training stage at once (a step of a large network takes minutes, and
    what training keeps is already on disk)."""

    def stage(name: str) -> Callable:
        return lambda state: progress(name, state) if progress is not None else None

    begin = on_stage if on_stage is not None else (lambda name: None)
    begin("collect")
    with backend_factory() as backend:
        transitions, metadata = collect(
            config.collect,
            config.epsilon,
            BC_FEATURES,
            collect_sink,
            stop_event=stop,
            backend=backend,
            progress=stage("collect"),
            threads=config.threads,
        )
    data = out / "data.npz"
    if metadata.get("interrupted"):
        if len(transitions) == 0:
            raise AblationStopped(
                "during the collection, before any behaviour episode finished; nothing was kept"
            )
        write_or_rescue(data, transitions.to_npz, "the behaviour data")
        raise AblationStopped(
            f"during the collection; kept its {metadata['episodes']} finished behaviour "
            f"episode(s) in {data}; no model was trained"
        )
    if len(transitions) == 0:
        raise ValueError("no behaviour episode finished, so there is nothing to train on")
    write_or_rescue(data, transitions.to_npz, "the behaviour data")
    begin("train")
    models, training = train_all(
        data, out, config, lambda fs, step, total: stage("train")((fs, step, total)), stop
    )
    begin("compare")
    with backend_factory() as backend:
        run, tally = compare_all(config, models, compare_sink, backend, stage("compare"), stop)
    return AblationResult(score(run, tally), data, models, len(transitions), training, run)
