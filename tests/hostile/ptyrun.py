"""Run a command in a pseudo-terminal, as a user's terminal would (stdlib ``pty`` only)."""

from __future__ import annotations

import os
import pty
import select
import signal
import struct
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass

ALT_SCREEN_OFF = b"\x1b[?1049l"
MOUSE_OFF = b"\x1b[?1000l"


@dataclass
class PtyResult:
    code: int | None  # exit status, or None if it had to be killed
    screen: bytes  # everything written to the terminal


def run_in_pty(
    argv: list[str],
    env: dict[str, str],
    until: Callable[[bytes], bool],
    send: int | bytes | None,
    timeout: float = 60.0,
    cols: int = 120,
    rows: int = 40,
) -> PtyResult:
    """Start ``argv`` on a new pty; once ``until(screen so far)`` is true, send a signal (an int)
    or keys (bytes), or hang up (None: the terminal closes, as when its window is closed); read
    until the process exits. Kills it (code None) after ``timeout``."""
    pid, fd = pty.fork()
    if pid == 0:  # child
        try:
            os.execvpe(argv[0], argv, env)
        finally:
            os._exit(127)
    import fcntl

    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    screen = b""
    sent = False
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if ready:
            try:
                chunk = os.read(fd, 65536)
            except OSError:
                chunk = b""
            screen += chunk
        if not sent and until(screen):
            sent = True
            if send is None:
                os.close(fd)
                _, raw = os.waitpid(pid, 0) if _wait(pid, deadline) else (pid, None)
                return PtyResult(None if raw is None else os.waitstatus_to_exitcode(raw), screen)
            if isinstance(send, int):
                os.kill(pid, send)
            else:
                os.write(fd, send)
        done, raw = os.waitpid(pid, os.WNOHANG)
        if done:
            status = raw
            while True:  # drain what is left
                ready, _, _ = select.select([fd], [], [], 0.05)
                if not ready:
                    break
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
            break
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
        return PtyResult(None, screen)
    os.close(fd)
    return PtyResult(os.waitstatus_to_exitcode(status), screen)


def _wait(pid: int, deadline: float) -> bool:
    """True once ``pid`` can be reaped; kills it at ``deadline``."""
    while time.monotonic() < deadline:
        if os.waitid(os.P_PID, pid, os.WEXITED | os.WNOHANG | os.WNOWAIT) is not None:
            return True
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    return False


# by hand: python tests/hostile/ptyrun.py TERM esper-tui --preset tiny ...
if __name__ == "__main__":
    sig = getattr(signal, "SIG" + sys.argv[1])
    result = run_in_pty(sys.argv[2:], dict(os.environ), lambda s: len(s) > 20000, sig)
    print(result.code, ALT_SCREEN_OFF in result.screen, MOUSE_OFF in result.screen)
