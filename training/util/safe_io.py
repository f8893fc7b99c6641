"""Paths checked before they are trusted, and outputs that are never clobbered or half-written.

Inputs are ``stat``-ed before they are opened: a FIFO blocks its reader until a writer appears,
and a device or socket is never a model, a record or a dataset. Outputs are written to a
temporary file in the target's folder and renamed onto a path that is new, or, with ``force``,
onto a regular file, never onto a device node, FIFO or folder (``os.replace`` would replace
those too, as root). Every problem is a ``PathError`` whose message is one sentence naming the path.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# Temporary files being written right now. A process that must leave at once (a stop signal
# while nothing is to be kept) removes them first, so that no half-written ``.name.XXXX`` file
# outlives it; the writes below register and release their own.
_temporaries: set[Path] = set()


def remove_temporaries() -> None:
    """Remove every temporary file a write has under way (called just before ``os._exit``)."""
    for tmp in list(_temporaries):
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


class PathError(ValueError):
    """A path that cannot be used as asked; the message is one sentence naming it."""


def kind_of(mode: int) -> str:
    """What a file is, in words ("a folder", "a FIFO (named pipe)", "a regular file", ...)."""
    if stat.S_ISREG(mode):
        return "a regular file"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "an unknown kind of file"


def _reason(error: OSError) -> str:
    return error.strerror or type(error).__name__


class InputProblem(PathError):
    """Why an input file cannot be read, as facts: ``kind`` is "missing", "unreadable" (its
    ``stat`` failed), "folder", "special", "too large" or "no access" (opening or reading it
    failed); ``detail`` is the OS's reason, the file's kind in words, or its size in MiB. Each
    reader words them in its own sentence."""

    def __init__(self, kind: str, detail: str = "") -> None:
        super().__init__(f"{kind}: {detail}" if detail else kind)
        self.kind, self.detail = kind, detail


def examine_input_file(path: Path, max_bytes: int | None = None, head: int = 1) -> bytes:
    """The one check every input file passes before it is opened for real: it exists, is a
    regular file (symlinks followed; a FIFO would block its reader forever, a device never end),
    is no larger than ``max_bytes``, and can be opened and read; its first ``head`` bytes come
    back. ``InputProblem`` otherwise."""
    try:
        st = path.stat()
    except FileNotFoundError:
        raise InputProblem("missing") from None
    except OSError as error:
        raise InputProblem("unreadable", _reason(error)) from None
    if stat.S_ISDIR(st.st_mode):
        raise InputProblem("folder", kind_of(st.st_mode))
    if not stat.S_ISREG(st.st_mode):
        raise InputProblem("special", kind_of(st.st_mode))
    if max_bytes is not None and st.st_size > max_bytes:
        raise InputProblem("too large", f"{st.st_size / 2**20:.0f} MiB")
    try:  # O_NONBLOCK: should the file have become a FIFO since the stat, the open does not hang
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        try:
            return os.read(fd, head)
        finally:
            os.close(fd)
    except OSError as error:
        raise InputProblem("no access", _reason(error)) from None


def check_input_file(path: str | os.PathLike[str], what: str, max_bytes: int | None = None) -> Path:
    """A regular, readable file (symlinks followed), no larger than ``max_bytes``."""
    p = Path(path).expanduser()
    try:
        examine_input_file(p, max_bytes)
    except InputProblem as problem:
        kind, detail = problem.kind, problem.detail
        if kind == "missing":
            raise PathError(f"{what} {p} does not exist") from None
        if kind == "no access":
            detail = "permission denied" if detail == os.strerror(errno.EACCES) else detail
        if kind in ("unreadable", "no access"):
            raise PathError(f"cannot read {what} {p}: {detail}") from None
        if kind == "too large" and max_bytes is not None:  # only a cap makes a file too large
            limit = f"{max_bytes / 2**20:.0f} MiB"
            raise PathError(f"{what} {p} is {detail}, more than the {limit} allowed") from None
        raise PathError(f"{what} {p} is {detail}, not a regular file") from None
    return p


def check_input_dir(path: str | os.PathLike[str], what: str, must_exist: bool = True) -> Path:
    """A folder (or, without ``must_exist``, a path not there yet whose parent is a folder)."""
    p = Path(path).expanduser()
    try:
        st = p.stat()
    except FileNotFoundError:
        if must_exist:
            raise PathError(f"{what} {p} does not exist") from None
        return p
    except OSError as error:
        raise PathError(f"cannot use {what} {p}: {_reason(error)}") from None
    if not stat.S_ISDIR(st.st_mode):
        raise PathError(f"{what} {p} is {kind_of(st.st_mode)}, not a folder")
    if not os.access(p, os.R_OK | os.X_OK):
        raise PathError(f"cannot read {what} {p}: permission denied")
    return p


def lock_holder(path: Path | int) -> int | None:
    """The pid holding an advisory lock on ``path`` (or on the file open as descriptor
    ``path``), from Linux's ``/proc/locks``, if any is found. It only reads: it never takes
    the lock, so it can never make a writer fail."""
    try:
        inode = os.fstat(path).st_ino if isinstance(path, int) else path.stat().st_ino
        with open("/proc/locks", encoding="ascii", errors="replace") as locks:
            for line in locks:
                parts = line.split()
                if len(parts) > 5 and parts[1] == "FLOCK" and parts[5].endswith(f":{inode}"):
                    return int(parts[4])
    except (OSError, ValueError):
        return None
    return None


def busy(path: Path, what: str = "the record") -> PathError:
    """The refusal for a file another run holds (its record lock), naming that run's pid."""
    holder = lock_holder(path)
    who = f"process {holder}" if holder is not None else "another process"
    if what == "the record":
        return PathError(f"the record {path} is being written by {who}; choose another file")
    return PathError(
        f"{what} {path} is a record being written by {who}; choose another file, even with --force"
    )


