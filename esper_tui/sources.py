"""What feeds the store: the trainer thread, a replay of a record, or a follower of a record
another process is writing. The dashboard talks to each through these protocols only, and asks
with ``isinstance`` which extra abilities a source has (commands, replay controls)."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol, runtime_checkable

from training.env.actions import Command


@runtime_checkable
class DataSource(Protocol):
    """Anything that fills the store from its own thread; stoppable and joinable."""

    def start(self) -> None: ...

    def stop(self, timeout: float = ...) -> bool: ...

    def is_alive(self) -> bool: ...


@runtime_checkable
class CommandSource(DataSource, Protocol):
    """A source that takes operator commands (the trainer thread). Its ``stop`` takes the
    reason the record's ``stopped`` event gives ("by SIGTERM")."""

    def stop(self, timeout: float = ..., reason: str = ...) -> bool: ...

    def send(self, command: Command) -> None: ...


@runtime_checkable
class ReplayControls(Protocol):
    """A replay or follower that can be paused, sped up and moved between episodes."""

    mode: str  # "replay" or "follow"

    def toggle_pause(self) -> bool: ...  # returns whether it is paused now

    def change_speed(self, factor: float) -> float: ...  # returns the new speed

    def jump_episode(self, delta: int) -> None: ...


def source_mode(source: object | None, default: str = "live") -> str:
    """ "live", "replay" or "follow": the source's own ``mode`` when it has one."""
    mode = getattr(source, "mode", None)
    if mode in ("replay", "follow"):
        return mode
    if getattr(source, "follow", None) is True:
        return "follow"
    return default


def source_path(source: object | None) -> Path | None:
    """The record file a replay or follower reads, when it says."""
    path = getattr(source, "path", None)
    return Path(path) if isinstance(path, str | Path) else None
