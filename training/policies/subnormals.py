"""Subnormal floats in CPU training: each operation on one costs the CPU ~100x a normal one.

Offline data holds constant features (z = 0 after normalising) and ReLU units go dead, so many
gradient entries are exactly zero, and Adam's first moment of such an entry decays by 0.9 per
step through the subnormal range (below 1.2e-38). Nothing training could see changes if those
values are zero instead.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch

NEGLIGIBLE_MOMENT = 1e-30


def flushing_denormals() -> bool:
    """Whether this thread flushes subnormal floats to zero now (torch has no getter)."""
    return bool((torch.tensor([1e-39]) * 1.0 == 0).all())


@contextmanager
def flush_denormals() -> Iterator[None]:
    """Treat subnormal floats as zero on this thread, then restore the previous mode. torch sets
    the mode of the calling thread only: intra-op worker threads keep theirs, which is why
    ``zero_negligible_moments`` exists too."""
    before = flushing_denormals()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


@torch.no_grad()
def zero_negligible_moments(optimizer: torch.optim.Optimizer) -> None:
    """Set Adam moments below 1e-30 to zero. Such a moment moves no weight above 1e-17 (its step
    is under lr * 1e-29 / eps), but the moment of an exactly-zero gradient decays from there into
    subnormals in ~170 steps, and ``flush_denormals`` does not reach the intra-op worker threads
    that update part of Adam's state. Called at least every 100 steps, no moment gets there."""
    for state in optimizer.state.values():
        for key in ("exp_avg", "exp_avg_sq"):
            moment = state[key]
            moment.masked_fill_(moment.abs() < NEGLIGIBLE_MOMENT, 0.0)
