"""The legacy diagnostics that need the model itself, in esper-lite's units (its ``nissa``
tracker): per-layer gradient stats of an epoch's last batch, and the sharpness of the minimum."""

from __future__ import annotations

from typing import cast

import torch
from torch.nn import functional as F

from training.env.config import EnvConfig
from training.env.data import ImageTask
from training.env.signals import EXPLODING_GRADIENT, VANISHING_GRADIENT
from training.seeds.host import HostCNN, MorphogeneticModel

Stats = tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]


def last_batch_gradients(host: HostCNN) -> Stats:
    """esper-lite's per-layer gradient stats, of the last batch as its hooks kept them: per host
    weight tensor (module order), the L2 norm and the shares of entries below 1e-7 and above
    1e3. Empty when a layer has no gradient. One transfer."""
    maybe = [cast(torch.Tensor, layer.weight).grad for _, layer in host.named_layers()]
    grads = [g for g in maybe if g is not None]
    if len(grads) != len(maybe) or not grads:
        return (), (), ()
    rows = torch.stack(
        [
            torch.stack(
                [
                    torch.linalg.vector_norm(g.double()),
                    (g.abs() < VANISHING_GRADIENT).double().mean(),
                    (g.abs() > EXPLODING_GRADIENT).double().mean(),
                ]
            )
            for g in grads
        ]
    ).cpu()
    norms, vanishing, exploding = rows.T.tolist()
    return tuple(norms), tuple(vanishing), tuple(exploding)


@torch.no_grad()
def sharpness_of(
    model: MorphogeneticModel, task: ImageTask, config: EnvConfig, epoch: int
) -> float | None:
    """esper-lite's sharpness: mean |Δ validation loss| when every weight gets Gaussian noise of
    scale 0.01, divided by 0.01. esper-lite takes 5 samples over up to 10 validation batches; we
    take ``sharpness_samples`` over the first ``sharpness_batches`` batches of the training batch
    size (2 and 2 by default: the same quantity and scale, estimated with more noise, for a few
    percent of an epoch). The noise has its own generator and the weights are restored exactly,
    so training is unchanged."""
    if config.sharpness_samples < 1:
        return None
    scale = config.sharpness_scale
    batches = [
        b
        for _, b in zip(
            range(config.sharpness_batches), task.val_batches(task.batch_size), strict=False
        )
    ]
    if not batches:
        return None
    device = batches[0][0].device
    params = list(model.parameters())
    saved = [p.detach().clone() for p in params]
    gen = torch.Generator(device=device).manual_seed(config.seed * 100_003 + epoch)
    model.eval()

    def loss() -> torch.Tensor:
        total = torch.zeros((), dtype=torch.float64, device=device)
        for x, y in batches:
            total += F.cross_entropy(model(x), y).double()
        return total / len(batches)

    deltas = []
    try:
        base = loss()
        for _ in range(config.sharpness_samples):
            for p in params:
                p.add_(torch.randn(p.shape, generator=gen, device=device, dtype=p.dtype) * scale)
            deltas.append((loss() - base).abs())
            for p, s in zip(params, saved, strict=True):
                p.copy_(s)
    finally:
        for p, s in zip(params, saved, strict=True):
            p.copy_(s)
        model.train()
    return float(torch.stack(deltas).mean()) / scale
