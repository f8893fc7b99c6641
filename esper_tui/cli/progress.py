"""The progress display of ``esper-iql``: Rich bars on stderr (stdout keeps the results), the
same for every command; each command says which columns follow a row's name and bar."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)


class ProgressBars:
    """One row per task: its name (padded to ``name_width``), its bar, then ``columns``:
    ``"count"`` (done/total), ``"eta"`` (time remaining) or the name of a task field."""

    def __init__(self, *columns: str, name_width: int = 0) -> None:
        name = "[bold]{task.description" + (f":<{name_width}" if name_width else "") + "}"
        made: list[ProgressColumn] = [TextColumn(name), BarColumn()]
        for column in columns:
            if column == "count":
                made.append(MofNCompleteColumn())
            elif column == "eta":
                made.append(TimeRemainingColumn())
            else:
                made.append(TextColumn("{task.fields[" + column + "]}"))
        self._progress = Progress(*made, console=Console(stderr=True))

    def add(self, name: str, total: float | None = None, **fields: Any) -> TaskID:
        return self._progress.add_task(name, total=total, **fields)

    def update(self, task: TaskID, **changes: Any) -> None:
        self._progress.update(task, **changes)

    def __enter__(self) -> Self:
        self._progress.__enter__()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._progress.__exit__(exc_type, exc, tb)
