"""Vectorised gradient telemetry (docs/architecture.md, "Gradient telemetry").

Per batch, right after ``backward()`` and before ``optimizer.step()``, the gradients of every
measured group (each live, unpaused seed; optionally each host layer) go through one
``torch._foreach_norm`` call. Per-group statistics accumulate in tensors on the training device;
nothing is read back until ``materialize()`` at the end of the epoch, in one transfer.

On the CPU, where ``_foreach_norm`` is a loop that pays a dispatch per tensor, the trainer
instead *binds* the measured parameters' gradients to one bucketed buffer (``grad_buffer.py``)
and the per-tensor norms become one ``vector_norm`` per bucket. On an accelerator
``_foreach_norm`` is one fused kernel already, and ``bind`` does nothing.

Overflow: a float32 norm overflows once the sum of squares passes ~3.4e38 (gradients near 1e19).
On the CPU the few overflowed tensors are found and recomputed in float64 at once (there is no
device to synchronise with); on an accelerator the norms are accumulated in float64 by the same
single kernel, which costs nothing there because the kernel is memory bound, and needs no check.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from training.seeds.grad_buffer import GradientBuffer

VANISHING_THRESHOLD = 1e-7
EXPLODING_THRESHOLD = 100.0


def tensor_norms(grads: list[torch.Tensor] | tuple[torch.Tensor, ...]) -> torch.Tensor:
    """Per-tensor L2 norms in float64, from one ``_foreach_norm`` call."""
    if grads[0].device.type != "cpu":
        return torch.stack(torch._foreach_norm(grads, 2.0, dtype=torch.float64))
    norms = torch.stack(torch._foreach_norm(grads, 2.0)).double()
    overflowed = torch.isinf(norms)
    if overflowed.any():  # CPU only: reading a CPU tensor is not a device sync
        for i in overflowed.nonzero().flatten().tolist():
            norms[i] = torch.linalg.vector_norm(grads[i], dtype=torch.float64)
    return norms


def _health(vanishing: torch.Tensor, exploding: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """The plan's score: 1 - 0.5 * share vanishing - 0.8 * share exploding, clipped to [0, 1]."""
    return (1.0 - 0.5 * vanishing / count - 0.8 * exploding / count).clamp(0.0, 1.0)


class SeedGradientCollector:
    """The plan's one-shot API: gradient stats of one parameter set, as Python values.

    ``gradient_norm`` is the global L2 norm (what ``clip_grad_norm_`` reports).
    """

    def __init__(
        self,
        vanishing_threshold: float = VANISHING_THRESHOLD,
        exploding_threshold: float = EXPLODING_THRESHOLD,
    ) -> None:
        self.vanishing_threshold = vanishing_threshold
        self.exploding_threshold = exploding_threshold

    def collect(self, parameters: Iterable[nn.Parameter]) -> dict:
        grads = [p.grad for p in parameters if p.grad is not None]
        if not grads:
            return {
                "gradient_norm": 0.0,
                "gradient_health": 1.0,
                "has_vanishing": False,
                "has_exploding": False,
                "measured": False,
            }
        norms = tensor_norms(grads)
        total = torch.sqrt((norms**2).sum())
        finite = torch.isfinite(norms)
        vanishing = (norms < self.vanishing_threshold).sum()
        exploding = ((norms > self.exploding_threshold) | ~finite).sum()
        health = _health(
            vanishing.double(),
            exploding.double(),
            torch.tensor(float(len(grads)), dtype=torch.float64),
        )
        stats = torch.stack([total, health, vanishing.double(), exploding.double()]).tolist()
        nonfinite = not torch.isfinite(total).item()
        return {
            "gradient_norm": stats[0],
            "gradient_health": 0.0 if nonfinite else stats[1],
            "has_vanishing": stats[2] > 0,
            "has_exploding": nonfinite or stats[3] > 0,
            "measured": True,
        }


def collect_seed_gradients(
    seed_parameters: Iterable[nn.Parameter],
    vanishing_threshold: float = VANISHING_THRESHOLD,
    exploding_threshold: float = EXPLODING_THRESHOLD,
) -> dict:
    """Convenience function to collect gradient stats (the plan's API)."""
    collector = SeedGradientCollector(
        vanishing_threshold=vanishing_threshold,
        exploding_threshold=exploding_threshold,
    )
    return collector.collect(seed_parameters)


