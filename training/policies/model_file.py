"""A model file is judged before torch reads a byte of it.

``torch.load`` reads the whole file into memory and trusts the zip's contents, so first: it must
be a regular file (a FIFO would block forever, a device never end), no larger than a cap far above
any real checkpoint, and, when it is a zip (every ``torch.save`` since 1.6), every member's CRC
must check and its unpacked size must stay under the cap too. Each problem is one sentence.
"""

from __future__ import annotations

import os
import stat
import zipfile
from pathlib import Path

from training.util.safe_io import kind_of

MAX_MODEL_BYTES = 2**30  # 1 GiB; our checkpoints are tens of kB, the plan's a few MB


class ModelFileProblem(ValueError):
    """Why a model file is not even read; a clause that completes "cannot load IQL model X: "."""


def check_model_file(path: str | os.PathLike[str], max_bytes: int = MAX_MODEL_BYTES) -> Path:
    """Raise ``ModelFileProblem`` for a file torch must not be given; return the path otherwise."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise ModelFileProblem("the file does not exist") from None
    except OSError as error:
        raise ModelFileProblem(f"it cannot be read ({error.strerror or type(error).__name__})") from None
    if stat.S_ISDIR(st.st_mode):
        raise ModelFileProblem("it is a directory, not a file")
    if not stat.S_ISREG(st.st_mode):
        raise ModelFileProblem(f"it is {kind_of(st.st_mode)}, not a regular file")
    if st.st_size > max_bytes:
        raise ModelFileProblem(f"it is {st.st_size / 2**20:.0f} MiB, over the {max_bytes / 2**20:.0f} MiB "
                               "that any real checkpoint stays far below")  # fmt: skip
    try:
        with open(p, "rb") as handle:
            handle.read(1)
    except OSError as error:
        raise ModelFileProblem(f"it cannot be read ({error.strerror or type(error).__name__})") from None
    if zipfile.is_zipfile(p):
        _check_zip(p, max_bytes)
    return p


def _check_zip(path: Path, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(path) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > max_bytes:
                raise ModelFileProblem(f"its archive unpacks to {unpacked / 2**20:.0f} MiB, over the "
                                       f"{max_bytes / 2**20:.0f} MiB cap")  # fmt: skip
            bad = archive.testzip()
    except ModelFileProblem:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to read the archive means "corrupt"
        raise ModelFileProblem(f"its zip archive is corrupt ({type(error).__name__})") from None
    if bad is not None:
        raise ModelFileProblem(f"its zip archive is corrupt (member {bad[:60]!r} fails its CRC check)")
