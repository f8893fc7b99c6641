"""The progress bars of ``esper-iql``: a stage's label always whole (never cut to "col…"), what
is happening wrapped rather than cut, and an ETA that settles instead of jumping."""

from __future__ import annotations

from rich.progress import BarColumn, ProgressColumn, Task, TextColumn
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
        return Text(f"{left // 3600}:{left // 60 % 60:02d}:{left % 60:02d}", style="progress.remaining")


def progress_columns(label_width: int, *extra: ProgressColumn, info: str = "{task.fields[info]}") -> list:
    """Label (at least ``label_width`` cells, never cut), bar, ``extra`` columns, ETA, and the
    info text, which folds onto a second line when the terminal is narrow."""
    return [
        TextColumn("[bold]{task.description}", table_column=Column(min_width=label_width, no_wrap=True)),
        BarColumn(), *extra, SteadyETAColumn(),
        TextColumn(info, table_column=Column(ratio=1, overflow="fold")),
    ]  # fmt: skip
