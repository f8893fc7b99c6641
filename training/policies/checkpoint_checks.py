"""A loaded checkpoint is judged key by key before any weight reaches a network.

``torch.load`` runs with ``weights_only=True`` only, so nothing in a file is executed; what it
gives back may still be anything: here every number, shape, weight and the metadata are checked,
and each problem becomes ``ModelLoadError`` with one sentence naming the file.
"""

from __future__ import annotations

import io
import json
import math
import re
import warnings
from pathlib import Path

import torch

LAYER_KEYS = (
    "net.0.weight",
    "net.0.bias",
    "net.2.weight",
    "net.2.bias",
    "net.4.weight",
    "net.4.bias",
)


class ModelLoadError(Exception):
    """A model file that cannot be used; the message is one sentence naming the file."""


def short_repr(value: object) -> str:
    """A value's repr fit for a one-line message (a tensor's repr spans lines)."""
    text = " ".join(repr(value).split())
    return text if len(text) <= 40 else text[:37] + "..."


def is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


class CheckpointChecker:
    """Validates a loaded dict, raising ModelLoadError with one sentence naming the file."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, problem: str) -> ModelLoadError:
        return ModelLoadError(f"cannot load IQL model {self.path}: {problem}.")

    def integer(self, ckpt: dict, key: str) -> int:
        value = ckpt[key]
        if not is_int(value) or value < 1:
            raise self.fail(f"{key} must be a positive integer, got {short_repr(value)}")
        return value

    def number(self, ckpt: dict, key: str, default: float) -> float:
        value = ckpt.get(key, default)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise self.fail(f"{key} must be a finite number, got {short_repr(value)}")
        return float(value)

    def network(self, ckpt: dict, key: str, in_dim: int, out_dim: int, hidden: int) -> dict:
        weights = ckpt[key]
        if not isinstance(weights, dict) or set(weights) != set(LAYER_KEYS):
            raise self.fail(f"{key} must hold exactly the MLP weights {', '.join(LAYER_KEYS)}")
        shapes = {
            "net.0.weight": (hidden, in_dim), "net.0.bias": (hidden,),
            "net.2.weight": (hidden, hidden), "net.2.bias": (hidden,),
            "net.4.weight": (out_dim, hidden), "net.4.bias": (out_dim,),
        }  # fmt: skip
        for name, shape in shapes.items():
            tensor = weights[name]
            if not isinstance(tensor, torch.Tensor) or not tensor.is_floating_point():
                raise self.fail(f"{key} {name} is not a floating-point tensor")
            if tuple(tensor.shape) != shape:
                raise self.fail(
                    f"{key} {name} has shape {tuple(tensor.shape)}, expected {shape} "
                    f"(state_dim {in_dim}, hidden size {hidden}, {out_dim} outputs)"
                )
            if not bool(torch.isfinite(tensor).all()):
                raise self.fail(f"{key} {name} contains NaN or infinite values")
        return {name: weights[name].to(torch.float32) for name in LAYER_KEYS}

    def vector(self, ckpt: dict, key: str, dim: int) -> tuple[float, ...]:
        tensor = ckpt[key]
        if not isinstance(tensor, torch.Tensor) or tuple(tensor.shape) != (dim,):
            raise self.fail(f"{key} must be a tensor of shape ({dim},)")
        if not bool(torch.isfinite(tensor).all()):
            raise self.fail(f"{key} contains NaN or infinite values")
        return tuple(tensor.to(torch.float32).tolist())


def read_checkpoint(data: bytes, device: str | torch.device, check: CheckpointChecker) -> dict:
    """The file's bytes through ``torch.load(weights_only=True)``: a dict, or one sentence."""
    try:
        with warnings.catch_warnings():
            # torch's notes on odd pickle protocols: we judge the file ourselves
            warnings.simplefilter("ignore")
            ckpt = torch.load(io.BytesIO(data), map_location=device, weights_only=True)
    except Exception as error:  # noqa: BLE001 - every parse failure is "unusable file"
        code = re.search(r"GLOBAL ([\w.]+)", str(error))
        if code is not None:
            raise check.fail(
                f"it asks to run {code.group(1)} when unpickled, refused without running it"
            ) from error
        raise check.fail("it is not a torch checkpoint") from error
    if not isinstance(ckpt, dict):
        raise check.fail(f"it holds a {type(ckpt).__name__}, not a checkpoint dict")
    return ckpt


def checked_metadata(value: object, check: CheckpointChecker) -> dict:
    """Our metadata, stored as a JSON object string (or, written by hand, a dict)."""
    if isinstance(value, dict):
        return value
    try:
        parsed = json.loads(value) if isinstance(value, str) else None
    except (ValueError, RecursionError):  # deep nesting too: one sentence, never a traceback
        parsed = None
    if not isinstance(parsed, dict):
        raise check.fail("metadata is neither a dict nor a JSON object string")
    return parsed
