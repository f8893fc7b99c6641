"""One run's settings, built once by a CLI and passed down."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path

from training.env.data import DataConfig
from training.seeds.gates import LifecycleConfig
from training.seeds.host import MAX_SLOTS

# Reward rent: accuracy points charged per epoch for added parameters equal to the host's size.
PARAM_RENT = 0.1


@dataclass(frozen=True)
class EnvConfig:
    """One run's settings. The defaults need nothing from outside: the synthetic task, built in memory."""

    preset: str = "synthetic"
    seed: int = 0  # initial weights, seed initialisation and batch order
    # The synthetic images come from their own seed, so that the task stays fixed across runs and
    # episodes (as CIFAR-10 does) and only the training randomness varies with ``seed``.
    data_seed: int = 0
    max_epochs: int = 25
    slots: int = 3
    width: float = 0.25
    host_lr: float = 4e-3
    seed_lr: float = 4e-3
    # The host's learning rate follows a half cosine from host_lr down to host_lr * floor over
    # the first host_lr_decay_epochs, then stays there: the host settles into a plateau early,
    # as a host that seeds are grown into would have. Seeds keep seed_lr.
    host_lr_floor: float = 0.1
    host_lr_decay_epochs: int = 7
    batch_size: int | None = None  # None: the preset's own
    device: str = "cpu"
    data_dir: str | None = None
    download: bool = False
    param_rent: float = PARAM_RENT
    # The legacy diagnostics' sharpness estimate (see MorphogeneticEnv._sharpness); 0 samples: off.
    sharpness_samples: int = 2
    sharpness_batches: int = 2
    sharpness_scale: float = 0.01
    lifecycle: LifecycleConfig = field(default_factory=LifecycleConfig)

    def __post_init__(self) -> None:
        if self.max_epochs < 1:
            raise ValueError(f"epochs must be at least 1, got {self.max_epochs}")
        if not 1 <= self.slots <= MAX_SLOTS:
            raise ValueError(f"slots must be between 1 and {MAX_SLOTS}, got {self.slots}")
        if self.width <= 0:
            raise ValueError(f"host width must be positive, got {self.width}")
        if not 0 < self.host_lr_floor <= 1:
            raise ValueError(f"host_lr_floor must be in (0, 1], got {self.host_lr_floor}")

    def host_lr_at(self, epoch: int) -> float:
        """The host's learning rate during ``epoch`` (1-based)."""

        progress = min((epoch - 1) / max(self.host_lr_decay_epochs, 1), 1.0)
        cosine = 0.5 * (1.0 + math.cos(math.pi * progress))
        return self.host_lr * (self.host_lr_floor + (1.0 - self.host_lr_floor) * cosine)

    def data_config(self) -> DataConfig:

        return DataConfig(
            preset=self.preset,
            seed=self.data_seed,
            data_dir=None if self.data_dir is None else Path(self.data_dir),
            download=self.download,
            batch_size=self.batch_size,
        )
