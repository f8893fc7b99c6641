"""A model file is read once and judged before torch sees a byte of it.

``torch.load`` trusts the zip's contents, so first: it must
be a regular file (a FIFO would block forever, a device never end), no larger than a cap far above
any real checkpoint, and, when it is a zip (every ``torch.save`` since 1.6), every member's CRC
must check and its unpacked size must stay under the cap too. Each problem is one sentence.
"""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

from training.util.safe_io import InputProblem, examine_input_file

MAX_MODEL_BYTES = 2**30  # 1 GiB; our checkpoints are tens of kB, the plan's a few MB


class ModelFileProblem(ValueError):
    """Why a model file is not even read; a clause that completes "cannot load IQL model X: "."""


def read_model_file(path: str | os.PathLike[str], max_bytes: int = MAX_MODEL_BYTES) -> bytes:
    """The file's bytes, read once; ``ModelFileProblem`` for a file torch must not be given."""
    p = Path(path)
    try:
        examine_input_file(p, max_bytes)
    except InputProblem as problem:
        raise ModelFileProblem(_clause(problem, max_bytes)) from None
    try:
        with open(p, "rb") as handle:
            data = handle.read(max_bytes + 1)
    except OSError as error:
        raise ModelFileProblem(
            f"it cannot be read ({error.strerror or type(error).__name__})"
        ) from None
    if len(data) > max_bytes:  # it grew since it was examined
        raise ModelFileProblem(
            f"it is over the {max_bytes / 2**20:.0f} MiB that any real checkpoint stays far below"
        )
    if zipfile.is_zipfile(io.BytesIO(data)):
        _check_zip(io.BytesIO(data), max_bytes)
    return data


def _clause(problem: InputProblem, max_bytes: int) -> str:
    if problem.kind == "missing":
        return "the file does not exist"
    if problem.kind in ("unreadable", "no access"):
        return f"it cannot be read ({problem.detail})"
    if problem.kind == "folder":
        return "it is a directory, not a file"
    if problem.kind == "too large":
        return f"it is {problem.detail}, over the {max_bytes / 2**20:.0f} MiB that any real checkpoint stays far below"
    return f"it is {problem.detail}, not a regular file"


def _check_zip(archive_file: io.BytesIO, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(archive_file) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
            if unpacked > max_bytes:
                raise ModelFileProblem(
                    f"its archive unpacks to {unpacked / 2**20:.0f} MiB, over the "
                    f"{max_bytes / 2**20:.0f} MiB cap"
                )
            bad = archive.testzip()
    except ModelFileProblem:
        raise
    except Exception as error:  # noqa: BLE001 - any failure to read the archive means "corrupt"
        raise ModelFileProblem(f"its zip archive is corrupt ({type(error).__name__})") from None
    if bad is not None:
        raise ModelFileProblem(
            f"its zip archive is corrupt (member {bad[:60]!r} fails its CRC check)"
        )
