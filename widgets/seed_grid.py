"""The seed grid: a card per lane × slot, lanes as rows and slots as columns.

Cards are built once per (lanes, slots) shape and afterwards only their content changes: a
grid that remounted its children every tick flickered, lost the selection and, with fixed ids,
raised DuplicateIds. Cards carry no ids for the same reason; find them with ``card_at``.
"""

from __future__ import annotations

from rich.text import Text
from textual.containers import Container
from textual.reactive import reactive
from textual.widgets import Static

from training.records import SeedRecord, SeedStage, is_failure_stage, stage_name
from widgets.glyphs import bar, changed, needs_layout, sparkline, truncate
from widgets.model import LaneView, StoreView

# Stage values are sparse ints (UNKNOWN 0 .. RESETTING 10); tables are keyed by stage.
PIPELINE: tuple[tuple[SeedStage, str], ...] = (
    (SeedStage.DORMANT, "DOR"), (SeedStage.GERMINATED, "GER"), (SeedStage.TRAINING, "TRN"),
    (SeedStage.BLENDING, "BLD"), (SeedStage.SHADOWING, "SHD"), (SeedStage.PROBATIONARY, "PRB"),
    (SeedStage.FOSSILIZED, "FOS"),
)  # fmt: skip
SHORT: dict[int, str] = dict(PIPELINE)
HISTORY_WIDTH = 12
PENDING = {  # operator command applied since the last epoch record -> badge, style
    "paused": ("PAUSED", "bold black on yellow"),
    "resumed": ("RESUMED", "bold black on green"),
    "culled": ("CULLED", "bold white on red"),
}
PAUSED_STYLE = PENDING["paused"][1]


def grid_lanes(view: StoreView) -> tuple[LaneView, ...]:
    """The lanes that grow seeds: all of them, except those that only advise (shadow mode)."""
    return tuple(lane for lane in view.lanes if not lane.advising)


def slot_count(view: StoreView) -> int:
    """The run's slot count, or (before the run record) the slots the records mention."""
    if view.run is not None:
        return view.run.slots
    seen = [slot for lane in view.lanes for slot in lane.seed_history]
    return max(seen) + 1 if seen else 0


def _badge(record: SeedRecord | None, pending: str | None) -> Text:
    """PAUSED from the record, or the operator's command applied since the last epoch record
    (shown at once, marked pending, so a key press is never met by silence)."""
    t = Text()
    if pending in PENDING:
        label, style = PENDING[pending]
        t.append(f" {label} ", style=style)
        t.append(" pending", style="italic")
    elif record is not None and record.paused:
        t.append(" PAUSED ", style=PAUSED_STYLE)
    return t


def _stage_text(record: SeedRecord, *, pipeline: bool) -> Text:
    """The pipeline with the current stage marked, or a failure stage named as such."""
    stage = record.stage
    if is_failure_stage(stage):
        return Text(f"✗ {stage_name(stage)}", style="bold red")
    if stage not in SHORT:
        return Text(f"? {record.stage_name}", style="bold yellow")
    if not pipeline:
        return Text(stage_name(stage), style="bold reverse")
    t = Text()
    for i, (value, label) in enumerate(PIPELINE):
        if i:
            t.append("›", style="dim")
        style = "bold reverse" if value == stage else ("green" if value < stage else "dim")
        t.append(label, style=style)
    return t


def _gate_text(record: SeedRecord, width: int) -> Text:
    gate = record.gate
    if gate is None:
        return Text("gate —", style="dim")
    t = Text(f"gate {gate.gate} ")
    if gate.passed:
        t.append("✓", style="bold green")
    else:
        t.append("✗ ", style="bold red")
        t.append(
            truncate("; ".join(gate.checks_failed) or "failed", max(8, width - len(t.plain))),
            style="red",
        )
    return t


def _alpha_text(
    record: SeedRecord, history: tuple[SeedRecord, ...], bar_width: int, hist_width: int
) -> Text:
    alphas = [s.alpha for s in history if s.seed_id == record.seed_id]
    t = Text("α ")
    t.append(bar(record.alpha, bar_width), style="cyan")
    t.append(f" {record.alpha:.2f} ")
    t.append(sparkline(alphas, 0.0, 1.0, width=hist_width), style="cyan dim")
    return t


def card_text(
    lane: str,
    slot: int,
    history: tuple[SeedRecord, ...],
    pending: str | None,
    compact: bool | int,
    selected: bool = False,
) -> Text:
    """A card's content: four lines, or two when ``compact`` (1 for a single line); a compact
    card has no border, so a ``▶`` marks the selected one."""
    one_line = compact is not True and compact == 1
    record = history[-1] if history else None
    head = Text()
    if compact:
        head.append("▶" if selected else " ", style="bold")
        head.append(f"{lane}·s{slot} ", style="bold")
    badge = _badge(record, pending)
    if record is None or record.is_dormant or record.stage == SeedStage.DORMANT:
        head.append("DORMANT · empty", style="dim")
        if badge:
            head.append(" ")
            head.append_text(badge)
        return head
    if compact:
        head.append_text(_stage_text(record, pipeline=False))
        head.append(f" {record.epochs_in_stage}ep ")
        if badge:
            head.append_text(badge)
            head.append(" ")
        if one_line:
            head.append(f"α{record.alpha:.2f} ", style="cyan")
            gate = record.gate
            if gate is not None:
                head.append(
                    "✓" if gate.passed else "✗", style="bold green" if gate.passed else "bold red"
                )
            return head
        head.append(record.blueprint_id, style="dim")
        second = Text(" ")
        second.append_text(_alpha_text(record, history, 6, 6))
        second.append(" ")
        second.append_text(_gate_text(record, 16))
        return Text("\n").join([head, second])
    # The badge leads the second line (the pipeline fills the first); the stage is named too.
    info = badge + Text(" ") if badge else Text()
    info.append(f"{record.blueprint_id} · {record.stage_name} · {record.epochs_in_stage} ep")
    lines = [
        _stage_text(record, pipeline=True),
        info,
        _alpha_text(record, history, 10, HISTORY_WIDTH),
        _gate_text(record, 44),
    ]
    return Text("\n").join(lines)


