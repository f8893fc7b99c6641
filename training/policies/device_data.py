"""An offline dataset as tensors on the training device: normalised once, sampled on the device.

Training then costs no host work per step: batch indices come from a device generator in blocks,
and a batch is six index gathers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from training.env.features import FeatureNormalizer
from training.policies.offline_data import OfflineDataset


@dataclass(frozen=True)
class Batch:
    """Transitions as tensors on the training device; states already normalised."""

    states: Tensor  # float32 [B, D]
    actions: Tensor  # int64 [B]
    rewards: Tensor  # float32 [B]
    next_states: Tensor  # float32 [B, D]
    dones: Tensor  # float32 [B], 1.0 where the episode ended
    masks: Tensor  # bool [B, A], valid actions at s


def fit_normalizer(states: np.ndarray) -> FeatureNormalizer:
    """Mean/std of the dataset's states, rounded to float32 so that the checkpoint (float32
    tensors) reproduces exactly the normaliser the networks were trained with."""
    fitted = FeatureNormalizer.fit(np.asarray(states, dtype=np.float64))
    as32 = (
        np.asarray(fitted.mean, np.float32).tolist(),
        np.asarray(fitted.std, np.float32).tolist(),
    )
    return FeatureNormalizer(tuple(as32[0]), tuple(as32[1]))


class DeviceData:
    """The whole dataset on the device, states normalised once; batches are index gathers."""

    def __init__(
        self, dataset: OfflineDataset, normalizer: FeatureNormalizer, device: torch.device
    ) -> None:
        self.device = device
        mean = torch.tensor(normalizer.mean, dtype=torch.float32, device=device)
        std = torch.tensor(normalizer.std, dtype=torch.float32, device=device)

        def to(array: np.ndarray, dtype: torch.dtype) -> Tensor:
            return torch.as_tensor(np.asarray(array), device=device).to(dtype)

        self.states = (to(dataset.states, torch.float32) - mean) / std
        self.next_states = (to(dataset.next_states, torch.float32) - mean) / std
        self.actions = to(dataset.actions, torch.int64)
        self.rewards = to(dataset.rewards, torch.float32)
        self.dones = to(dataset.dones, torch.float32)
        self.masks = to(dataset.masks, torch.bool)

    def __len__(self) -> int:
        return self.actions.shape[0]

    def sample_indices(self, steps: int, batch_size: int, generator: torch.Generator) -> Tensor:
        """Indices of ``steps`` batches at once, [steps, batch_size], drawn on the device."""
        return torch.randint(
            len(self), (steps, batch_size), generator=generator, device=self.device
        )

    def batch(self, index: Tensor) -> Batch:
        return Batch(
            self.states[index],
            self.actions[index],
            self.rewards[index],
            self.next_states[index],
            self.dones[index],
            self.masks[index],
        )
