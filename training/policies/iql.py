"""Discrete Implicit Q-Learning (Kostrikov et al., 2021), readable top to bottom.

IQL never queries Q at actions the data does not contain: V is an upper expectile of the
target Q over the data's actions (eq. 5), Q regresses to r + gamma * V(s') (eq. 6), and the
policy is behaviour cloning weighted by exp(beta * advantage) (eq. 7). Invalid actions are
masked with -inf logits both when the policy learns and when anything decides. A behaviour
cloning baseline is trained on the same batches because on small datasets it can win.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn
from torch.nn import functional as F

from training.actions import ACTION_DIM
from training.features import FEATURE_SETS, FeatureNormalizer, feature_set_for_dim
from training.policies.offline_data import OfflineDataset


@dataclass(frozen=True)
class IQLConfig:
    tau: float = 0.7  # expectile of L_V; 0.5 would be the mean (SARSA), 1.0 the max
    beta: float = 3.0  # inverse temperature of the advantage weights in L_pi
    gamma: float = 0.99
    lr: float = 3e-4
    batch_size: int = 256
    polyak: float = 0.005  # target networks move this far towards the online ones per update
    hidden: int = 256
    weight_clip: float = 100.0  # exp(beta * A) is clipped here so that one sample cannot dominate

    def __post_init__(self) -> None:
        if not 0.0 < self.tau < 1.0:
            raise ValueError(f"expectile tau must lie in (0, 1), got {self.tau}")
        if not 0.0 <= self.gamma <= 1.0 or not 0.0 <= self.polyak <= 1.0:
            raise ValueError("gamma and polyak must lie in [0, 1]")
        if self.lr <= 0 or self.beta < 0 or self.weight_clip <= 0:
            raise ValueError("lr and weight_clip must be positive and beta non-negative")
        if self.batch_size < 1 or self.hidden < 1:
            raise ValueError("batch_size and hidden must be at least 1")


class MLP(nn.Module):
    """Linear→ReLU→Linear→ReLU→Linear under ``net``: the plan's checkpoint layout
    (``net.0``, ``net.2``, ``net.4``); do not rename or reorder."""

    def __init__(self, in_dim: int, out_dim: int, hidden: int) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.ReLU(),
            nn.Linear(hidden, hidden),
            nn.ReLU(),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@dataclass(frozen=True)
class Batch:
    """Transitions as tensors on the training device; states already normalised."""

    states: Tensor  # float32 [B, D]
    actions: Tensor  # int64 [B]
    rewards: Tensor  # float32 [B]
    next_states: Tensor  # float32 [B, D]
    dones: Tensor  # float32 [B], 1.0 where the episode ended
    masks: Tensor  # bool [B, A], valid actions at s


def expectile_loss(diff: Tensor, tau: float) -> Tensor:
    """L_V (eq. 5): |tau - 1(diff < 0)| * diff², mean. With diff = Q - V, positive errors weigh
    tau and negative ones 1 - tau, so V settles on an upper expectile of Q."""
    weight = torch.abs(tau - (diff < 0).to(diff.dtype))
    return (weight * diff.square()).mean()


def advantage_weights(advantage: Tensor, beta: float, clip: float) -> Tensor:
    """L_pi's weights exp(beta * A), clipped at ``clip`` (exp overflow becomes the clip too)."""
    return torch.exp(beta * advantage).clamp(max=clip)


def td_target(rewards: Tensor, dones: Tensor, next_v: Tensor, gamma: float) -> Tensor:
    """L_Q's regression target (eq. 6): r + gamma * (1 - done) * V(s')."""
    return rewards + gamma * (1.0 - dones) * next_v


def masked_logits(logits: Tensor, masks: Tensor) -> Tensor:
    """Invalid actions get -inf so that neither softmax nor argmax can pick them."""
    if not bool(masks.any(dim=-1).all()):
        raise ValueError("every action mask needs at least one valid action")
    return logits.masked_fill(~masks, float("-inf"))


