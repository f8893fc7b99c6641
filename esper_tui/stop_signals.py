"""SIGINT, SIGTERM and SIGHUP end a run the way ``q`` does: the trainer stops at the next batch
boundary, a ``stopped`` event is written, the record is flushed and closed, the terminal restored,
and the process exits 128 + the signal's number (130, 143, 129).

By default SIGTERM and SIGHUP kill Python without running ``finally`` blocks, and SIGINT raises
``KeyboardInterrupt`` wherever the main thread happens to be (inside torch's threaded work it can
abort the process). So every command installs these handlers before its work starts.
"""

from __future__ import annotations

import asyncio
import os
import signal
import threading
import time
from types import FrameType

from training.util.stopping import StopFlag

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_S = 5.0


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal's number."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class StopSignals:
    """For the headless commands: the first stop signal sets ``stop`` (polled at batch
    boundaries); a second one of any kind gives up waiting and raises ``KeyboardInterrupt``."""

    def __init__(self) -> None:
        self.stop = StopFlag()
        self.signum: int | None = None
        self._previous: dict[int, object] = {}

    @property
    def code(self) -> int | None:
        return None if self.signum is None else exit_code(self.signum)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        if self.signum is not None:
            raise KeyboardInterrupt
        self.signum = signum
        self.stop.request(f"by {signal_name(signum)}")

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in STOP_SIGNALS:
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()


def install_app_signals(app) -> bool:
    """For the TUI, called on the app's event loop: each stop signal calls
    ``app.begin_shutdown(code)`` on that loop, exactly like ``q``, and arms a last resort.
    False where the loop cannot take signal handlers (not the main thread)."""
    loop = asyncio.get_running_loop()

    def on_signal(signum: int) -> None:
        code = exit_code(signum)
        threading.Thread(
            target=_last_resort, args=(app, code), name="esper-exit", daemon=True
        ).start()
        app.begin_shutdown(code, f"by {signal_name(signum)}")

    try:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal, int(sig))
    except (RuntimeError, ValueError):
        return False
    return True


def _last_resort(app, code: int, grace: float = GRACE_S) -> None:
    """After a hangup the terminal is gone, and Textual's output thread can wait forever to
    restore it. Once the trainer has stopped and the record is closed, nothing can be lost:
    if the app has still not exited ``grace`` seconds later, leave without it."""
    session = getattr(app, "session", None)
    if session is not None and session.is_alive():
        session.join(60.0)
    app.store.close()  # idempotent: the shutdown path closes it too
    time.sleep(grace)
    os._exit(code)
