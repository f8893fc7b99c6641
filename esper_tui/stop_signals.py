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
import select
import signal
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType

from training.util.stopping import StopFlag

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
GRACE_S = 5.0
LOOP_WAIT_S = 1.5  # a loop that runs nothing for this long is stuck (e.g. writing to a full tty)
LOST_GRACE_S = 0.5  # the terminal is gone: nothing to restore, only the app's own exit to wait for
HANGUP_WAIT_S = 0.2
LOST_REASON = "by a hangup (its terminal went away)"  # the record's stopped event; exit 129
SIGHUP = int(signal.SIGHUP)
SIGHUP_CODE = 128 + SIGHUP
_HANGUP = select.POLLHUP | select.POLLERR | select.POLLNVAL


def exit_code(signum: int) -> int:
    """The shell's convention: 128 + the signal's number."""
    return 128 + int(signum)


def signal_name(signum: int) -> str:
    return signal.Signals(signum).name


class StopSignals:
    """For the headless commands: every stop signal is answered at once, whatever the main
    thread is doing (importing torch, building a model, waiting for workers).

    Python runs a signal handler only between bytecodes of the main thread, so a handler alone
    waits out any long call. Here the C-level handler also writes the signal's number to a pipe
    (``signal.set_wakeup_fd``) that a watcher thread reads at once. Two modes:

    - **at once** (``at_once(describe)``): while nothing is made that a stop could keep or leave
      half-written (the setup before the first output, or ``train``'s steps, which write nothing
      until they end), a signal prints ``describe()`` as one sentence and exits with 128 + its
      number, there and then.
    - **gracefully** (``at_once(None)``): the first signal sets ``stop`` (polled at every batch
      boundary, training step and wait; the run then keeps what finished), a second one
      ``stop.urgent`` (stop waiting for running work: workers are ended, what finished is still
      written). The exit code is the last signal's.
    """

    def __init__(self, prog: str = "esper-iql") -> None:
        self.prog = prog
        self.stop = StopFlag()
        self.signum: int | None = None
        self._describe: Callable[[], str] | None = lambda: (
            "nothing had begun, so nothing was written"
        )
        self._lock = threading.Lock()
        self._previous: dict[int, object] = {}
        self._pipe: tuple[int, int] | None = None
        self._old_wakeup = -1

    @property
    def code(self) -> int | None:
        return None if self.signum is None else exit_code(self.signum)

    def at_once(self, describe: Callable[[], str] | None) -> None:
        """A signal ends the process at once, saying ``describe()``; None: stop gracefully. A
        signal that came while the mode was graceful stays graceful."""
        with self._lock:
            self._describe = describe
            pending = self.signum
        if describe is not None and pending is not None:
            self._leave(pending, describe)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        """The Python-level handler: the watcher thread has acted already (it must exist, or
        the default action would kill the process before the watcher sees anything)."""

    def _watch(self, read_fd: int) -> None:
        while True:
            try:
                data = os.read(read_fd, 64)
            except OSError:
                return
            if not data:
                return
            for signum in data:
                if signum in STOP_SIGNALS:
                    self._received(signum)

    def _received(self, signum: int) -> None:
        with self._lock:
            first = self.signum is None
            self.signum = signum
            describe = self._describe
            if describe is None:
                if first:
                    self.stop.request(f"by {signal_name(signum)}")
                else:
                    self.stop.hurry()
                return
        self._leave(signum, describe)

    def _leave(self, signum: int, describe: Callable[[], str]) -> None:
        try:
            text = describe()
        except Exception:  # noqa: BLE001 - the sentence must not keep the process alive
            text = "stopped"
        from training.records.text import printable

        line = printable(f"{self.prog}: interrupted by {signal_name(signum)}: {text}") + "\n"
        try:
            end_children()
            from training.util.safe_io import remove_temporaries

            remove_temporaries()  # a write under way leaves no half-written file behind
            if os.isatty(2):  # a progress bar was drawing: show the cursor again, start a new line
                os.write(2, b"\x1b[?25h\n")
            os.write(2, line.encode("utf-8", "backslashreplace"))
        finally:
            os._exit(exit_code(signum))

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is not threading.main_thread():
            return self
        read_fd, write_fd = os.pipe()
        os.set_blocking(write_fd, False)
        self._pipe = (read_fd, write_fd)
        for sig in STOP_SIGNALS:
            self._previous[sig] = signal.signal(sig, self._handle)
        self._old_wakeup = signal.set_wakeup_fd(write_fd, warn_on_full_buffer=False)
        threading.Thread(
            target=self._watch, args=(read_fd,), name="esper-signals", daemon=True
        ).start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._pipe is None:
            return
        signal.set_wakeup_fd(self._old_wakeup)
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
        self._previous.clear()
        os.close(self._pipe[1])  # the watcher reads the end of the pipe and returns
        self._pipe = None


def leave_now(code: int) -> None:
    """Exit with ``code`` without the interpreter's teardown, once a stopped run has written and
    closed everything: with torch loaded that teardown alone takes one to two seconds on a
    loaded machine, and a stop signal is to be answered within two."""
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass
    end_children()
    os._exit(code)


def end_children() -> None:
    """Kill every process this one started (worker processes), so that leaving at once leaves
    no orphan behind, nor a pipe held open that a caller waits on."""
    try:
        import psutil

        children = psutil.Process().children(recursive=True)
    except Exception:  # noqa: BLE001 - psutil missing or /proc unreadable: nothing more to do
        return
    for child in children:
        try:
            child.kill()
        except Exception:  # noqa: BLE001 - gone already
            pass