class SeedCard(Static):
    """One slot of one lane. ``lane_index``/``slot_index`` say where it sits in the grid."""

    DEFAULT_CSS = """
    SeedCard { height: auto; border: round $panel-lighten-2; padding: 0 1;
               text-wrap: nowrap; text-overflow: ellipsis; }
    SeedCard.-selected { border: heavy $accent; }
    SeedCard.-compact { border: none; padding: 0; height: auto; max-height: 2; }
    SeedCard.-compact.-selected { background: $accent 30%; }
    """

    def __init__(self, lane_index: int, slot_index: int) -> None:
        super().__init__("", markup=False, classes="seed-card")
        self.lane_index = lane_index
        self.slot_index = slot_index
        self._text: Text | None = None

    def show(
        self,
        lane: str,
        history: tuple[SeedRecord, ...],
        pending: str | None,
        compact: bool | int,
        selected: bool = False,
    ) -> None:
        text = card_text(lane, self.slot_index, history, pending, compact, selected)
        record = history[-1] if history else None
        slot = record.slot_id if record is not None else f"slot{self.slot_index}"
        title = Text(f"{lane} · {slot}")
        if selected:
            title = Text("▶ ", style="bold") + title
        self.border_title = title
        self.set_class(selected, "-selected")
        self.set_class(bool(compact), "-compact")
        if changed(self._text, text):
            layout = needs_layout(self._text, text)
            self._text = text
            self.update(text, layout=layout)


class SeedGrid(Container):
    """Lanes as rows, slots as columns. The app passes the selection as (lane, slot); the card
    there gets the ``-selected`` class and no other card has it.

    ``compact`` (or ``set_compact``) switches every card to two lines without a border;
    ``set_lines(1)`` to one line (for 80×24 with three lanes).
    """

    DEFAULT_CSS = """
    SeedGrid { layout: grid; grid-size: 1; grid-gutter: 0 1; grid-rows: auto; height: auto; }
    """

    can_focus = True
    compact: reactive[bool] = reactive(False)
    lines: reactive[int] = reactive(4)

    def __init__(
        self, *, name: str | None = None, id: str | None = None, classes: str | None = None
    ) -> None:
        super().__init__(name=name, id=id, classes=classes)
        self._cards: list[list[SeedCard]] = []
        self._shape = (0, 0)
        self._view: StoreView | None = None
        self._selected = (0, 0)
        self._drawn: tuple[StoreView, tuple[int, int], int, bool] | None = None

    @property
    def shape(self) -> tuple[int, int]:
        """(lanes, slots) of the cards built now."""
        return self._shape

    def card_at(self, lane: int, slot: int) -> SeedCard | None:
        if 0 <= lane < len(self._cards) and 0 <= slot < len(self._cards[lane]):
            return self._cards[lane][slot]
        return None

    @property
    def cards(self) -> list[SeedCard]:
        return [card for row in self._cards for card in row]

    def set_compact(self, compact: bool) -> None:
        self.set_lines(2 if compact else 4)

    def set_lines(self, lines: int) -> None:
        """4: bordered cards; 2 or 1: borderless cards of that many lines."""
        self.compact = lines < 4
        self.lines = lines

    def watch_compact(self, compact: bool) -> None:
        self.set_class(bool(compact), "-compact")
        if self._view is not None:
            self.update_view(self._view, self._selected)

    def watch_lines(self) -> None:
        if self._view is not None:
            self.update_view(self._view, self._selected)

    def on_mount(self) -> None:
        if self._view is not None:
            self.update_view(self._view, self._selected)

    def update_view(self, view: StoreView, selected: tuple[int, int]) -> None:
        selected = (selected[0], selected[1])
        drawn = (view, selected, self.lines, self.compact)
        if self._drawn is not None and all(
            a is b or a == b for a, b in zip(drawn, self._drawn, strict=True)
        ):
            return  # nothing new: an unchanged view costs nothing
        self._view, self._selected = view, selected
        if not self.is_attached:
            return  # drawn on mount
        self._drawn = drawn
        lanes = grid_lanes(view)
        shape = (len(lanes), slot_count(view))
        if shape != self._shape:
            self._rebuild(shape)
        for li, lane in enumerate(lanes):
            for si, card in enumerate(self._cards[li]):
                card.show(
                    lane.name,
                    lane.seed_history.get(si, ()),
                    lane.pending.get(si),
                    self.lines if self.compact else False,
                    (li, si) == selected,
                )

    def _rebuild(self, shape: tuple[int, int]) -> None:
        lanes, slots = shape
        self.remove_children()
        self._cards = [[SeedCard(li, si) for si in range(slots)] for li in range(lanes)]
        self._shape = shape
        self.styles.grid_size_columns = max(1, slots)
        if lanes and slots:
            self.mount_all(self.cards)
