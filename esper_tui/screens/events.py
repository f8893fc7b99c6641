"""The event log (``e``): every event of the run in order, each told in full (wrapped, never cut),
following new ones until the cursor moves (End follows again). ``/`` filters by lane and kind;
``enter`` on an event about a seed opens that seed's detail.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from esper_tui.screens.base import EsperModal
from esper_tui.screens.detail import SeedDetailScreen
from widgets.event_strip import entry_text
from widgets.model import LOG_KINDS, LogEntry, StoreView


@dataclass(frozen=True)
class LogFilter:
    """One lane or all; the kinds shown (empty: all)."""

    lane: str | None = None
    kinds: frozenset[str] = field(default_factory=frozenset)

    def accepts(self, entry: LogEntry) -> bool:
        if self.lane is not None and entry.lane not in (self.lane, None):
            return False
        return not self.kinds or entry.kind in self.kinds

    @property
    def active(self) -> bool:
        return self.lane is not None or bool(self.kinds)

    def describe(self) -> str:
        lane = f"lane {self.lane} (and run-wide events)" if self.lane else "all lanes"
        kinds = (
            ", ".join(k for k, _ in LOG_KINDS if k in self.kinds) if self.kinds else "every kind"
        )
        return f"{lane}; {kinds}"


class LogList(OptionList):
    """The log's list; its enter and End are in the footer (OptionList hides them)."""

    BINDINGS = [Binding("enter", "select", "Seed detail"), Binding("end", "last", "Follow new")]

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """End is offered while following is paused."""
        return not getattr(self.screen, "following", False) if action == "last" else True


class EventLogScreen(EsperModal[None]):
    """The whole log, live: the dashboard calls ``update_view`` at each new store version."""

    BINDINGS = [
        Binding("escape,e", "dismiss", "Close"),
        Binding("slash", "filter", "Filter"),
    ]

    def __init__(self, view: StoreView) -> None:
        super().__init__()
        self.view = view
        self.log_filter = LogFilter()
        self.following = True
        self._shown: list[LogEntry] = []
        self._last_seq = 0
        self._generation = view.generation

    def compose_dialog(self) -> ComposeResult:
        with Vertical(id="events", classes="dialog"):
            yield Static(id="events-title", markup=False)
            yield LogList(id="events-list")

    def on_mount(self) -> None:
        self.update_view(self.view, force=True)
        self.query_one(OptionList).focus()

    @property
    def options(self) -> OptionList:
        return self.query_one("#events-list", OptionList)

    def update_view(self, view: StoreView, force: bool = False) -> None:
        """Append the entries that arrived (or rebuild: a new filter, a new run in the file)."""
        self.view = view
        if not self.query("#events-list"):  # pushed, not composed yet: on_mount shows it
            return
        if view.generation != self._generation:
            self._generation, force = view.generation, True
        options = self.options
        if force:
            options.clear_options()
            self._shown, self._last_seq = [], 0
        fresh = [e for e in view.log if e.seq > self._last_seq]  # entries that fell out stay listed
        if view.log:
            self._last_seq = max(self._last_seq, view.log[-1].seq)
        wanted = [e for e in fresh if self.log_filter.accepts(e)]
        if wanted:
            options.add_options(Option(self._prompt(e), id=f"e{e.seq}") for e in wanted)
            self._shown.extend(wanted)
        if self.following and self._shown:
            options.highlighted = len(self._shown) - 1
        self._retitle()

    @staticmethod
    def _prompt(entry: LogEntry) -> Text:
        t = entry_text(entry)
        if entry.slot is not None and entry.lane is not None:
            t.append("  ⏎", style="dim")
        return t

    def _retitle(self) -> None:
        t = Text("Event log", style="bold")
        t.append(f" · {len(self._shown)} shown", style="dim")
        t.append(" · ")
        if self.following:
            t.append("following", style="green")
        else:
            t.append("following paused: End resumes", style="bold yellow")
        if self.log_filter.active:
            t.append(f" · filter: {self.log_filter.describe()} (/ changes)", style="bold cyan")
        t.append("   ⏎ on a seed event: its detail · escape closes", style="dim")
        self.query_one("#events-title", Static).update(t)

    @on(OptionList.OptionHighlighted, "#events-list")
    def _moved(self, event: OptionList.OptionHighlighted) -> None:
        at_end = event.option_index == len(self._shown) - 1
        if self.following != at_end:
            self.following = at_end
            self._retitle()
            self.options.refresh_bindings()

    @on(OptionList.OptionSelected, "#events-list")
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._open(event.option_index)

    def _open(self, index: int) -> None:
        if not 0 <= index < len(self._shown):
            return
        entry = self._shown[index]
        if entry.lane is None or entry.slot is None:
            self.notify("this event is not about a seed", severity="warning", timeout=3)
            return
        self.app.push_screen(SeedDetailScreen(entry.lane, entry.slot, self.view))

    def action_filter(self) -> None:
        lanes = [lane.name for lane in self.view.lanes]

        def apply(choice: LogFilter | None) -> None:
            if choice is not None and choice != self.log_filter:
                self.log_filter = choice
                self.update_view(self.view, force=True)

        self.app.push_screen(EventFilterScreen(lanes, self.log_filter), apply)


class EventFilterScreen(EsperModal[LogFilter]):
    """Choose the lane (or all) and the kinds the log shows. Enter toggles; escape applies."""

    BINDINGS = [Binding("escape,slash", "apply", "Apply")]

    def __init__(self, lanes: list[str], current: LogFilter) -> None:
        super().__init__()
        self.lanes = lanes
        self.choice = current

    def compose_dialog(self) -> ComposeResult:
        with Vertical(id="event-filter", classes="dialog"):
            yield Static(
                Text.assemble(
                    ("Filter the event log", "bold"),
                    ("   enter toggles · escape applies · q quits", "dim"),
                ),
                markup=False,
            )
            yield OptionList(*self._options(), id="event-filter-options")

    def _options(self) -> list[Option]:
        c = self.choice

        def mark(on: bool, radio: bool = True) -> str:
            return ("●" if on else "○") if radio else ("☑" if on else "☐")

        options = [Option(Text(f"{mark(c.lane is None)} all lanes"), id="lane:")]
        options += [
            Option(
                Text(f"{mark(c.lane == name)} lane {name} (and run-wide events)"), id=f"lane:{i}"
            )
            for i, name in enumerate(self.lanes)
        ]
        options.append(Option(Text(f"{mark(not c.kinds, False)} every kind"), id="kind:"))
        options += [
            Option(Text(f"{mark(kind in c.kinds, False)} {kind}: {what}"), id=f"kind:{kind}")
            for kind, what in LOG_KINDS
        ]
        return options

    @on(OptionList.OptionSelected, "#event-filter-options")
    def _toggle(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        c = self.choice
        if option_id == "lane:":
            c = LogFilter(None, c.kinds)
        elif option_id.startswith("lane:"):
            c = LogFilter(self.lanes[int(option_id[5:])], c.kinds)
        elif option_id == "kind:":
            c = LogFilter(c.lane, frozenset())
        elif option_id.startswith("kind:"):
            kind = option_id[5:]
            c = LogFilter(c.lane, c.kinds ^ {kind})
        self.choice = c
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(self._options())
        options.highlighted = highlighted

    def action_apply(self) -> None:
        self.dismiss(self.choice)
