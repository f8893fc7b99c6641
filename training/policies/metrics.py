"""An esper-lite checkpoint's ``metrics`` entry, kept as small plain JSON."""

from __future__ import annotations

import math

import torch

MAX_METRIC_ITEMS = (
    4096  # numbers and strings kept from a checkpoint's ``metrics``, all nesting included
)


def plain_metrics(value: object) -> dict:
    """esper-lite checkpoints carry ``metrics``: a dict of floats and lists (agreement,
    q_improvement, action distributions). Keep what is plain data (numbers, strings, lists and
    dicts of them; a tensor becomes its list), drop the rest, and bound the size: it is shown on
    screen and written to records, so it must stay JSON and small."""
    budget = [MAX_METRIC_ITEMS]

    def plain(v: object, depth: int) -> object:
        if budget[0] <= 0 or depth > 4:
            return None
        budget[0] -= 1
        if isinstance(v, torch.Tensor):
            v = v.detach().cpu().tolist() if v.numel() <= 256 else None
        if isinstance(v, bool) or v is None:
            return v
        if isinstance(v, int | float):
            return float(v) if math.isfinite(v) else None
        if isinstance(v, str):
            return v[:200]
        if isinstance(v, list | tuple):
            return [plain(x, depth + 1) for x in v[:256]]
        if isinstance(v, dict):
            return {str(k)[:80]: plain(x, depth + 1) for k, x in list(v.items())[:256]}
        return None

    if not isinstance(value, dict):
        return {}
    result = plain(value, 0)
    return result if isinstance(result, dict) else {}
