"""The four seed blueprints. Each maps a host activation ``h`` (B, C, H, W) to a candidate
replacement ``s = h + f(h)`` of the same shape, for any channel count C.

``f`` starts small (its last layer is scaled down) so that blending a freshly trained seed in is
gentle, but not zero: an exactly-zero last layer would leave the earlier layers without gradient
on the first batch and flag every new seed as vanishing.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

_LAST_LAYER_SCALE = 0.1


def _shrink(layer: nn.Module) -> nn.Module:
    with torch.no_grad():
        for p in layer.parameters():
            p.mul_(_LAST_LAYER_SCALE)
    return layer


class ConvEnhance(nn.Module):
    """A residual 3x3 conv block that widens inside to at least 32 channels: extra spatial
    capacity at this depth (the default host's first block has only 4 channels), without
    dwarfing a narrow host at its deeper, wider blocks."""

    def __init__(self, channels: int, min_hidden: int = 32) -> None:
        super().__init__()
        hidden = max(min_hidden, 2 * channels)
        self.body = nn.Sequential(
            nn.Conv2d(channels, hidden, 3, padding=1, bias=False),
            nn.BatchNorm2d(hidden, track_running_stats=False),
            nn.ReLU(inplace=True),
            _shrink(nn.Conv2d(hidden, channels, 1)),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class ChannelAttention(nn.Module):
    """Squeeze-and-excitation style gating: re-weights channels from their global statistics."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(channels // reduction, 4)
        self.squeeze = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(channels, hidden),
            nn.ReLU(inplace=True),
            _shrink(nn.Linear(hidden, channels)),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        gate = torch.tanh(self.squeeze(h))[:, :, None, None]
        return h + h * gate


class NormSeed(nn.Module):
    """Group-normalised 1x1 mixing: rescales and recentres features cheaply."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        groups = next(g for g in (8, 4, 2, 1) if channels % g == 0)
        self.norm = nn.GroupNorm(groups, channels)
        self.mix = _shrink(nn.Conv2d(channels, channels, 1))

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.mix(self.norm(h))


class DepthwiseSeed(nn.Module):
    """A depthwise-separable residual block: spatial filtering per channel, then 1x1 mixing."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, groups=channels, bias=False),
            nn.BatchNorm2d(channels, track_running_stats=False),
            nn.ReLU(inplace=True),
            _shrink(nn.Conv2d(channels, channels, 1)),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


BLUEPRINTS: dict[str, Callable[[int], nn.Module]] = {
    "conv_enhance": ConvEnhance,
    "attention": ChannelAttention,
    "norm": NormSeed,
    "depthwise": DepthwiseSeed,
}


def build_blueprint(blueprint_id: str, channels: int) -> nn.Module:
    """Build a seed module; an unknown name raises ``ValueError`` naming the known ones."""
    try:
        factory = BLUEPRINTS[blueprint_id]
    except KeyError:
        known = ", ".join(BLUEPRINTS)
        raise ValueError(f"unknown blueprint {blueprint_id!r}; known blueprints: {known}") from None
    if channels < 1:
        raise ValueError(f"a seed needs at least one channel, got {channels}")
    return factory(channels)


def count_parameters(module: nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())