class IQL:
    """Twin Q networks with Polyak-averaged targets, an expectile V, and an advantage-weighted
    categorical policy. ``with_policy=False`` builds the plan's Q/V-only agent, which acts by the
    greedy masked argmax of Q and cannot be trained further."""

    def __init__(
        self,
        state_dim: int,
        action_dim: int = ACTION_DIM,
        config: IQLConfig | None = None,
        device: str | torch.device = "cpu",
        with_policy: bool = True,
    ) -> None:
        self.config = config or IQLConfig()
        self.state_dim, self.action_dim = state_dim, action_dim
        self.device = torch.device(device)
        hidden = self.config.hidden
        self.q_network = MLP(state_dim, action_dim, hidden).to(self.device)
        self.q2_network = MLP(state_dim, action_dim, hidden).to(self.device)
        self.v_network = MLP(state_dim, 1, hidden).to(self.device)
        self.policy_network: MLP | None = (
            MLP(state_dim, action_dim, hidden).to(self.device) if with_policy else None
        )
        self.q_target = copy.deepcopy(self.q_network).requires_grad_(False)
        self.q2_target = copy.deepcopy(self.q2_network).requires_grad_(False)
        lr = self.config.lr
        q_params = [*self.q_network.parameters(), *self.q2_network.parameters()]
        self.q_optimizer = torch.optim.Adam(q_params, lr=lr)
        self.v_optimizer = torch.optim.Adam(self.v_network.parameters(), lr=lr)
        self.policy_optimizer = (
            torch.optim.Adam(self.policy_network.parameters(), lr=lr)
            if self.policy_network is not None
            else None
        )

    @property
    def gamma(self) -> float:
        return self.config.gamma

    @property
    def tau(self) -> float:
        return self.config.tau

    @property
    def beta(self) -> float:
        return self.config.beta

    @property
    def has_policy(self) -> bool:
        return self.policy_network is not None

    def sync_targets(self) -> None:
        """Copy the online Q networks into their targets (after loading weights)."""
        self.q_target.load_state_dict(self.q_network.state_dict())
        self.q2_target.load_state_dict(self.q2_network.state_dict())

    # --- acting -------------------------------------------------------------------------
    @torch.no_grad()
    def q_values(self, states: Tensor) -> Tensor:
        """min(Q1, Q2) of the online networks for every action, [B, A]."""
        return torch.min(self.q_network(states), self.q2_network(states))

    @torch.no_grad()
    def values(self, states: Tensor) -> Tensor:
        return self.v_network(states).squeeze(-1)

    @torch.no_grad()
    def policy_logits(self, states: Tensor) -> Tensor:
        if self.policy_network is None:
            raise ValueError("this IQL has no policy network (the plan's Q/V-only format)")
        return self.policy_network(states)

    @torch.no_grad()
    def act(self, states: Tensor, masks: Tensor) -> Tensor:
        """The masked policy's argmax; without a policy, the greedy masked argmax of Q."""
        scores = self.policy_logits(states) if self.has_policy else self.q_values(states)
        return masked_logits(scores, masks).argmax(dim=-1)

    # --- learning -----------------------------------------------------------------------
    def update(self, batch: Batch) -> dict[str, float]:
        """One gradient step on L_V, L_Q and L_pi, then the Polyak step of the targets."""
        if self.policy_network is None or self.policy_optimizer is None:
            raise ValueError("an IQL without a policy network (the plan's format) cannot train")
        cfg = self.config
        actions = batch.actions.unsqueeze(1)
        with torch.no_grad():
            target_q = torch.min(self.q_target(batch.states), self.q2_target(batch.states))
            target_q = target_q.gather(1, actions).squeeze(1)
            next_v = self.v_network(batch.next_states).squeeze(1)
            q_regression_target = td_target(batch.rewards, batch.dones, next_v, cfg.gamma)

        # L_V (eq. 5): expectile regression of V(s) on min of the target Qs at the data's action.
        v = self.v_network(batch.states).squeeze(1)
        advantage = target_q - v
        loss_v = expectile_loss(advantage, cfg.tau)

        # L_Q (eq. 6): both online Qs regress to r + gamma * (1 - done) * V(s').
        q1 = self.q_network(batch.states).gather(1, actions).squeeze(1)
        q2 = self.q2_network(batch.states).gather(1, actions).squeeze(1)
        loss_q = 0.5 * (F.mse_loss(q1, q_regression_target) + F.mse_loss(q2, q_regression_target))

        # L_pi (eq. 7): behaviour cloning of the data's actions weighted by exp(beta * A).
        weights = advantage_weights(advantage.detach(), cfg.beta, cfg.weight_clip)
        logits = masked_logits(self.policy_network(batch.states), batch.masks)
        log_probs = F.log_softmax(logits, dim=-1).gather(1, actions).squeeze(1)
        loss_pi = -(weights * log_probs).mean()

        # Each loss reaches only its own network (every cross term is detached), so one backward
        # through the sum gives each network exactly its own gradient.
        optimizers = (self.v_optimizer, self.q_optimizer, self.policy_optimizer)
        for optimizer in optimizers:
            optimizer.zero_grad(set_to_none=True)
        (loss_v + loss_q + loss_pi).backward()
        for optimizer in optimizers:
            optimizer.step()
        self._polyak_update()

        stats = torch.stack([loss_v, loss_q, loss_pi, q1.mean(), v.mean(), weights.mean()])
        names = ("loss_v", "loss_q", "loss_pi", "q_mean", "v_mean", "weight_mean")
        return dict(zip(names, stats.detach().tolist(), strict=True))

    @torch.no_grad()
    def _polyak_update(self) -> None:
        for target, online in ((self.q_target, self.q_network), (self.q2_target, self.q2_network)):
            torch._foreach_lerp_(list(target.parameters()), list(online.parameters()), self.config.polyak)


