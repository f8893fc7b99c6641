"""SIGINT, SIGTERM and SIGHUP end a run the way ``q`` does: the trainer stops at the next batch
boundary, a ``stopped`` event is written, the record is flushed and closed, the terminal restored,
and the process exits 128 + the signal's number (130, 143, 129).

By default SIGTERM and SIGHUP kill Python without running ``finally`` blocks, and SIGINT raises
``KeyboardInterrupt`` wherever the main thread happens to be (inside torch's threaded work it can
abort the process). So every command installs these handlers before its work starts.
"""

from __future__ import annotations

import asyncio
import signal
import threading
from collections.abc import Callable
from types import FrameType

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal's number."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class StopSignals:
    """For the headless commands: the first stop signal sets ``stop`` (polled at batch
    boundaries); a second one of any kind gives up waiting and raises ``KeyboardInterrupt``."""

    def __init__(self) -> None:
        self.stop = threading.Event()
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def code(self) -> int | None:
        return None if self.signum is None else exit_code(self.signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        self.stop.set()

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()


def install_app_signals(begin_shutdown: Callable[[int], object]) -> bool:
    """For the TUI, called on the app's event loop: each stop signal calls
    ``begin_shutdown(code)`` on that loop, exactly like ``q``. False where the loop cannot
    take signal handlers (not the main thread)."""
    loop = asyncio.get_running_loop()
    try:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, begin_shutdown, exit_code(sig))
    except (RuntimeError, ValueError):
        return False
    return True