@contextmanager
def unheld(path: Path, what: str) -> Iterator[None]:
    """Hold the record lock of the regular file at ``path`` (if there is one) while the body
    replaces it, so that no run's live record is replaced, and no run can start writing it
    meanwhile; ``busy`` if another process holds it."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        yield
        return
    except OSError as error:
        raise PathError(f"cannot write {what} {path}: {_reason(error)}") from None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise busy(path, what) from None
        except OSError:
            pass  # a filesystem without locks: nobody can hold one there
        yield
    finally:
        os.close(fd)


def check_output_file(
    path: str | os.PathLike[str], what: str, force: bool = False, probe: bool = False
) -> Path:
    """A new path in a writable folder, or (with ``force``) an existing regular file that no
    run holds as its record. ``probe``: also create and remove a file in the folder, which
    finds what permission bits do not show (a read-only filesystem, an immutable folder, and
    any of these for root), before the work whose result would go there."""
    p = Path(path).expanduser()
    try:
        st = p.lstat()
    except FileNotFoundError:
        st = None
    except OSError as error:
        raise PathError(f"cannot write {what} {p}: {_reason(error)}") from None
    if st is not None:
        if stat.S_ISLNK(st.st_mode):
            raise PathError(f"{what} {p} is a symbolic link; give the real path of a new file")
        if not stat.S_ISREG(st.st_mode):
            raise PathError(f"{what} {p} is {kind_of(st.st_mode)}; give the path of a new file")
        with unheld(p, what):
            pass
        if not force:
            raise PathError(
                f"{what} {p} already exists; choose a new file, or pass --force to replace it"
            )
    parent = p.parent
    if not parent.is_dir():
        raise PathError(f"cannot write {what} {p}: folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise PathError(f"cannot write {what} {p}: permission denied in folder {parent}")
    if probe:
        probe_folder(parent, f"{what} {p}")
    return p


def probe_folder(folder: Path, what: str) -> None:
    """``PathError`` unless a file can be created in ``folder`` (it is removed at once)."""
    try:
        fd, name = tempfile.mkstemp(prefix=".esper-probe-", dir=folder)
    except OSError as error:
        raise PathError(
            f"cannot write {what}: {_reason(error).lower()} in folder {folder}"
        ) from None
    os.close(fd)
    os.unlink(name)


class WriteFailed(PathError):
    """Finished work could not be written where asked; ``rescued`` is where it went instead
    (the system's temporary folder), or None if that failed too. The message says both."""

    def __init__(self, message: str, rescued: Path | None) -> None:
        super().__init__(message)
        self.rescued = rescued


def write_or_rescue(
    path: Path, write: Callable[[Path], object], what: str, force: bool = False
) -> None:
    """``atomic_write``; if that fails (a full disk, the folder gone or made read-only, the path
    taken meanwhile), the same content is written to a new file in the system's temporary folder
    and ``WriteFailed`` says where, so finished work is never lost to a failed write."""
    try:
        atomic_write(path, write, what, force)
    except PathError as error:
        rescued = rescue_write(path, write)
        where = (
            f"; it was saved to {rescued} instead"
            if rescued
            else "; it could not be saved elsewhere either"
        )
        raise WriteFailed(f"{error}{where}", rescued) from None


def rescue_write(path: Path, write: Callable[[Path], object]) -> Path | None:
    """``write`` into a new file in the system's temporary folder named after ``path``; None if
    that fails too (a partial file is removed: it would only mislead)."""
    try:
        fd, name = tempfile.mkstemp(prefix=f"{path.stem}-rescued-", suffix=path.suffix or ".out")
    except OSError:
        return None
    os.close(fd)
    rescued = Path(name)
    _temporaries.add(rescued)
    try:
        write(rescued)
        with open(rescued, "rb") as handle:
            os.fsync(handle.fileno())
    except Exception:  # noqa: BLE001 - whatever failed, the rescue did not happen
        rescued.unlink(missing_ok=True)
        return None
    finally:
        _temporaries.discard(rescued)
    return rescued


def new_path(folder: Path, stem: str, suffix: str) -> Path:
    """``folder/stem.suffix``, or ``stem-2``, ``stem-3``... : the first name nothing uses yet."""
    candidate, n = folder / f"{stem}{suffix}", 1
    while candidate.exists() or candidate.is_symlink():
        n += 1
        candidate = folder / f"{stem}-{n}{suffix}"
    return candidate


def create_new(path: Path, text: str, what: str) -> Path:
    """Write ``text`` to ``path``, which must not exist yet (``O_EXCL``: a file that appears
    meanwhile is never replaced, a symbolic link never followed). A failure (the folder gone, a
    full disk, no permission) is a ``PathError`` naming the file and the cause, and leaves no
    partial file behind."""
    if not path.parent.is_dir():
        raise PathError(f"cannot write {what} {path}: folder {path.parent} does not exist")
    try:
        fd = os.open(
            path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o666
        )
    except FileExistsError:
        raise PathError(f"{what} {path} appeared meanwhile; it was left as it is") from None
    except OSError as error:
        raise PathError(f"cannot write {what} {path}: {_reason(error)}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as error:
        path.unlink(missing_ok=True)
        raise PathError(f"cannot write {what} {path}: {_reason(error)}") from None
    return path


def atomic_write(
    path: Path, write: Callable[[Path], object], what: str, force: bool = False
) -> None:
    """Call ``write(tmp)`` on a temporary file beside ``path`` (same suffix, so numpy and torch
    keep the name), fsync it, then move it onto ``path``: without ``force`` only onto a new path
    (a hard link, which fails if the path appeared meanwhile), with it onto a regular file.
    The temporary file never outlives a failure."""
    check_output_file(path, what, force)
    fd, name = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=path.suffix or ".tmp", dir=path.parent
    )
    os.close(fd)
    tmp = Path(name)
    _temporaries.add(tmp)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # as open() would have made it, not mkstemp's 0600
    try:
        write(tmp)
        with open(tmp, "rb") as handle:
            os.fsync(handle.fileno())
        _commit(tmp, path, what, force)
    except OSError as error:
        raise PathError(f"cannot write {what} {path}: {_reason(error)}") from None
    finally:
        tmp.unlink(missing_ok=True)
        _temporaries.discard(tmp)
    _sync_dir(path.parent)


def _commit(tmp: Path, path: Path, what: str, force: bool) -> None:
    """A new path gets a hard link (it fails if the path appeared meanwhile); an existing file,
    with ``force``, is replaced while its record lock is held by us, so a run's live record is
    never replaced and none can start on it during the rename."""
    try:
        os.link(tmp, path)
        return
    except FileExistsError:
        if not force:
            raise PathError(
                f"{what} {path} appeared while it was being written; it was left as it is"
            ) from None
    except OSError as error:
        if error.errno not in (errno.EPERM, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
    # still a regular file or a new path, just before the rename
    check_output_file(path, what, force)
    with unheld(path, what):
        os.replace(tmp, path)


def _sync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
