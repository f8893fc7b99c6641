"""What ``esper-iql`` needs to end well: outputs checked before any work, training stopped at a
step boundary by a signal or a non-finite loss, and records that could not be written saved
elsewhere. Plain Python; the CLI calls each piece in a line or two."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from pathlib import Path

from esper_tui.record_writer import RecordFile
from esper_tui.stop_signals import signal_name
from training.util.safe_io import PathError, check_output_file


class TrainingStopped(Exception):
    """Training ended early; the message is one sentence and no checkpoint is written."""


def output(path: str, what: str, force: bool) -> Path:
    """An output path that is new (or, with ``force``, a regular file no run holds), in a folder
    where a file can be made now (tried); ``PathError`` otherwise, before any work."""
    return check_output_file(path, what, force, probe=True)


def open_record(path: str | None, force: bool) -> RecordFile | None:
    return (
        None
        if path is None
        else RecordFile(check_output_file(path, "the record", force), force=force)
    )


def loss_guard(stop: threading.Event, signals) -> Callable[[int, dict], None]:
    """A per-step check for ``train_offline``'s progress hook: a stop signal or a NaN/inf loss
    raises ``TrainingStopped`` at that step boundary."""

    def check(step: int, losses: dict) -> None:
        bad = sorted(name for name, value in losses.items() if not math.isfinite(float(value)))
        if bad:
            raise TrainingStopped(
                f"training stopped at step {step}: {', '.join(bad)} became NaN or infinite "
                "(check the dataset's scale or lower --lr); no checkpoint was written"
            )
        if stop.is_set():
            raise TrainingStopped(
                f"interrupted by {signal_name(signals.signum)} at step {step}; "
                "no checkpoint was written"
            )

    return check


def record_problem(writer: RecordFile | None) -> str | None:
    """After a run: None if its record was written, else one sentence saying where it went."""
    if writer is None:
        return None
    writer.close()
    if writer.error is None:
        return None
    rescued = writer.rescue()
    where = (
        f"the whole run was saved to {rescued} instead"
        if rescued
        else "it could not be saved elsewhere either"
    )
    return f"{writer.error}; {where}"


__all__ = ["PathError", "TrainingStopped", "loss_guard", "open_record", "output", "record_problem"]