class BehaviourCloning:
    """The baseline: the same MLP, masked cross-entropy on the data's actions."""

    def __init__(
        self,
        state_dim: int,
        action_dim: int = ACTION_DIM,
        config: IQLConfig | None = None,
        device: str | torch.device = "cpu",
    ) -> None:
        self.config = config or IQLConfig()
        self.device = torch.device(device)
        self.policy_network = MLP(state_dim, action_dim, self.config.hidden).to(self.device)
        self.optimizer = torch.optim.Adam(self.policy_network.parameters(), lr=self.config.lr)

    def update(self, batch: Batch) -> dict[str, float]:
        logits = masked_logits(self.policy_network(batch.states), batch.masks)
        loss = F.cross_entropy(logits, batch.actions)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return {"loss_bc": loss.item()}

    @torch.no_grad()
    def act(self, states: Tensor, masks: Tensor) -> Tensor:
        return masked_logits(self.policy_network(states), masks).argmax(dim=-1)


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


class _DeviceData:
    """The whole dataset as tensors on the device, normalised once; batches are index gathers."""

    def __init__(self, dataset: OfflineDataset, normalizer: FeatureNormalizer, device: torch.device) -> None:
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

    def batch(self, index: Tensor) -> Batch:
        return Batch(
            self.states[index], self.actions[index], self.rewards[index],
            self.next_states[index], self.dones[index], self.masks[index],
        )  # fmt: skip


def fit_normalizer(states: np.ndarray) -> FeatureNormalizer:
    """Mean/std of the dataset's states, rounded to float32 so that the checkpoint (float32
    tensors) reproduces exactly the normaliser the networks were trained with."""
    fitted = FeatureNormalizer.fit(np.asarray(states, dtype=np.float64).tolist())
    as32 = (np.asarray(fitted.mean, np.float32).tolist(), np.asarray(fitted.std, np.float32).tolist())
    return FeatureNormalizer(tuple(as32[0]), tuple(as32[1]))


def train_offline(
    dataset: OfflineDataset | Mapping[str, object],
    steps: int,
    config: IQLConfig | None = None,
    seed: int = 0,
    progress: Callable[[int, dict[str, float]], None] | None = None,
    device: str | torch.device = "cpu",
) -> TrainResult:
    """Train IQL and the BC baseline on the same batches for ``steps`` updates.

    Deterministic for a given seed on a given device: networks are initialised under a forked
    RNG seeded with ``seed`` and batches come from a private generator.
    """
    if not isinstance(dataset, OfflineDataset):
        dataset = OfflineDataset.from_dict(dataset)
    if steps < 0:
        raise ValueError(f"steps must be non-negative, got {steps}")
    config = config or IQLConfig()
    device = torch.device(device)
    feature_set = dataset.feature_set
    if feature_set != feature_set_for_dim(dataset.state_dim):
        raise ValueError(
            f"dataset says feature set {feature_set!r} but its states have {dataset.state_dim} "
            f"inputs ({', '.join(f'{name} {dim}' for name, dim in FEATURE_SETS.items())})"
        )
    normalizer = fit_normalizer(dataset.states)
    data = _DeviceData(dataset, normalizer, device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        iql = IQL(dataset.state_dim, ACTION_DIM, config, device)
        bc = BehaviourCloning(dataset.state_dim, ACTION_DIM, config, device)
    generator = torch.Generator().manual_seed(seed)
    history: list[dict[str, float]] = []
    for step in range(1, steps + 1):
        index = torch.randint(len(data), (config.batch_size,), generator=generator).to(device)
        batch = data.batch(index)
        losses = iql.update(batch) | bc.update(batch)
        history.append(losses)
        if progress is not None:
            progress(step, losses)
    chosen = {"iql": _chunked_act(iql.act, data), "bc": _chunked_act(bc.act, data)}
    counts = {"data": _histogram(data.actions)} | {k: _histogram(v) for k, v in chosen.items()}
    agreement = {k: float((v == data.actions).double().mean()) if len(data) else 0.0 for k, v in chosen.items()}
    return TrainResult(iql, bc, normalizer, feature_set, history, counts, agreement)


def _chunked_act(act: Callable[[Tensor, Tensor], Tensor], data: _DeviceData) -> Tensor:
    chunk = 8192
    parts = [act(data.states[i : i + chunk], data.masks[i : i + chunk]) for i in range(0, len(data), chunk)]
    return torch.cat(parts) if parts else data.actions[:0]


def _histogram(actions: Tensor) -> tuple[int, ...]:
    return tuple(torch.bincount(actions.cpu(), minlength=ACTION_DIM).tolist())
