"""The runs screen: every record file in a folder and one level below it, newest first,
rescanned every few seconds, each row the run's status, start, duration, mode, preset,
episodes, lanes, paired result per IQL lane and size.

A row's summary is ``training.records.summary.read_summary`` (the record's first line and its
tail, its writer lock); a file that is no record is listed as UNREADABLE with the reason. Rows
are keyed by path and diffed on each rescan (new rows added, gone ones removed, the rest
updated in place), so the cursor stays on its run. Scans run on a worker thread.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path

from rich.text import Text
from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.coordinate import Coordinate
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Input, Static

from esper_tui.workspace.rows import (
    COLUMNS,
    SORTS,
    detail_text,
    matches,
    row_cells,
    sort_value,
)
from esper_tui.workspace.scan import Scan, SummaryCache
from training.records.summary import LIVE, UNREADABLE, RunSummary
from widgets.run_colours import RunColours

RESCAN_S = 3.0
MAX_COMPARED = 6


class RunsTable(DataTable):
    """The list; its ``enter`` is in the footer, as "Open" (it posts ``DataTable.RowSelected``).
    Home and End go to the first and the last run (DataTable's own scroll sideways)."""

    BINDINGS = [
        Binding("enter", "select_cursor", "Open"),
        Binding("home", "scroll_top", "First run", show=False),
        Binding("end", "scroll_bottom", "Last run", show=False),
    ]


class RunsScreen(Screen[None]):
    """The runs in ``folder``. Construct it from a folder path alone (no trainer, no store):
    ``--runs``, ``r`` on a dashboard and ``--serve`` all do."""

    BINDINGS = [
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit_app", "Quit"),
        Binding("space", "toggle_select", "Select"),
        Binding("c", "compare", "Compare"),
        Binding("slash", "filter", "Filter"),
        Binding("o", "sort", "Sort"),
        Binding("O", "reverse", "Reverse", show=False),
        Binding("r", "rescan", "Rescan"),
        Binding("escape", "back", "Back"),
    ]

    def __init__(
        self,
        folder: str | Path,
        rescan_s: float = RESCAN_S,
        replay_speed: float = 4.0,
        refresh_hz: float = 4.0,
        clock: Callable[[], float] | None = time.time,
        threaded: bool = True,
    ) -> None:
        """``rescan_s`` 0 starts no timer and ``threaded`` False scans on the UI thread (tests
        call ``rescan``); ``clock`` None shows no wall-clock ages (snapshots). ``replay_speed``
        and ``refresh_hz`` are the opened runs' (as ``--speed`` and ``--refresh``)."""
        super().__init__()
        self.folder = Path(folder)
        self.rescan_s = rescan_s
        self.replay_speed = replay_speed
        self.refresh_hz = refresh_hz
        self.clock = clock
        self.threaded = threaded
        self.cache = SummaryCache()
        self.summaries: dict[str, RunSummary] = {}  # by row key (the path)
        self.selected: list[str] = []  # row keys, in the order selected
        self.colours = RunColours()
        self.filter_text = ""
        self.sort_column = "started"
        self.sort_reverse = True
        self.skipped = 0
        self.problem = ""
        self.scans = 0

    # ------------------------------------------------------------------ composition
    def compose(self) -> ComposeResult:
        yield Static("", id="runs-title")
        yield RunsTable(id="runs-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="runs-detail")
        yield Input(
            placeholder="filter: words that must all appear; enter keeps it, escape clears",
            id="runs-filter",
        )
        yield Footer(compact=True, show_command_palette=False)

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        for key, label in COLUMNS:
            table.add_column(label, key=key)
        self.query_one(Input).display = False
        self.rescan()
        if self.rescan_s > 0:
            self.set_interval(self.rescan_s, self.rescan, name="rescan")
        table.focus()

    # ------------------------------------------------------------------ scanning
    def rescan(self) -> None:
        if self.threaded:
            self._scan_in_thread()
        else:
            self.apply(self.cache.scan(self.folder))

    @work(thread=True, exclusive=True, name="runs-scan")
    def _scan_in_thread(self) -> None:
        scan = self.cache.scan(self.folder)
        self.app.call_from_thread(self.apply, scan)

    def apply(self, scan: Scan) -> None:
        """Show a scan: diff the rows by path, keep the cursor on its run (UI thread)."""
        self.scans += 1
        self.skipped, self.problem = scan.skipped, scan.problem
        self.summaries = {str(s.path): s for s in scan.summaries}
        self.selected = [k for k in self.selected if k in self.summaries]
        self._refill()

    def _refill(self) -> None:
        table = self.query_one(DataTable)
        current = self.current_key()
        shown = {
            k: s
            for k, s in self.summaries.items()
            if matches(s, self.filter_text, self._relative(s))
        }
        with self.app.batch_update():
            for row_key in [k for k in list(table.rows) if k.value not in shown]:
                table.remove_row(row_key)
            for key, summary in shown.items():
                cells = self._cells(key, summary)
                if key in table.rows:
                    for (column, _), cell in zip(COLUMNS, cells, strict=True):
                        table.update_cell(key, column, cell)
                else:
                    table.add_row(*cells, key=key)
            self._sort(table)
            if current is not None and current in table.rows:
                table.move_cursor(row=table.get_row_index(current), animate=False)
        self._retitle()
        self._show_detail()

    def _cells(self, key: str, summary: RunSummary) -> list[Text]:
        mark = Text("  ")
        if key in self.selected:
            mark = Text("● ", style=self.colour_of(key))
        return [mark, *row_cells(summary, self._relative(summary), self.clock)]

    def _relative(self, summary: RunSummary) -> str:
        try:
            return str(summary.path.relative_to(self.folder))
        except ValueError:
            return str(summary.path)

    def _sort(self, table: DataTable) -> None:
        column = self.sort_column
        summaries = self.summaries

        def key(cell: Text) -> tuple:
            summary = summaries.get(self._key_of_file(cell.plain))
            return sort_value(summary, column) if summary is not None else (1,)

        table.sort("file", key=key, reverse=self.sort_reverse)

    def _key_of_file(self, relative: str) -> str:
        path = self.folder / relative if not Path(relative).is_absolute() else Path(relative)
        return str(path)

    def colour_of(self, key: str) -> str:
        summary = self.summaries.get(key)
        run_key = summary.run_id if summary is not None and summary.run_id else key
        return self.colours.colour(run_key, {self._run_key(k) for k in self.selected})

    def _run_key(self, key: str) -> str:
        summary = self.summaries.get(key)
        return summary.run_id if summary is not None and summary.run_id else key

    def current_key(self) -> str | None:
        table = self.query_one(DataTable)
        if table.row_count == 0:
            return None
        try:
            row_key, _ = table.coordinate_to_cell_key(Coordinate(table.cursor_row, 0))
        except Exception:  # noqa: BLE001 - the cursor is off the rows
            return None
        return row_key.value

    def _retitle(self) -> None:
        title = Text("Runs in ", style="bold")
        title.append(str(self.folder), style="bold")
        shown = self.query_one(DataTable).row_count
        total = len(self.summaries)
        title.append(f" · {total} record(s)", style="dim")
        if shown != total:
            title.append(f", {shown} shown", style="dim")
        if self.selected:
            title.append(f" · {len(self.selected)} selected", style="dim")
        arrow = "↓" if self.sort_reverse else "↑"
        title.append(f" · sorted by {dict(SORTS)[self.sort_column]} {arrow}", style="dim")
        if self.filter_text:
            title.append(" · filter: ", style="dim")
            title.append(self.filter_text, style="yellow")
        if self.skipped:
            title.append(f" · {self.skipped} other file(s) not listed", style="dim")
        if self.problem:
            title.append(f" · {self.problem}", style="red")
        elif not total:
            title.append(
                " · no record files (*.jsonl) here yet; rescanned every few seconds", style="dim"
            )
        self.query_one("#runs-title", Static).update(title)

    @on(DataTable.RowHighlighted, "#runs-table")
    def _highlighted(self) -> None:
        self._show_detail()

    def _show_detail(self) -> None:
        key = self.current_key()
        summary = self.summaries.get(key) if key is not None else None
        self.query_one("#runs-detail", Static).update(
            Text("") if summary is None else detail_text(summary, self.clock)
        )

    # ------------------------------------------------------------------ actions
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "back":
            return len(self.app.screen_stack) > 1
        return True

    def action_rescan(self) -> None:
        self.rescan()
        self.notify("rescanning the folder", timeout=1.5)

    def action_toggle_select(self) -> None:
        key = self.current_key()
        if key is None:
            return
        if key in self.selected:
            self.selected.remove(key)
            self.colours.forget(self._run_key(key))
        elif self.summaries[key].status == UNREADABLE:
            self.notify("an unreadable file cannot be compared", severity="warning")
            return
        else:
            if len(self.selected) >= MAX_COMPARED:
                self.notify(f"at most {MAX_COMPARED} runs can be compared", severity="warning")
                return
            self.selected.append(key)
            self.colour_of(key)  # chosen now, in selection order, then kept
        self._refill()

    def action_compare(self) -> None:
        from esper_tui.workspace.compare import Compared, CompareScreen

        chosen = [k for k in self.selected if self.summaries[k].status != UNREADABLE]
        if len(chosen) < 2:
            self.notify(
                "select two to six runs with space first (unreadable files cannot be compared)",
                severity="warning",
            )
            return
        self.app.push_screen(
            CompareScreen(
                [
                    Compared(
                        self.summaries[k].path,
                        self.colour_of(k),
                        live=self.summaries[k].status == LIVE,
                    )
                    for k in chosen
                ],
                threaded=self.threaded,
            )
        )

    def action_filter(self) -> None:
        field = self.query_one(Input)
        field.display = True
        field.value = self.filter_text
        field.focus()

    @on(Input.Changed, "#runs-filter")
    def _filter_changed(self, event: Input.Changed) -> None:
        self.filter_text = event.value.strip()
        self._refill()

    @on(Input.Submitted, "#runs-filter")
    def _filter_done(self) -> None:
        self.query_one(Input).display = False
        self.query_one(DataTable).focus()

    def on_key(self, event) -> None:
        field = self.query_one(Input)
        if event.key == "escape" and field.has_focus:
            event.stop()
            field.value = ""
            field.display = False
            self.filter_text = ""
            self._refill()
            self.query_one(DataTable).focus()

    def action_sort(self) -> None:
        keys = [k for k, _ in SORTS]
        self.sort_column = keys[(keys.index(self.sort_column) + 1) % len(keys)]
        self.sort_reverse = self.sort_column in (
            "started",
            "duration",
            "size",
            "episodes",
            "paired",
        )
        self._refill()

    def action_reverse(self) -> None:
        self.sort_reverse = not self.sort_reverse
        self._refill()

    @on(DataTable.HeaderSelected, "#runs-table")
    def _header_clicked(self, event: DataTable.HeaderSelected) -> None:
        column = event.column_key.value
        if column not in dict(SORTS):
            return
        if column == self.sort_column:
            self.sort_reverse = not self.sort_reverse
        else:
            self.sort_column, self.sort_reverse = column, column in ("started", "duration", "size")
        self._refill()

    @on(DataTable.RowSelected, "#runs-table")
    def _open(self, event: DataTable.RowSelected) -> None:
        summary = self.summaries.get(event.row_key.value or "")
        if summary is None:
            return
        if summary.status == UNREADABLE:
            self.notify(f"{summary.name}: {summary.reason}", severity="warning", markup=False)
            return
        from esper_tui.workspace.opened import open_run

        open_run(self, summary.path, live=summary.status == LIVE)

    def action_back(self) -> None:
        self.dismiss()

    def action_help(self) -> None:
        from esper_tui.workspace.help import WorkspaceHelp

        self.app.push_screen(WorkspaceHelp())


def sorted_keys(screen: RunsScreen) -> Sequence[str]:
    """The row keys in the order shown (tests)."""
    table = screen.query_one(DataTable)
    return [row.key.value or "" for row in table.ordered_rows]
