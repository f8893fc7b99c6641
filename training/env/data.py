"""The image tasks a run trains on, held in memory as tensors.

- ``synthetic`` (default): a procedurally generated 10-class 32x32 RGB texture task, built from a
  seed in about a second; identical seeds give identical images. Each class is a combination of
  oriented, coloured Gabor motifs; images mix two of their class's motifs with a distractor from
  another class, a colour gradient and noise. Telling classes apart needs more filters than the
  default narrow host has, so the host plateaus and a seed has something to add.
- ``tiny``: the same generator at a few hundred images, for tests.
- ``cifar10``: torchvision's CIFAR-10 from ``--data-dir``; downloaded only when asked.

Batch order is drawn from a generator seeded by (seed, epoch), never from the global RNG, so every
lane of a comparison sees the same batches in the same order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import torch

PRESETS = ("synthetic", "tiny", "cifar10")
NUM_CLASSES = 10
IMAGE_SIZE = 32

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck",
)  # fmt: skip


class DataError(Exception):
    """A data set that cannot be loaded; ``str()`` is one sentence for the user."""


@dataclass(frozen=True)
class DataConfig:
    preset: str = "synthetic"
    seed: int = 0
    data_dir: Path | None = None
    download: bool = False
    batch_size: int | None = None  # None: the preset's own

    def __post_init__(self) -> None:
        if self.preset not in PRESETS:
            raise DataError(f"unknown preset {self.preset!r}; choose one of {', '.join(PRESETS)}")
        if self.batch_size is not None and self.batch_size < 1:
            raise DataError(f"batch size must be at least 1, got {self.batch_size}")

    @property
    def effective_batch_size(self) -> int:
        return self.batch_size or PRESET_BATCH_SIZES[self.preset]


# Sizes of the generated presets: (train images, validation images).
SYNTHETIC_SIZES = {"synthetic": (12000, 4000), "tiny": (480, 160)}
PRESET_BATCH_SIZES = {"synthetic": 128, "tiny": 32, "cifar10": 128}


@dataclass
class ImageTask:
    """Train and validation tensors (N, 3, 32, 32) float32, standardised, with int64 labels."""

    name: str
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    batch_size: int
    seed: int
    class_names: tuple[str, ...]

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    @property
    def train_size(self) -> int:
        return int(self.y_train.shape[0])

    @property
    def batches_per_epoch(self) -> int:
        return math.ceil(self.train_size / self.batch_size)

    def to(self, device: torch.device) -> ImageTask:
        if self.x_train.device == device:
            return self
        return ImageTask(
            self.name,
            self.x_train.to(device),
            self.y_train.to(device),
            self.x_val.to(device),
            self.y_val.to(device),
            self.batch_size,
            self.seed,
            self.class_names,
        )

    def train_batches(
        self, epoch: int, seed: int | None = None
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """The epoch's shuffled batches; the order depends only on (seed, epoch)."""
        seed = self.seed if seed is None else seed
        gen = torch.Generator().manual_seed(seed * 1_000_003 + epoch)
        order = torch.randperm(self.train_size, generator=gen).to(self.x_train.device)
        for start in range(0, self.train_size, self.batch_size):
            idx = order[start : start + self.batch_size]
            yield self.x_train[idx], self.y_train[idx]

    def val_batches(self, batch_size: int = 1000) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        n = int(self.y_val.shape[0])
        for start in range(0, n, batch_size):
            yield self.x_val[start : start + batch_size], self.y_val[start : start + batch_size]


def preflight(config: DataConfig) -> None:
    """Everything about the data that can be checked without loading it; raises DataError."""
    if config.preset != "cifar10":
        return
    if config.data_dir is None:
        raise DataError(
            "the cifar10 preset needs --data-dir DIR (add --download to fetch it there)"
        )
    data_dir = Path(config.data_dir).expanduser()
    if data_dir.exists() and not data_dir.is_dir():
        raise DataError(f"--data-dir {data_dir} is a file, not a folder")
    if not config.download and not cifar10_present(data_dir):
        raise DataError(
            f"CIFAR-10 is not in {data_dir} (expected {data_dir / 'cifar-10-batches-py'}); "
            "pass --download to fetch it there"
        )


def load_task(config: DataConfig) -> ImageTask:
    if config.preset == "cifar10":
        return _load_cifar10(config)
    n_train, n_val = SYNTHETIC_SIZES[config.preset]
    return make_synthetic(config.preset, n_train, n_val, config.seed, config.effective_batch_size)


# --------------------------------------------------------------------------- synthetic


@dataclass(frozen=True)
class _ClassMotifs:
    theta: torch.Tensor  # (classes, motifs) orientation in radians
    freq: torch.Tensor  # (classes, motifs) cycles across the image
    colour: torch.Tensor  # (classes, motifs, 3)


MOTIFS_PER_CLASS = 3
PIXEL_NOISE = 0.2
DISTRACTOR_AMPLITUDE = 0.8


