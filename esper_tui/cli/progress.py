"""The progress display of ``esper-iql``: Rich bars on stderr (stdout keeps the results), the
same for every command; each command says which columns follow a row's name and bar. A row's
name is always whole (never cut to "col…"), a text column folds onto a second line rather than
being cut, and the ETA settles instead of jumping."""

from __future__ import annotations

from types import TracebackType
from typing import Any, Self

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
)
from rich.table import Column
from rich.text import Text


class SteadyETAColumn(ProgressColumn):
    """Time left at the average rate since the start. Rich's own ETA uses the rate of the last
    seconds, which jumps (0:00:01, then 0:00:27) when updates come in coarse steps."""

    def render(self, task: Task) -> Text:
        if task.finished:
            return Text("done", style="progress.elapsed")
        if not task.total or not task.completed or not task.elapsed:
            return Text("-:--:--", style="progress.remaining")
        left = int(task.elapsed / task.completed * (task.total - task.completed))
        return Text(
            f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}", style="progress.remaining"
        )


class ProgressBars:
    """One row per task: its name (at least ``name_width`` cells, never cut), its bar, then
    ``columns``: ``"count"`` (done/total), ``"eta"`` (time remaining at the average rate) or
    the name of a task field (folded onto more lines when the terminal is narrow)."""

    def __init__(self, *columns: str, name_width: int = 0, console: Console | None = None) -> None:
        made: list[ProgressColumn] = [
            TextColumn(
                "[bold]{task.description}",
                table_column=Column(min_width=name_width, no_wrap=True),
            ),
            BarColumn(),
        ]
        for column in columns:
            if column == "count":
                made.append(MofNCompleteColumn())
            elif column == "eta":
                made.append(SteadyETAColumn())
            else:
                field = "{task.fields[" + column + "]}"
                made.append(TextColumn(field, table_column=Column(ratio=1, overflow="fold")))
        self._progress = Progress(*made, console=console or Console(stderr=True))

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
