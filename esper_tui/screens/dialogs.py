"""Small dialogs: cull confirmation, the crash, the finished summary, the decision filter.

Plain ``ModalScreen``s with their own keys; quitting is the App's (``q``/ctrl+c work in every
one of them). Text from records (lane names, messages) is built as ``Text``, never as markup.
"""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from esper_tui.screens.base import EsperModal
from training.records import RunEvent
from widgets.decision_rows import DecisionFilter
from widgets.glyphs import fmt_count
from widgets.model import StoreView

CLOSE_HINT = "escape: back to the dashboard · q: quit"


class ConfirmScreen(EsperModal[bool]):
    BINDINGS = [Binding("y", "answer(True)", "Yes"), Binding("n,escape", "answer(False)", "No")]

    def __init__(self, question: str) -> None:
        super().__init__()
        self.question = question

    def compose_dialog(self) -> ComposeResult:
        with Vertical(id="confirm", classes="dialog"):
            yield Static(Text(self.question), markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button("Cull (y)", id="yes", variant="error")
                yield Button("Keep (n)", id="no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#no", Button).focus()

    @on(Button.Pressed, "#yes")
    def _yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def _no(self) -> None:
        self.dismiss(False)

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class CrashScreen(EsperModal[None]):
    """The trainer's traceback, in the app (and in the record). The app stays usable."""

    BINDINGS = [Binding("escape", "dismiss", "Close")]

    def __init__(self, event: RunEvent) -> None:
        super().__init__()
        self.event = event

    def compose_dialog(self) -> ComposeResult:
        title = Text("Training crashed", style="bold")
        title.append(f": {self.event.message}")
        with Vertical(id="crash", classes="dialog"):
            yield Static(title, id="crash-title", markup=False)
            with VerticalScroll(id="crash-trace"):
                yield Static(Text(self.event.traceback or "(no traceback)"), markup=False)
            yield Static(
                Text(f"The record file holds this traceback too. {CLOSE_HINT}", style="dim"),
                markup=False,
            )


def finished_text(view: StoreView) -> Text:
    """Per lane, each episode's final accuracy to two decimals and the seed parameters its growth
    added (a lane can match another's accuracy at six times the size), and per paired lane each
    episode's difference, so the mean difference shown can be checked by hand."""
    t = Text("Run finished", style="bold")
    t.append(f" — {view.run.mode if view.run else ''}, {view.episode} episode(s)\n\n")
    width = max([len(lane.name) for lane in view.lanes] + [4])
    pad = " " * (width + 3)
    for lane in view.lanes:
        t.append(f"  {lane.name:<{width}} ", style="bold")
        if lane.advising and lane.agreement.rate is not None:
            t.append(
                f"advised only: agreed with the executing lane {lane.agreement.rate:.0%} "
                f"of {lane.agreement.decided} decisions\n"
            )
            continue
        finals = "  ".join(f"{a:.2f}" for a in lane.finals) or "—"
        t.append(f"final accuracy per episode: {finals}")
        if lane.finals:
            t.append(f"  (mean {sum(lane.finals) / len(lane.finals):.2f})", style="dim")
        t.append("\n")
        if lane.final_params:
            params = "  ".join(fmt_count(p) for p in lane.final_params)
            mean = sum(lane.final_params) / len(lane.final_params)
            share = f", {mean / lane.host_params:.0%} of the host" if lane.host_params else ""
            t.append(
                f"{pad}seed parameters added per episode: {params}  (mean {fmt_count(mean)}{share})\n"
            )
    for paired in view.paired:
        ours, ref = view.lane(paired.lane), view.lane(paired.reference)
        if (
            ours is not None
            and ref is not None
            and ours.finals
            and len(ours.finals) == len(ref.finals)
        ):
            diffs = "  ".join(f"{a - b:+.2f}" for a, b in zip(ours.finals, ref.finals, strict=True))
            t.append(f"  {paired.lane} − {paired.reference} per episode: {diffs}", style="dim")
            if ours.final_params and ref.final_params and sum(ref.final_params) > 0:
                ratio = sum(ours.final_params) / sum(ref.final_params)
                t.append(f"; seed parameters {ratio:.1f}× the {paired.reference}'s", style="bold")
            t.append("\n")
    if view.paired:
        t.append("\n")
        for paired in view.paired:
            t.append(f"  {paired.summary()}\n")
    elif view.finished is not None and view.finished.message:
        t.append(f"\n  {view.finished.message}\n")
    t.append(f"\n{CLOSE_HINT}", style="dim")
    return t


class FinishedScreen(EsperModal[None]):
    BINDINGS = [Binding("escape,enter", "dismiss", "Close")]

    def __init__(self, view: StoreView) -> None:
        super().__init__()
        self.view = view

    def compose_dialog(self) -> ComposeResult:
        with Vertical(id="finished", classes="dialog"):
            yield Static(finished_text(self.view), markup=False)


class FilterScreen(EsperModal[DecisionFilter]):
    """Choose which decisions the table shows. Enter toggles an option; escape applies."""

    BINDINGS = [Binding("escape,slash", "apply", "Apply")]

    def __init__(self, lanes: list[str], current: DecisionFilter) -> None:
        super().__init__()
        self.lanes = lanes
        self.choice = current

    def compose_dialog(self) -> ComposeResult:
        with Vertical(id="filter", classes="dialog"):
            yield Static(
                Text.assemble(
                    ("Filter the decision table", "bold"),
                    ("   enter toggles · escape applies · q quits", "dim"),
                ),
                markup=False,
            )
            yield OptionList(*self._options(), id="filter-options")

    def _options(self) -> list[Option]:
        c = self.choice

        def mark(on: bool) -> str:
            return "●" if on else "○"

        options = [Option(Text(f"{mark(c.lane is None)} all lanes"), id="lane:")]
        options += [
            Option(Text(f"{mark(c.lane == name)} lane {name}"), id=f"lane:{i}")
            for i, name in enumerate(self.lanes)
        ]
        options.append(Option(Text(f"{mark(c.refused_only)} refused only"), id="refused"))
        options.append(
            Option(
                Text(f"{mark(c.disagreements_only)} disagreements with the heuristic only"),
                id="disagree",
            )
        )
        return options

    @on(OptionList.OptionSelected, "#filter-options")
    def _toggle(self, event: OptionList.OptionSelected) -> None:
        option_id = event.option.id or ""
        c = self.choice
        if option_id == "lane:":
            c = DecisionFilter(None, c.refused_only, c.disagreements_only)
        elif option_id.startswith("lane:"):
            c = DecisionFilter(self.lanes[int(option_id[5:])], c.refused_only, c.disagreements_only)
        elif option_id == "refused":
            c = DecisionFilter(c.lane, not c.refused_only, c.disagreements_only)
        elif option_id == "disagree":
            c = DecisionFilter(c.lane, c.refused_only, not c.disagreements_only)
        self.choice = c
        options = self.query_one(OptionList)
        highlighted = options.highlighted
        options.clear_options()
        options.add_options(self._options())
        options.highlighted = highlighted

    def action_apply(self) -> None:
        self.dismiss(self.choice)
