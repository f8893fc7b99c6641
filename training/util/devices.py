"""``--device auto|cpu|cuda[:N]`` resolved once, up front, with a one-sentence error."""

from __future__ import annotations

import re

import torch


def resolve_device(text: str) -> str:
    """The torch device string for a user's choice; "auto" is CUDA when present, else the CPU."""
    choice = text.strip().lower()
    if choice == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if choice == "cpu":
        return "cpu"
    match = re.fullmatch(r"cuda(?::(\d+))?", choice)
    if match is None:
        raise ValueError(f"unknown device {text!r}; use auto, cpu, cuda or cuda:N")
    if not torch.cuda.is_available():
        raise ValueError(f"device {text!r} was asked for but CUDA is not available on this machine")
    index = int(match.group(1) or 0)
    if index >= torch.cuda.device_count():
        raise ValueError(
            f"device {text!r} does not exist; this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    return choice
