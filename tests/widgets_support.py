"""What the widget tests share: fixture records fed through the real store, a host app that
mounts one widget, and views changed in one lane."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from rich.text import Text
from textual.app import App, ComposeResult
from textual.widget import Widget

from esper_tui.replay import read_records, replay_all
from esper_tui.store import TelemetryStore
from training.records import EpochRecord, Record, RunEvent
from widgets import DecisionTable
from widgets.model import StoreView

FIXTURES = Path(__file__).parent / "fixtures"
RUN = FIXTURES / "run.jsonl"
CRASHED = FIXTURES / "crashed.jsonl"
SIZE = (140, 45)


def records() -> list[Record]:
    return read_records(RUN)[0]


def full_view(path: Path = RUN) -> StoreView:
    replay_all(path, store := TelemetryStore(source="replay"))
    return store.view()


def view_until(predicate: Callable[[Record], bool]) -> StoreView:
    """The view right after the first record for which ``predicate`` is true."""
    recs = records()
    return fed(TelemetryStore(), recs[: next(i for i, r in enumerate(recs) if predicate(r)) + 1])


def is_paused_epoch(record: Record) -> bool:
    return isinstance(record, EpochRecord) and any(s.paused for s in record.seeds)


def is_pause_command(r: Record) -> bool:
    applied = isinstance(r, RunEvent) and r.event == "command_applied"
    return applied and r.data.get("type") == "pause_seed"


def plain(widget: Widget) -> str:
    return widget.render().plain


def styles_over(text: Text, needle: str) -> list[str]:
    """Styles of the spans that overlap the first occurrence of ``needle``."""
    start, end = text.plain.index(needle), text.plain.index(needle) + len(needle)
    return [str(s.style) for s in text.spans if s.start < end and s.end > start]


def line_with(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def row_of(text: str, lane: str) -> str:  # the scoreboard row of a lane
    return next(line for line in text.splitlines() if line.startswith(lane + " "))


class Host(App):
    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


async def drawn(widget: Widget, *args, size: tuple[int, int] = SIZE) -> Widget:
    """Mount ``widget`` alone, give it ``update_view(*args)``, let it draw, return it."""
    async with Host(widget).run_test(size=size) as pilot:
        widget.update_view(*args)
        await pilot.pause()
    return widget


def with_lane(view: StoreView, index: int, **changes) -> StoreView:
    """The view with some fields of one lane replaced (a state the fixture lacks)."""
    lanes = tuple(
        dataclasses.replace(lane, **changes) if i == index else lane
        for i, lane in enumerate(view.lanes)
    )
    return dataclasses.replace(view, lanes=lanes, version=view.version + 1)


def with_latest_seed(view: StoreView, index: int, slot: int, **changes) -> StoreView:
    history = dict(view.lanes[index].seed_history)
    history[slot] = (*history[slot][:-1], dataclasses.replace(history[slot][-1], **changes))
    return with_lane(view, index, seed_history=history)


def fed(store: TelemetryStore, recs: list[Record]) -> StoreView:
    for record in recs:
        store.add(record)
    return store.view()


def row_keys(table: DecisionTable) -> list[str]:
    return [table.row_key_at(i) for i in range(table.row_count)]