def _class_motifs(gen: torch.Generator) -> _ClassMotifs:
    """Class definitions shared by train and validation. Orientations and frequencies come from
    small sets so that classes overlap in single attributes and differ in combinations."""
    k, m = NUM_CLASSES, MOTIFS_PER_CLASS
    thetas = torch.arange(6) * (math.pi / 6)
    freqs = torch.tensor([2.0, 3.5, 5.0])
    theta = thetas[torch.randint(0, 6, (k, m), generator=gen)]
    freq = freqs[torch.randint(0, 3, (k, m), generator=gen)]
    colour = torch.nn.functional.normalize(torch.rand(k, m, 3, generator=gen) - 0.3, dim=-1)
    return _ClassMotifs(theta, freq, colour)


def _render(labels: torch.Tensor, motifs: _ClassMotifs, gen: torch.Generator) -> torch.Tensor:
    n, size = labels.shape[0], IMAGE_SIZE
    axis = torch.linspace(-1.0, 1.0, size)
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    # Two of the class's own motifs and one distractor motif from a random class.
    own = torch.rand(n, MOTIFS_PER_CLASS, generator=gen).argsort(dim=1)[:, :2]
    other_cls = torch.randint(0, NUM_CLASSES, (n, 1), generator=gen)
    other_motif = torch.randint(0, MOTIFS_PER_CLASS, (n, 1), generator=gen)
    cls = torch.cat([labels[:, None].expand(n, 2), other_cls], dim=1)  # (n, 3)
    mot = torch.cat([own, other_motif], dim=1)
    theta = motifs.theta[cls, mot] + 0.12 * torch.randn(n, 3, generator=gen)
    freq = motifs.freq[cls, mot] * (0.85 + 0.3 * torch.rand(n, 3, generator=gen))
    colour = motifs.colour[cls, mot] + 0.35 * torch.randn(n, 3, 3, generator=gen)
    amp = torch.tensor([1.0, 1.0, DISTRACTOR_AMPLITUDE]) * (
        0.6 + 0.4 * torch.rand(n, 3, generator=gen)
    )
    cx = (torch.rand(n, 3, generator=gen) * 1.2 - 0.6)[..., None, None]
    cy = (torch.rand(n, 3, generator=gen) * 1.2 - 0.6)[..., None, None]
    sigma = (0.25 + 0.2 * torch.rand(n, 3, generator=gen))[..., None, None]
    phase = (2 * math.pi * torch.rand(n, 3, generator=gen))[..., None, None]
    envelope = torch.exp(-((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * sigma**2))
    proj = xx * torch.cos(theta)[..., None, None] + yy * torch.sin(theta)[..., None, None]
    wave = torch.cos(math.pi * freq[..., None, None] * proj + phase)
    patches = amp[..., None, None] * envelope * wave  # (n, 3 motifs, H, W)
    images = torch.einsum("nmhw,nmc->nchw", patches, colour)
    # A random colour gradient as background, then pixel noise.
    grad_dir = torch.randn(n, 3, 2, generator=gen) * 0.4
    background = grad_dir[..., 0, None, None] * xx + grad_dir[..., 1, None, None] * yy
    images = images + background + PIXEL_NOISE * torch.randn(n, 3, size, size, generator=gen)
    return images


def make_synthetic(name: str, n_train: int, n_val: int, seed: int, batch_size: int) -> ImageTask:
    gen = torch.Generator().manual_seed(seed)
    motifs = _class_motifs(gen)
    y_train = torch.randint(0, NUM_CLASSES, (n_train,), generator=gen)
    y_val = torch.randint(0, NUM_CLASSES, (n_val,), generator=gen)
    x_train = _render(y_train, motifs, gen)
    x_val = _render(y_val, motifs, gen)
    mean = x_train.mean(dim=(0, 2, 3), keepdim=True)
    std = x_train.std(dim=(0, 2, 3), keepdim=True)
    return ImageTask(
        name,
        ((x_train - mean) / std).contiguous(),
        y_train,
        ((x_val - mean) / std).contiguous(),
        y_val,
        batch_size,
        seed,
        tuple(f"class{i}" for i in range(NUM_CLASSES)),
    )


# --------------------------------------------------------------------------- CIFAR-10

_CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
_CIFAR_STD = (0.2470, 0.2435, 0.2616)


def cifar10_present(data_dir: Path) -> bool:
    return (data_dir / "cifar-10-batches-py" / "data_batch_1").is_file()


def _load_cifar10(config: DataConfig) -> ImageTask:
    preflight(config)
    data_dir = Path(config.data_dir).expanduser()  # type: ignore[arg-type]
    try:
        from torchvision.datasets import CIFAR10

        train = CIFAR10(str(data_dir), train=True, download=config.download)
        val = CIFAR10(str(data_dir), train=False, download=config.download)
    except (OSError, RuntimeError) as exc:  # corrupt archive, no network, unwritable folder
        raise DataError(f"could not load CIFAR-10 from {data_dir}: {exc}") from None
    mean = torch.tensor(_CIFAR_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(_CIFAR_STD).view(1, 3, 1, 1)

    def to_tensor(ds) -> tuple[torch.Tensor, torch.Tensor]:
        x = torch.from_numpy(ds.data).permute(0, 3, 1, 2).float().div_(255.0)
        return ((x - mean) / std).contiguous(), torch.tensor(ds.targets, dtype=torch.long)

    x_train, y_train = to_tensor(train)
    x_val, y_val = to_tensor(val)
    return ImageTask(
        "cifar10",
        x_train,
        y_train,
        x_val,
        y_val,
        config.effective_batch_size,
        config.seed,
        CIFAR10_CLASSES,
    )
