"""Discrete Implicit Q-Learning (Kostrikov et al., 2021), readable top to bottom.

IQL never queries Q at actions the data does not contain: V is an upper expectile of the
target Q over the data's actions (eq. 5), Q regresses to r + gamma * V(s') (eq. 6), and the
policy is behaviour cloning weighted by exp(beta * advantage) (eq. 7). Invalid actions are
masked with -inf logits both when the policy learns and when anything decides. A behaviour
cloning baseline is trained on the same batches (``training.policies.trainer``) because on
small datasets it can win.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import Tensor, nn
from torch.nn import functional as F

from training.env.actions import ACTION_DIM
from training.policies.device_data import Batch

__all__ = [
    "IQL",
    "IQLConfig",
    "Batch",
    "BehaviourCloning",
    "advantage_weights",
    "expectile_loss",
    "masked_logits",
    "td_target",
]


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


def warm_up(device: str | torch.device = "cpu") -> None:
    """Make one optimizer now: torch imports ``torch._dynamo`` at the first one, which takes
    a second or two on a quiet machine and many more on a loaded one. A command does this
    while a stop signal can still end it at once, so that its steps later answer one within
    a step."""
    make_adam([nn.Parameter(torch.zeros(1, device=device))], 1e-3, torch.device(device))


def make_adam(params: Iterable[Tensor], lr: float, device: torch.device) -> torch.optim.Adam:
    """Adam with its fused kernel where torch has one (CPU, CUDA): one call updates every tensor,
    about 4x faster on the CPU than the default per-tensor loop, with the same update rule."""
    if device.type in ("cpu", "cuda"):
        return torch.optim.Adam(params, lr=lr, fused=True)
    return torch.optim.Adam(params, lr=lr, foreach=True)


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
        # Each network's loss reaches only that network, and Adam's state is per tensor, so one
        # optimizer over all of them takes exactly the steps that one per network would.
        online = [self.q_network, self.q2_network, self.v_network, self.policy_network]
        self.optimizer = make_adam(
            [p for net in online if net is not None for p in net.parameters()],
            self.config.lr,
            self.device,
        )
        self._online_q: list[torch.Tensor] = [
            *self.q_network.parameters(),
            *self.q2_network.parameters(),
        ]
        self._target_q: list[torch.Tensor] = [
            *self.q_target.parameters(),
            *self.q2_target.parameters(),
        ]

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
        """One update (see ``step``), its statistics read back as floats."""
        return dict(zip(IQL_STATS, self.step(batch).tolist(), strict=True))

    def step(self, batch: Batch) -> Tensor:
        """One gradient step on L_V, L_Q and L_pi, then the Polyak step of the targets. Returns
        the ``IQL_STATS`` as one detached tensor on the device, so nothing waits for the device
        here. ``batch.masks`` must allow the action taken (``OfflineDataset`` checks this)."""
        if self.policy_network is None:
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
        logits = self.policy_network(batch.states).masked_fill(~batch.masks, float("-inf"))
        log_probs = F.log_softmax(logits, dim=-1).gather(1, actions).squeeze(1)
        loss_pi = -(weights * log_probs).mean()

        # Each loss reaches only its own network (every cross term is detached), so one backward
        # through the sum gives each network exactly its own gradient.
        self.optimizer.zero_grad(set_to_none=True)
        (loss_v + loss_q + loss_pi).backward()
        self.optimizer.step()
        self._polyak_update()
        return torch.stack([loss_v, loss_q, loss_pi, q1.mean(), v.mean(), weights.mean()]).detach()

    @torch.no_grad()
    def _polyak_update(self) -> None:
        torch._foreach_lerp_(self._target_q, self._online_q, self.config.polyak)


IQL_STATS = ("loss_v", "loss_q", "loss_pi", "q_mean", "v_mean", "weight_mean")


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
        self.optimizer = make_adam(self.policy_network.parameters(), self.config.lr, self.device)

    def step(self, batch: Batch) -> Tensor:
        """One step of masked cross-entropy; the loss comes back detached, on the device."""
        logits = self.policy_network(batch.states).masked_fill(~batch.masks, float("-inf"))
        loss = F.cross_entropy(logits, batch.actions)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        return loss.detach()

    @torch.no_grad()
    def act(self, states: Tensor, masks: Tensor) -> Tensor:
        return masked_logits(self.policy_network(states), masks).argmax(dim=-1)
