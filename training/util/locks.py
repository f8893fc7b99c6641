"""Who holds a record file's writer lock: the advisory ``flock`` a live run keeps on its record
for as long as it writes it (``esper_tui/record_writer.py`` takes it)."""

from __future__ import annotations

import fcntl
from pathlib import Path

PROC_LOCKS = Path("/proc/locks")


def lock_holder(path: Path) -> int | None:
    """The pid holding an advisory lock on ``path`` (Linux ``/proc/locks``), if any is found."""
    try:
        inode = path.stat().st_ino
        with open(PROC_LOCKS, encoding="ascii", errors="replace") as locks:
            for line in locks:
                parts = line.split()
                if len(parts) > 5 and parts[1] == "FLOCK" and parts[5].endswith(f":{inode}"):
                    return int(parts[4])
    except (OSError, ValueError):
        return None
    return None


def is_write_locked(fd: int, path: Path) -> tuple[bool, int | None]:
    """Whether a writer holds the record open at ``fd`` (a descriptor of ``path``), and its pid
    where the system names it. Where ``/proc/locks`` exists it is read and nothing is locked;
    elsewhere a shared lock is tried for an instant without waiting."""
    if PROC_LOCKS.exists():
        holder = lock_holder(path)
        return holder is not None, holder
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True, None
    except OSError:
        return False, None
    fcntl.flock(fd, fcntl.LOCK_UN)
    return False, None
