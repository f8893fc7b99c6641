"""What the checkpoint tests share: the plan's checkpoint format built from plain tensors, and
a tiny IQL trained and saved in our format."""

import numpy as np
import torch

from training.env.actions import ACTION_DIM, Action
from training.policies.checkpoint import save_checkpoint
from training.policies.iql import IQLConfig
from training.policies.offline_data import OfflineDataset
from training.policies.trainer import train_offline


def plan_network(
    in_dim: int, out_dim: int, hidden: int, gen: torch.Generator
) -> dict[str, torch.Tensor]:
    return {
        "net.0.weight": torch.randn(hidden, in_dim, generator=gen),
        "net.0.bias": torch.randn(hidden, generator=gen),
        "net.2.weight": torch.randn(hidden, hidden, generator=gen),
        "net.2.bias": torch.randn(hidden, generator=gen),
        "net.4.weight": torch.randn(out_dim, hidden, generator=gen),
        "net.4.bias": torch.randn(out_dim, generator=gen),
    }


def plan_checkpoint(state_dim: int = 37, hidden: int = 8, action_dim: int = ACTION_DIM) -> dict:
    """The plan's format, built from plain tensors as the plan's trainer would have saved it."""
    gen = torch.Generator().manual_seed(state_dim)
    return {
        "state_dim": state_dim,
        "action_dim": action_dim,
        "gamma": 0.99,
        "tau": 0.7,
        "beta": 3.0,
        "q_network": plan_network(state_dim, action_dim, hidden, gen),
        "v_network": plan_network(state_dim, 1, hidden, gen),
    }


def train_and_save(folder):
    """A tiny IQL trained on 37-dim ("seed") data and saved in our format in ``folder``: the
    training result and the file's path."""
    rng = np.random.default_rng(0)
    n, dim = 96, 37
    masks = rng.random((n, ACTION_DIM)) < 0.6
    masks[:, Action.WAIT] = True
    data = OfflineDataset(
        states=rng.random((n, dim)).astype(np.float32),
        actions=np.array([rng.choice(np.flatnonzero(m)) for m in masks], dtype=np.int64),
        rewards=rng.normal(size=n).astype(np.float32),
        next_states=rng.random((n, dim)).astype(np.float32),
        dones=np.zeros(n, dtype=np.float32),
        masks=masks,
        next_masks=masks,
        metadata={"feature_set": "seed"},
    )
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        result = train_offline(data, steps=30, config=IQLConfig(hidden=16, batch_size=32), seed=3)
    finally:
        torch.set_num_threads(before)
    path = folder / "iql.pt"
    save_checkpoint(
        path, result.iql, result.normalizer, result.feature_set, {"episodes": 4, "note": "test"}
    )
    return result, path
