"""Gradients kept as views of one buffer, so per-tensor norms cost a few kernels, not one each.

On the CPU ``torch._foreach_norm`` is a loop over tensors: every tensor pays a dispatch (about
1.5 µs here), which for small seeds is far more than reading its values. A ``GradientBuffer``
gives each parameter a ``.grad`` that is a view of one preallocated buffer (as DDP's
``gradient_as_bucket_view`` does), laid out in *buckets*: 2-D blocks whose rows are equally long.
Tensors of one size share a bucket, one tensor per row, and a small tensor may sit in the row of
a larger size class, zero-padded, when the padding costs less than another kernel call would.
Per batch the per-tensor norms are then one ``vector_norm(block, dim=1)`` per bucket, written in
place, in the order of ``params``. Backward accumulates into the views in place, so the buffer
must be zeroed (``zero_()``) instead of setting gradients to None while it is bound.

Padding is never written by backward and is zeroed with the rest, so it adds nothing to a norm.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

# One more kernel call costs about as much as reading this many float32 values on these CPUs:
# a smaller size class joins a larger one when the padding it needs is cheaper than that.
CALL_COST_VALUES = 16_384


def plan_buckets(sizes: Sequence[int]) -> list[tuple[int, list[int]]]:
    """Group tensor indices into buckets ``(row_length, [tensor indices])``.

    Size classes are taken from small to large; a class joins the bucket before it (whose rows
    then grow to this class's size) when the zero padding that adds to the bucket's rows is at
    most ``CALL_COST_VALUES``.
    """
    classes: dict[int, list[int]] = {}
    for i, size in enumerate(sizes):
        classes.setdefault(size, []).append(i)
    buckets: list[tuple[int, list[int]]] = []
    for size in sorted(classes):
        members = classes[size]
        if buckets:
            length, rows = buckets[-1]
            if len(rows) * (size - length) <= CALL_COST_VALUES:
                buckets[-1] = (size, rows + members)
                continue
        buckets.append((size, list(members)))
    return buckets


class GradientBuffer:
    """One zero-padded, bucketed buffer for the gradients of ``params`` (same device and dtype).

    ``params`` is reordered into bucket order; ``norms(out)`` writes per-tensor L2 norms in that
    order.
    """

    def __init__(self, params: Sequence[nn.Parameter]) -> None:
        if not params:
            raise ValueError("a gradient buffer needs at least one parameter")
        first = params[0]
        if any(p.device != first.device or p.dtype != first.dtype for p in params):
            raise ValueError("a gradient buffer needs parameters of one device and dtype")
        plan = plan_buckets([p.numel() for p in params])
        total = sum(length * len(rows) for length, rows in plan)
        self.flat = torch.zeros(total, dtype=first.dtype, device=first.device)
        self.params: list[nn.Parameter] = []
        self.views: list[torch.Tensor] = []
        self.blocks: list[torch.Tensor] = []
        offset = 0
        for length, rows in plan:
            block = self.flat[offset : offset + length * len(rows)].view(len(rows), length)
            offset += length * len(rows)
            self.blocks.append(block)
            for r, i in enumerate(rows):
                p = params[i]
                self.params.append(p)
                self.views.append(block[r, : p.numel()].view_as(p))
        self.bound = False

    def bind(self) -> None:
        """Make every parameter's ``.grad`` its view of the buffer, keeping any gradient it had."""
        if self.bound:
            return
        self.flat.zero_()
        for p, view in zip(self.params, self.views, strict=True):
            if p.grad is not None:
                view.copy_(p.grad)
            p.grad = view
        self.bound = True

    def release(self) -> None:
        """Give the parameters their gradients back as None; the buffer is no longer used."""
        if self.bound:
            for p, view in zip(self.params, self.views, strict=True):
                if p.grad is view:
                    p.grad = None
            self.bound = False

    def zero_(self) -> None:
        """Zero the buffer and point every parameter back at its view: anything that set a
        gradient to None meanwhile (an optimizer's ``zero_grad``, a seed joining the host's
        optimizer mid-epoch) would otherwise leave it accumulating outside the buffer."""
        self.flat.zero_()
        for p, view in zip(self.params, self.views, strict=True):
            if p.grad is not view:
                p.grad = view

    def norms(self, out: torch.Tensor) -> None:
        """Per-tensor L2 norms into ``out`` (one value per parameter, in ``params`` order).

        Float32 sums of squares overflow for gradients near 1e19; the few tensors whose norm came
        out infinite are recomputed in float64 (reading a CPU tensor is not a device sync).
        """
        start = 0
        for block in self.blocks:
            stop = start + block.shape[0]
            torch.linalg.vector_norm(block, dim=1, out=out[start:stop])
            start = stop
        if not math.isfinite(out.sum()):
            for i in torch.isinf(out).nonzero().flatten().tolist():
                out[i] = torch.linalg.vector_norm(self.views[i], dtype=torch.float64)
