"""The seed grid: a card per lane × slot, lanes as rows and slots as columns.

Cards are built once per (lanes, slots) shape and afterwards only their content changes: a
grid that remounted its children every tick flickered, lost the selection and, with fixed ids,
raised DuplicateIds. Cards carry no ids for the same reason; find them with ``card_at``. What a
card says is ``widgets.seed_card``.
"""

from __future__ import annotations

from textual.containers import Container
from textual.reactive import reactive

from widgets.labels import lane_codes, lane_labels
from widgets.model import LaneView, StoreView
from widgets.seed_card import DoesNotFit, SeedCard

LABEL_ROOM = 13  # a compact card's line besides the lane name: mark, "·s0 ", stage code, epochs


def grid_lanes(view: StoreView) -> tuple[LaneView, ...]:
    """The lanes that grow seeds: all of them, except those that only advise (shadow mode)."""
    return tuple(lane for lane in view.lanes if not lane.advising)


def slot_count(view: StoreView) -> int:
    """The run's slot count, or (before the run record) the slots the records mention."""
    if view.run is not None:
        return view.run.slots
    seen = [slot for lane in view.lanes for slot in lane.seed_history]
    return max(seen) + 1 if seen else 0


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
        self._drawn: tuple[StoreView, tuple[int, int], int, bool, int] | None = None

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

    def on_resize(self) -> None:
        if self._view is not None:
            self.update_view(self._view, self._selected)

    def card_width(self, slots: int) -> int:
        """Cells of a card's content: the grid's width shared by the slots (one gutter between
        cards), less a framed card's border and padding."""
        total = self.content_size.width or 118
        outer = (total - max(slots - 1, 0)) // max(slots, 1)
        return max(outer - (0 if self.compact else 4), 8)

    def update_view(self, view: StoreView, selected: tuple[int, int]) -> None:
        selected = (selected[0], selected[1])
        drawn = (view, selected, self.lines, self.compact, self.content_size.width)
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
        width = self.card_width(shape[1])
        names = [lane.name for lane in lanes]
        try:  # full lane names when every card's lines fit with them; else every lane's code
            self._show_all(
                lanes, selected, width, lane_labels(names, width - LABEL_ROOM), strict=True
            )
        except DoesNotFit:
            self._show_all(lanes, selected, width, lane_codes(names), strict=False)

    def _show_all(
        self,
        lanes: tuple[LaneView, ...],
        selected: tuple[int, int],
        width: int,
        labels: dict[str, str],
        strict: bool,
    ) -> None:
        for li, lane in enumerate(lanes):
            for si, card in enumerate(self._cards[li]):
                card.show(
                    lane.name,
                    lane.seed_history.get(si, ()),
                    lane.pending.get(si),
                    self.lines if self.compact else False,
                    (li, si) == selected,
                    width,
                    labels[lane.name],
                    strict,
                )

    def _rebuild(self, shape: tuple[int, int]) -> None:
        lanes, slots = shape
        self.remove_children()
        self._cards = [[SeedCard(li, si) for si in range(slots)] for li in range(lanes)]
        self._shape = shape
        self.styles.grid_size_columns = max(1, slots)
        if lanes and slots:
            self.mount_all(self.cards)