def install_app_signals(app) -> bool:
    """For the TUI, called on the app's event loop: each stop signal calls
    ``app.begin_shutdown(code)`` on that loop, exactly like ``q``, and arms a last resort that
    needs no loop (``_Ending``): the loop can be stuck for good, e.g. in Textual's write to a
    terminal that went away. A terminal that goes away without a signal (its pane or tmux
    server killed while the shell ignores or does not pass on SIGHUP: reads then return
    end-of-file, writes fail) is watched for too, and ends the app the way SIGHUP does. False
    where the loop cannot take signal handlers (not the main thread)."""
    loop = asyncio.get_running_loop()
    ending = _Ending(app, loop)

    def on_signal(signum: int, reason: str = "") -> None:
        reason = reason or f"by {signal_name(signum)}"
        ending.start(exit_code(signum), reason)
        app.begin_shutdown(exit_code(signum), reason)

    def at_once(signum: int, frame: FrameType | None) -> None:
        """Python's own handler, run in the main thread even while it waits on a lock: the
        last resort starts whether or not the loop ever gets to ``on_signal``."""
        ending.start(exit_code(signum), f"by {signal_name(signum)}")

    try:
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, on_signal, int(sig))
            # The loop still hears of the signal (its wakeup fd is written at the C level).
            signal.signal(sig, at_once)
    except (RuntimeError, ValueError):
        return False
    terminal = _terminal_fd()
    if terminal is not None:

        def lost() -> None:
            ending.start(SIGHUP_CODE, LOST_REASON)
            loop.call_soon_threadsafe(on_signal, SIGHUP, LOST_REASON)

        threading.Thread(
            target=_watch_terminal, args=(terminal, lost), name="esper-terminal", daemon=True
        ).start()
    return True


class _Ending:
    """An app's last resort, started once (by the first stop signal or a lost terminal) on a
    thread of its own: whatever the event loop does, the source is stopped, the record closed
    and the process ended."""

    def __init__(self, app, loop: asyncio.AbstractEventLoop) -> None:
        self.app, self.loop = app, loop
        self._once = threading.Lock()

    def start(self, code: int, reason: str) -> None:
        # Never blocks: this may run in a signal handler that interrupted a call to start().
        if self._once.acquire(blocking=False):
            threading.Thread(
                target=_last_resort,
                args=(self.app, code, reason, self.loop),
                name="esper-exit",
                daemon=True,
            ).start()


def _terminal_fd() -> int | None:
    """The app's terminal: the first of stdin, stdout and stderr that is one."""
    for fd in (0, 1, 2):
        try:
            if os.isatty(fd):
                return fd
        except OSError:
            pass
    return None


def terminal_lost(fd: int, timeout_ms: int | None = 0) -> bool:
    """Whether the terminal on ``fd`` hung up (or its descriptor was closed). A hung-up tty
    reports POLLHUP/POLLERR to ``poll`` whatever events were asked for, so asking for none
    waits (``timeout_ms`` None: for ever) without a wake-up until that happens."""
    poller = select.poll()
    poller.register(fd, 0)
    try:
        events = poller.poll(timeout_ms)
    except OSError:
        return True
    return any(mask & _HANGUP for _, mask in events)


def _watch_terminal(fd: int, lost: Callable[[], None]) -> None:
    """Sleeps in ``poll`` until the terminal hangs up, then calls ``lost`` once."""
    while not terminal_lost(fd, None):
        time.sleep(0.1)  # poll returned without a hangup (an interrupted call): wait again
    time.sleep(HANGUP_WAIT_S)  # a SIGHUP sent with the hangup comes first and names itself
    try:
        lost()
    except RuntimeError:  # the loop is closed: the app has exited already
        pass


def _answers(loop: asyncio.AbstractEventLoop, timeout: float) -> bool:
    """Whether the event loop runs a callback within ``timeout`` seconds (a closed one has
    finished: the app is on its way out)."""
    ran = threading.Event()
    try:
        loop.call_soon_threadsafe(ran.set)
    except RuntimeError:
        return True
    return ran.wait(timeout)


def _last_resort(
    app,
    code: int,
    reason: str,
    loop: asyncio.AbstractEventLoop | None = None,
    grace: float = GRACE_S,
) -> None:
    """After a hangup the terminal is gone, and Textual's output thread can wait forever to
    restore it (and the event loop with it). The source is stopped here too (a second stop
    request is harmless; the first one's reason goes into the record), and once the trainer has
    stopped and the record is closed nothing can be lost: if the app has still not exited
    ``grace`` seconds later, leave without it: at once when the event loop is stuck (it would
    restore nothing), after half a second when the terminal is gone (nothing to restore)."""
    from esper_tui.sources import CommandSource

    session = getattr(app, "session", None)
    try:
        if isinstance(session, CommandSource):
            session.stop(60.0, reason)
        elif session is not None:
            session.stop(60.0)
    finally:
        app.store.close()  # idempotent: the shutdown path closes it too
        terminal = _terminal_fd()
        if terminal is None or terminal_lost(terminal):
            time.sleep(min(grace, LOST_GRACE_S))
        else:  # the app restores the terminal and exits, unless its loop gets stuck doing so
            end = time.monotonic() + grace
            while (left := end - time.monotonic()) > 0 and (
                loop is None or _answers(loop, min(LOOP_WAIT_S, left))
            ):
                time.sleep(min(0.1, max(left, 0.0)))
        os._exit(code)
