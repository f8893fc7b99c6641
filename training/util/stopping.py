"""A stop flag that remembers why it was raised, so the record's ``stopped`` event can say
"stopped by SIGTERM" rather than a generic "stopped by operator"."""

from __future__ import annotations

import threading

DEFAULT_REASON = "by operator"


class StopFlag(threading.Event):
    """A ``threading.Event`` with a reason; the first reason given wins. ``urgent`` is set by a
    second request (a second signal): stop waiting for anything that has not finished."""

    def __init__(self) -> None:
        super().__init__()
        self.reason = DEFAULT_REASON
        self.urgent = threading.Event()

    def request(self, reason: str) -> None:
        if not self.is_set():
            self.reason = reason
        self.set()

    def hurry(self) -> None:
        self.set()
        self.urgent.set()


def is_urgent(stop: threading.Event | None) -> bool:
    """Whether a stop was asked for twice: waiting for running work is then over."""
    return isinstance(stop, StopFlag) and stop.urgent.is_set()


def stop_reason(stop: threading.Event | None) -> str:
    """Why ``stop`` was raised: its reason when it is a ``StopFlag``, else "by operator"."""
    return stop.reason if isinstance(stop, StopFlag) else DEFAULT_REASON
