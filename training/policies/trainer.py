"""Training IQL and its behaviour-cloning baseline offline, on the same batches of one dataset:
``OfflineTrainer`` (resumable, deterministic for a seed and device), ``train_offline`` (one
call) and ``TrainResult`` (the agents, the normaliser, the losses and what each would choose).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from dataclasses import dataclass, field

import torch
from torch import Tensor

from training.env.actions import ACTION_DIM
from training.env.features import FEATURE_SETS, FeatureNormalizer, feature_set_for_dim
from training.policies.device_data import DeviceData, fit_normalizer
from training.policies.iql import IQL, IQL_STATS, BehaviourCloning, IQLConfig
from training.policies.offline_data import OfflineDataset
from training.policies.subnormals import flush_denormals, zero_negligible_moments


@dataclass
class TrainResult:
    """What ``train_offline`` produced. ``action_counts`` holds per-action counts over the
    dataset's states: of the data ("data"), and of what IQL and BC would choose there."""

    iql: IQL
    bc: BehaviourCloning
    normalizer: FeatureNormalizer
    feature_set: str
    history: list[dict[str, float]] = field(default_factory=list)
    action_counts: dict[str, tuple[int, ...]] = field(default_factory=dict)
    # Share of the dataset's states on which IQL / BC choose the action the data took.
    agreement: dict[str, float] = field(default_factory=dict)


TRAIN_STATS = (*IQL_STATS, "loss_bc")


class OfflineTrainer:
    """IQL and the BC baseline, updated on the same batches. ``run`` may be called again to go
    on (the benchmark interleaves two trainers); ``result`` summarises what was learned.

    Deterministic for a given seed on a given device and sequence of ``run`` calls: networks are
    initialised under a forked RNG seeded with ``seed``, and batches come from a private
    generator on the device.
    """

    block = 100  # steps whose batch indices are drawn, and whose statistics are read, at once
    flushes_denormals = True  # off only to measure what the flush saves (benchmarks/iql.py)

    def __init__(
        self,
        dataset: OfflineDataset | Mapping[str, object],
        config: IQLConfig | None = None,
        seed: int = 0,
        device: str | torch.device = "cpu",
    ) -> None:
        if not isinstance(dataset, OfflineDataset):
            dataset = OfflineDataset.from_dict(dataset)
        self.config = config or IQLConfig()
        self.device = torch.device(device)
        self.feature_set = dataset.feature_set
        if self.feature_set != feature_set_for_dim(dataset.state_dim):
            raise ValueError(
                f"dataset says feature set {self.feature_set!r} but its states have {dataset.state_dim} "
                f"inputs ({', '.join(f'{name} {dim}' for name, dim in FEATURE_SETS.items())})"
            )
        self.normalizer = fit_normalizer(dataset.states)
        self.data = DeviceData(dataset, self.normalizer, self.device)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            self.iql = IQL(dataset.state_dim, ACTION_DIM, self.config, self.device)
            self.bc = BehaviourCloning(dataset.state_dim, ACTION_DIM, self.config, self.device)
        self.generator = torch.Generator(device=self.device).manual_seed(seed)
        self.history: list[dict[str, float]] = []

    def run(
        self,
        steps: int,
        progress: Callable[[int, dict[str, float]], None] | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        """``steps`` more updates. ``progress(step, losses)`` is called once per step, in order,
        after each block of up to ``block`` steps (the losses are read from the device then).
        A set ``stop`` ends the run after the step under way (a block can take long: large
        batches and networks); the steps done are reported as usual."""
        if steps < 0:
            raise ValueError(f"steps must be non-negative, got {steps}")
        with flush_denormals() if self.flushes_denormals else nullcontext():
            for start in range(0, steps, self.block):
                if stop is not None and stop.is_set():
                    return
                indices = self.data.sample_indices(
                    min(self.block, steps - start), self.config.batch_size, self.generator
                )
                stats = []
                for index in indices:
                    batch = self.data.batch(index)
                    stats.append(
                        torch.cat([self.iql.step(batch), self.bc.step(batch).unsqueeze(0)])
                    )
                    if stop is not None and stop.is_set():
                        break
                if (
                    self.device.type == "cpu" and self.flushes_denormals
                ):  # GPUs take subnormals at full speed
                    zero_negligible_moments(self.iql.optimizer)
                    zero_negligible_moments(self.bc.optimizer)
                for row in torch.stack(stats).tolist():
                    self.history.append(dict(zip(TRAIN_STATS, row, strict=True)))
                    if progress is not None:
                        progress(len(self.history), self.history[-1])

    def result(self) -> TrainResult:
        data = self.data
        chosen = {"iql": _chunked_act(self.iql.act, data), "bc": _chunked_act(self.bc.act, data)}
        counts = {"data": _histogram(data.actions)} | {k: _histogram(v) for k, v in chosen.items()}
        agreement = {k: float((v == data.actions).double().mean()) for k, v in chosen.items()}
        return TrainResult(
            self.iql, self.bc, self.normalizer, self.feature_set, self.history, counts, agreement
        )


def train_offline(
    dataset: OfflineDataset | Mapping[str, object],
    steps: int,
    config: IQLConfig | None = None,
    seed: int = 0,
    progress: Callable[[int, dict[str, float]], None] | None = None,
    device: str | torch.device = "cpu",
    stop: threading.Event | None = None,
    started: Callable[[], None] | None = None,
) -> TrainResult:
    """Train IQL and the BC baseline on the same batches for ``steps`` updates (see
    ``OfflineTrainer``, deterministic for a given seed on a given device). ``started`` is
    called once the networks are built, before the first step; a set ``stop`` ends training
    after the step under way (``progress`` has seen every step done)."""
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    trainer = OfflineTrainer(dataset, config, seed, device)
    if started is not None:
        started()
    trainer.run(steps, progress, stop)
    return trainer.result()


def _chunked_act(act: Callable[[Tensor, Tensor], Tensor], data: DeviceData) -> Tensor:
    chunk = 8192
    parts = [
        act(data.states[i : i + chunk], data.masks[i : i + chunk])
        for i in range(0, len(data), chunk)
    ]
    return torch.cat(parts)


def _histogram(actions: Tensor) -> tuple[int, ...]:
    return tuple(torch.bincount(actions.cpu(), minlength=ACTION_DIM).tolist())