@dataclass(frozen=True, slots=True)
class GradientStats:
    """One group's gradient telemetry for one epoch. ``measured`` False means no batch of this
    epoch measured it: show "not measured", never a health value."""

    gradient_norm: float = 0.0  # mean over finite batches of the global L2 norm
    gradient_health: float = 1.0
    has_vanishing: bool = False
    has_exploding: bool = False
    batches: int = 0
    nonfinite_batches: int = 0

    @property
    def measured(self) -> bool:
        return self.batches > 0


NOT_MEASURED = GradientStats()

# Rows of the per-group epoch totals.
_NORM_SUM, _FINITE, _NONFINITE, _HEALTH_SUM, _VANISHING, _EXPLODING = range(6)


@dataclass
class _Plan:
    """The flat tensor list of one set of measured groups and its per-batch norm rows."""

    params: list[nn.Parameter]
    segments: torch.Tensor  # tensor index -> group index
    counts: torch.Tensor  # tensors per group (>= 1)
    mask: torch.Tensor  # which groups this set measures
    rows: torch.Tensor  # (capacity, tensors): one row of per-tensor norms per batch
    buffer: GradientBuffer | None = None  # CPU: params are in its bucket order
    bound_ids: frozenset[int] | None = None
    filled: int = 0


class EpochGradientTelemetry:
    """Per-group gradient statistics over an epoch, without leaving the device.

    Per batch the work is one ``_foreach_norm`` and one write of its results into a preallocated
    row; the per-group arithmetic runs once, in ``materialize()``, over all rows at once.
    """

    def __init__(
        self,
        groups: dict[Hashable, list[nn.Parameter]],
        device: torch.device,
        vanishing_threshold: float = VANISHING_THRESHOLD,
        exploding_threshold: float = EXPLODING_THRESHOLD,
        expected_batches: int = 64,
    ) -> None:
        self.keys = [k for k, ps in groups.items() if ps]
        self._groups = [list(groups[k]) for k in self.keys]
        self.device = device
        self.vanishing_threshold = vanishing_threshold
        self.exploding_threshold = exploding_threshold
        self._capacity = max(expected_batches, 1)
        self._dtype = torch.float32 if device.type == "cpu" else torch.float64
        self._plans: dict[tuple[bool, ...], _Plan] = {}
        self._bound: _Plan | None = None

    def _plan(self, active: tuple[bool, ...]) -> _Plan:
        """Built once per distinct active set (it changes only when a seed is paused or culled)."""
        plan = self._plans.get(active)
        if plan is None:
            params: list[nn.Parameter] = []
            group_of: dict[int, int] = {}
            for g, (on, group) in enumerate(zip(active, self._groups, strict=True)):
                if on:
                    params.extend(group)
                    group_of.update((id(p), g) for p in group)
            buffer = None
            if self.device.type == "cpu" and all(p.dtype == self._dtype for p in params):
                buffer = GradientBuffer(params)  # other dtypes keep the per-tensor path
                params = buffer.params
            seg = torch.tensor(
                [group_of[id(p)] for p in params], dtype=torch.long, device=self.device
            )
            plan = self._plans[active] = _Plan(
                params=params,
                segments=seg,
                counts=torch.bincount(seg, minlength=len(self.keys)).double().clamp_(min=1.0),
                mask=torch.tensor(active, dtype=torch.bool, device=self.device),
                rows=torch.empty(
                    self._capacity, len(params), dtype=self._dtype, device=self.device
                ),
                buffer=buffer,
            )
        return plan

    # ------------------------------------------------------------------ bound gradients (CPU)
    def bind(self, active: tuple[bool, ...] | None = None) -> None:
        """Give the measured parameters of ``active`` gradients that are views of one buffer.

        From here until ``release()`` the owner must clear gradients with ``zero_grad()`` (and
        set only the other parameters' gradients to None): backward accumulates into the views.
        Binding another active set releases the previous one. A no-op off the CPU.
        """
        active = tuple(active) if active is not None else (True,) * len(self.keys)
        if self.device.type != "cpu" or not any(active):
            self.release()
            return
        plan = self._plan(active)
        if plan is self._bound:
            return
        self.release()
        if plan.buffer is not None:
            plan.buffer.bind()
            self._bound = plan

    @property
    def bound_ids(self) -> frozenset[int]:
        """``id()`` of every parameter whose gradient is a view of the bound buffer."""
        plan = self._bound
        if plan is None:
            return frozenset()
        if plan.bound_ids is None:
            plan.bound_ids = frozenset(id(p) for p in plan.params)
        return plan.bound_ids

    def zero_grad(self) -> None:
        if self._bound is not None and self._bound.buffer is not None:
            self._bound.buffer.zero_()

    def release(self) -> None:
        """Bound gradients go back to None; every later batch uses the per-tensor path."""
        if self._bound is not None:
            if self._bound.buffer is not None:  # always set on a bound plan (see bind)
                self._bound.buffer.release()
            self._bound = None

    def accumulate(self, active: tuple[bool, ...] | None = None) -> None:
        """Fold this batch's gradients in. Call after backward(), before optimizer.step().

        ``active[i]`` False leaves group i out of this batch (a seed paused or culled mid-epoch):
        its statistics count only the batches in which it was measured.
        """
        active = tuple(active) if active is not None else (True,) * len(self.keys)
        if not any(active):
            return
        plan = self._plan(active)
        if plan.filled == plan.rows.shape[0]:
            plan.rows = torch.cat([plan.rows, torch.empty_like(plan.rows)])
        row = plan.rows[plan.filled]
        plan.filled += 1
        # a few bucket kernels over the buffer the gradients live in
        if plan is self._bound and plan.buffer is not None:
            plan.buffer.norms(row)
            return
        # a parameter unused this batch counts as zero
        grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in plan.params]
        if self.device.type == "cpu":
            torch.stack(torch._foreach_norm(grads, 2.0), out=row)
            overflowed = torch.isinf(row)
            if overflowed.any():  # reading a CPU tensor is not a device sync
                for i in overflowed.nonzero().flatten().tolist():
                    row[i] = torch.linalg.vector_norm(grads[i], dtype=torch.float64)
        else:
            torch.stack(torch._foreach_norm(grads, 2.0, dtype=torch.float64), out=row)

    def materialize(self) -> dict[Hashable, GradientStats]:
        """The epoch's statistics per group, read back in one transfer."""
        if not self.keys:
            return {}
        totals = torch.zeros(6, len(self.keys), dtype=torch.float64, device=self.device)
        for plan in self._plans.values():
            if plan.filled:
                totals += self._fold(plan)
        rows = totals.cpu().tolist()
        out: dict[Hashable, GradientStats] = {}
        for g, key in enumerate(self.keys):
            finite, nonfinite = int(rows[_FINITE][g]), int(rows[_NONFINITE][g])
            batches = finite + nonfinite
            if batches == 0:
                out[key] = NOT_MEASURED
                continue
            out[key] = GradientStats(
                gradient_norm=rows[_NORM_SUM][g] / finite if finite else float("inf"),
                gradient_health=0.0 if nonfinite else rows[_HEALTH_SUM][g] / batches,
                has_vanishing=rows[_VANISHING][g] > 0,
                has_exploding=rows[_EXPLODING][g] > 0,
                batches=batches,
                nonfinite_batches=nonfinite,
            )
        return out

    def _fold(self, plan: _Plan) -> torch.Tensor:
        """Per-group epoch totals (6, groups) from a plan's per-batch rows."""
        norms = plan.rows[: plan.filled].double()  # (batches, tensors)
        finite_t = torch.isfinite(norms)
        per_tensor = torch.stack(
            [
                torch.where(finite_t, norms * norms, torch.inf),
                (norms < self.vanishing_threshold).double(),
                ((norms > self.exploding_threshold) | ~finite_t).double(),
            ],
            dim=-1,
        )
        per_group = torch.zeros(
            plan.filled, len(self.keys), 3, dtype=torch.float64, device=self.device
        )
        per_group.index_add_(1, plan.segments, per_tensor)  # (batches, groups, 3)
        global_norm = per_group[..., 0].sqrt()
        finite = torch.isfinite(global_norm)
        health = torch.where(
            finite, _health(per_group[..., 1], per_group[..., 2], plan.counts), 0.0
        )
        mask = plan.mask.double()
        return (
            torch.stack(
                [
                    torch.where(finite, global_norm, 0.0).sum(0),
                    finite.double().sum(0),
                    (~finite).double().sum(0),
                    health.sum(0),
                    (per_group[..., 1] > 0).any(0).double(),
                    ((per_group[..., 2] > 0) | ~finite).any(0).double(),
                ]
            )
            * mask
        )
