"""The comparison of selected runs (``c`` on the runs screen): every lane's episode-mean
validation accuracy curve of every run on shared axes, each run in its own colour, and a table,
a row per run and lane, with the numbers ``esper-iql summarize`` prints.

Records are read whole on a worker thread (a long run takes a moment); the screen says so
meanwhile. A record that cannot be read is named under the table and the others are shown.
Within a run, the heuristic is drawn dim and each IQL lane bright, the second and later ones
with a marker on each epoch, so that a lane is told apart without a colour of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.color import Color
from textual.containers import Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static
from textual_plot import HiResMode, PlotWidget

from training.runs.outcome import LaneOutcome, RunOutcome, row_cells
from training.util.safe_io import PathError

COLUMNS = (
    "run", "lane", "eps", "final acc ± sd", "Δ vs heur [95% CI]", "W/T/L", "sd Δ",
    "detects", "eps needed", "agree", "foss/cull", "params+", "model",
)  # fmt: skip  # the cells of training.runs.outcome.row_cells, shorter headings
DELTA_COLUMN = 4
MARKERS = ("×", "+", "◆", "▲")  # the second and later IQL lanes of a run
LIVE_RELOAD_S = 5.0


@dataclass(frozen=True)
class Compared:
    """One selected run: its record file and its colour in the list."""

    path: Path
    colour: str
    live: bool = False  # being written: re-read while the comparison is open


class CompareScreen(Screen[None]):
    """Two to six runs side by side. ``escape`` goes back to the list."""

    BINDINGS = [
        Binding("escape", "close", "Back to runs"),
        Binding("question_mark", "help", "Help"),
        Binding("q", "app.quit_app", "Quit"),
    ]

    def __init__(
        self, runs: Sequence[Compared], threaded: bool = True, reload_s: float = LIVE_RELOAD_S
    ) -> None:
        """``threaded`` False reads the records on the UI thread, once (tests, snapshots);
        otherwise live runs are re-read every ``reload_s``."""
        super().__init__()
        self.runs = tuple(runs)
        self.threaded = threaded
        self.reload_s = reload_s
        self.loads = 0
        self.outcomes: tuple[tuple[RunOutcome, str], ...] = ()
        self.problems: tuple[str, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="compare-title")
        with Vertical(id="compare-plot-cell"):
            plot = PlotWidget(id="compare-plot", allow_pan_and_zoom=False)
            plot.can_focus = False
            yield plot
            yield Static("", id="compare-legend")
        yield DataTable(id="compare-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="compare-notes")
        yield Footer(compact=True, show_command_palette=False)

    def _title(self) -> Text:
        title = Text("Compare runs", style="bold")
        title.append(
            f" · {len(self.runs)} runs · validation accuracy (%) by epoch, mean over episodes",
            style="dim",
        )
        if any(run.live for run in self.runs):
            title.append(f" · live runs re-read every {self.reload_s:g} s", style="green")
        return title

    def on_mount(self) -> None:
        plot = self.query_one(PlotWidget)
        plot.margin_top = 0
        plot.margin_bottom = 1  # the tick labels; "by epoch" is in the title
        table = self.query_one(DataTable)
        for name in COLUMNS:
            table.add_column(name, key=name)
        self.query_one("#compare-notes", Static).update(Text("reading the records…", style="dim"))
        if self.threaded:
            self._load_in_thread()
            if any(run.live for run in self.runs):
                self.set_interval(self.reload_s, self._load_in_thread, name="live-reload")
        else:
            self.show(*load(self.runs))
        table.focus()

    @work(thread=True, exclusive=True, name="compare-load")
    def _load_in_thread(self) -> None:
        outcomes, problems = load(self.runs)
        self.app.call_from_thread(self.show, outcomes, problems)

    def show(
        self, outcomes: Sequence[tuple[RunOutcome, str]], problems: Sequence[str] = ()
    ) -> None:
        """Draw the curves and fill the table (UI thread). A load that comes back after the
        screen was closed (escape, or the app quitting while a live run was re-read) is
        dropped: its widgets are gone."""
        if not self.is_attached:
            return
        self.outcomes, self.problems = tuple(outcomes), tuple(problems)
        self.loads += 1
        try:
            self._draw_curves()
            self._fill_table()
        except NoMatches:
            return
        notes = Text()
        for problem in problems:
            notes.append(f"not shown: {problem}\n", style="red")
        for run, _ in outcomes:
            if run.ending != "finished":
                how = (
                    f"ended by {run.ending}"
                    if run.ending
                    else "no ending event: live, or its writer died"
                )
                notes.append(
                    f"{Path(run.path).name}: {how}; finals count finished episodes only\n",
                    style="dim",
                )
        notes.rstrip()
        self.query_one("#compare-notes", Static).update(notes)

    def _draw_curves(self) -> None:
        plot = self.query_one(PlotWidget)
        plot.clear()
        longest = 1
        for run, colour in self.outcomes:
            iql_index = 0
            for lane in run.lanes:
                if not lane.curve:
                    continue
                xs = [float(epoch) for epoch, _ in lane.curve]
                ys = [acc for _, acc in lane.curve]
                longest = max(longest, int(xs[-1]))
                if lane.policy_kind == "heuristic":
                    dim = Color.parse(colour).darken(0.2).hex
                    plot.plot(xs, ys, line_style=dim, hires_mode=HiResMode.BRAILLE)
                    continue
                plot.plot(xs, ys, line_style=colour, hires_mode=HiResMode.BRAILLE)
                if iql_index:
                    marker = MARKERS[(iql_index - 1) % len(MARKERS)]
                    plot.scatter(xs, ys, marker=marker, marker_style=colour)
                iql_index += 1
        plot.set_xlimits(1.0, float(max(longest, 2)))
        # whole epochs only: a short run would otherwise get ticks at 1.5, 2.5
        plot.set_xticks(list(range(1, longest + 1)) if longest <= 12 else None)
        self.query_one("#compare-legend", Static).update(self._legend())

    def _legend(self) -> Text:
        legend = Text(no_wrap=False)
        for index, (run, colour) in enumerate(self.outcomes):
            legend.append("  " if index else "")
            legend.append("● ", style=colour)
            legend.append(Path(run.path).name)
        legend.append(
            f"   dim: heuristic · bright: IQL ({' '.join(MARKERS[:2])} 2nd, 3rd)", style="dim"
        )
        return legend

    def _fill_table(self) -> None:
        table = self.query_one(DataTable)
        row = table.cursor_row  # a live re-read keeps the cursor where it was
        table.clear()
        for run, colour in self.outcomes:
            for lane in run.lanes:
                cells = row_cells(run, lane)
                first = Text()
                first.append("● ", style=colour)
                first.append(cells[0])
                table.add_row(
                    first,
                    *(_cell(c, lane, i) for i, c in enumerate(cells[1:], start=1)),
                    key=f"{run.path}\0{lane.name}",
                )
        if table.row_count:
            table.move_cursor(row=min(row, table.row_count - 1), animate=False)

    def action_close(self) -> None:
        self.dismiss()

    def action_help(self) -> None:
        from esper_tui.workspace.help import WorkspaceHelp

        self.app.push_screen(WorkspaceHelp())


def _cell(text: str, lane: LaneOutcome, column: int) -> Text:
    """A table cell as plain text (names come from files: never markup); Δ in green or red
    when its interval excludes zero."""
    cell = Text(text)
    paired = lane.paired
    if (
        column == 5
        and paired is not None
        and paired.ci_low is not None
        and paired.ci_high is not None
    ):
        if paired.ci_low > 0:
            cell.stylize("green")
        elif paired.ci_high < 0:
            cell.stylize("red")
    return cell


def load(runs: Sequence[Compared]) -> tuple[list[tuple[RunOutcome, str]], list[str]]:
    """Each run's outcome with its colour, and one sentence for each that could not be read."""
    from esper_tui.workspace.load import read_outcome

    outcomes: list[tuple[RunOutcome, str]] = []
    problems: list[str] = []
    for run in runs:
        try:
            outcomes.append((read_outcome(run.path), run.colour))
        except PathError as exc:
            problems.append(str(exc))
    return outcomes, problems
