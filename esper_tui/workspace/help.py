"""``?`` on the runs screen and the comparison: their keys and what each status means."""

from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

KEYS = (
    ("↑ ↓", "move through the runs"),
    ("home  end", "the first run / the last run"),
    ("enter", "open the run: a replay when it has ended, a follow while it is live"),
    ("escape", "from an opened run or the comparison: back to the list, the cursor where it was"),
    ("space", "select or deselect the run (a ● in its own colour); 2 to 6 runs for c"),
    ("c", "compare the selected runs: curves on shared axes and a table per run and lane"),
    ("/", "filter: words that must all appear (lane, model, status, mode, preset, file)"),
    ("o  O", "sort by the next column / reverse the order (or click a column's heading)"),
    ("r", "rescan the folder now (it is rescanned every few seconds anyway)"),
    ("?", "this help"),
    ("q  ctrl+c", "quit"),
)
STATUSES = (
    ("LIVE pid N", "the record's writer lock is held by process N: still being written"),
    ("FINISHED", "ends with a finished event: every planned episode ran"),
    ("STOPPED", "ends with a stopped event (q, ctrl+c, a signal)"),
    ("CRASHED", "ends with a crashed event; the reason is its message"),
    ("WRITER GONE", "no ending event and no process holds its lock: the writer was killed"),
    ("UNREADABLE", "not a record (garbage, another program's file, empty); the reason says why"),
)
COMPARE = (
    ("final acc ± sd", "validation accuracy after each episode's last epoch: mean ± sd"),
    ("Δ vs heur", "the run's own paired result: lane minus its heuristic, 95 % t interval"),
    ("W/T/L", "episodes won, tied (within 0.5 points), lost against the heuristic"),
    ("sd Δ", "standard deviation of the paired differences"),
    ("detects", "the smallest effect these episodes detect (two-sided α 0.05, power 0.8)"),
    ("eps needed", "paired episodes needed to detect an effect of 0.5 points"),
    ("agree", "share of decisions equal to the heuristic's choice on the same state"),
    ("foss/cull", "seeds fossilized / culled or failed, all episodes together"),
    ("params+", "seed parameters at the last epoch, mean over episodes"),
)


def _grid(rows: tuple[tuple[str, str], ...]) -> Table:
    table = Table.grid(padding=(0, 2))
    for key, text in rows:
        table.add_row(Text(key, style="bold"), Text(text))
    return table


class WorkspaceHelp(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help-body", classes="dialog"):
            yield Static(
                "[b]Esper runs — keys[/b]   [dim]escape closes · q quits · ↑↓ scroll[/dim]"
            )
            yield Static(_grid(KEYS))
            yield Static("\n[b]Status[/b]")
            yield Static(_grid(STATUSES))
            yield Static("\n[b]Comparison columns[/b]")
            yield Static(_grid(COMPARE))
