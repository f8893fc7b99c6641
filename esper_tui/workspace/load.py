"""A run's outcome (``training.runs.outcome``) from its record file, read whole by the product's
record reader: shared by the comparison screen and ``esper-iql summarize``."""

from __future__ import annotations

from pathlib import Path

from esper_tui.record_open import ReplayError, check_readable
from esper_tui.replay import read_records
from training.runs.outcome import NoRunRecord, RunOutcome, run_outcome
from training.util.safe_io import PathError


def read_outcome(path: str | Path) -> RunOutcome:
    """The ``RunOutcome`` of one record file; ``PathError`` with one sentence when it cannot be
    read or holds no run."""
    try:
        checked = check_readable(path)
        records, corrupt = read_records(checked)
    except ReplayError as exc:
        raise PathError(str(exc)) from None
    except OSError as exc:
        raise PathError(f"cannot read record file {path}: {exc.strerror or exc}") from None
    try:
        return run_outcome(path, records, corrupt)
    except NoRunRecord:
        unreadable = f" ({corrupt} unreadable line(s))" if corrupt else ""
        raise PathError(
            f"{path} is not an Esper record: it holds no run line{unreadable}"
        ) from None
