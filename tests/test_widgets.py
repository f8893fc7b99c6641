"""Pilot tests of the panel widgets, fed through the real path: record file -> TelemetryStore ->
StoreView -> ``update_view``. Partial replays stop at the first record a predicate picks, so the
tests do not depend on line numbers of the fixture."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from rich.text import Text
from textual.app import App, ComposeResult
from textual.widget import Widget

import esper_tui.store as store_module
from esper_tui.replay import replay_all
from esper_tui.store import TelemetryStore
from training.records import (
    EpochRecord,
    InputOutlier,
    Record,
    RunEvent,
    StoreView,
    record_from_line,
)
from widgets import (
    DecisionTable,
    GradientPanel,
    RunHeader,
    SaturationPanel,
    Scoreboard,
    SeedCard,
    SeedGrid,
)
from widgets.glyphs import sparkline
from widgets.gradient_panel import gradient_text
from widgets.run_header import header_text
from widgets.scoreboard import NO_PAIRED
from widgets.seed_grid import SHORT

FIXTURES = Path(__file__).parent / "fixtures"
RUN = FIXTURES / "run.jsonl"
CRASHED = FIXTURES / "crashed.jsonl"
SIZE = (140, 45)


# ---------------------------------------------------------------------------- helpers
def records(path: Path = RUN) -> list[Record]:
    return [record_from_line(line) for line in path.read_text().splitlines() if line.strip()]


def full_view(path: Path = RUN) -> StoreView:
    store = TelemetryStore(source="replay")
    replay_all(path, store)
    return store.view()


def view_until(predicate: Callable[[Record], bool], path: Path = RUN) -> StoreView:
    """The view right after the first record for which ``predicate`` is true."""
    store = TelemetryStore()
    for record in records(path):
        store.add(record)
        if predicate(record):
            return store.view()
    raise AssertionError("the fixture has no record the predicate picks")


def is_paused_epoch(record: Record) -> bool:
    return isinstance(record, EpochRecord) and any(s.paused for s in record.seeds)


def is_pause_command(record: Record) -> bool:
    return (isinstance(record, RunEvent) and record.event == "command_applied"
            and record.data.get("type") == "pause_seed")  # fmt: skip


def plain(widget: Widget) -> str:
    return widget.render().plain


def styles_over(text: Text, needle: str) -> list[str]:
    """Styles of the spans that overlap the first occurrence of ``needle``."""
    start = text.plain.index(needle)
    end = start + len(needle)
    return [str(s.style) for s in text.spans if s.start < end and s.end > start]


def line_with(text: str, needle: str) -> str:
    return next(line for line in text.splitlines() if needle in line)


def row_of(text: str, lane: str) -> str:
    """The scoreboard row that starts with ``lane``."""
    return next(line for line in text.splitlines() if line.startswith(lane + " "))


class Host(App):
    """A bare app around one widget."""

    def __init__(self, widget: Widget) -> None:
        super().__init__()
        self.widget = widget

    def compose(self) -> ComposeResult:
        yield self.widget


def replace_latest_seed(view: StoreView, lane_index: int, slot: int, **changes) -> StoreView:
    """The view with one slot's newest SeedRecord changed (a state the fixture lacks)."""
    lane = view.lanes[lane_index]
    history = dict(lane.seed_history)
    history[slot] = (*history[slot][:-1], dataclasses.replace(history[slot][-1], **changes))
    lanes = list(view.lanes)
    lanes[lane_index] = dataclasses.replace(lane, seed_history=history)
    return dataclasses.replace(view, lanes=tuple(lanes), version=view.version + 1)


# ---------------------------------------------------------------------------- package
def test_import_widgets_does_not_import_torch() -> None:
    code = "import widgets, sys; assert 'torch' not in sys.modules, 'widgets imported torch'"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=Path(__file__).parents[1])  # fmt: skip
    assert result.returncode == 0, result.stderr


def test_sparkline_has_fixed_bounds_and_marks_missing_values() -> None:
    assert sparkline([0, 50, 100, 150], 0, 100) == "▁▅██"
    assert sparkline([40, 41, 40.5], 0, 100) == "▄▄▄"  # no autoscaling of a small wobble
    assert sparkline([1e-6, None, float("nan"), 1e3], 1e-6, 1e3, log=True) == "▁··█"


# ---------------------------------------------------------------------------- run header
async def test_header_shows_crashed_for_the_crash_fixture() -> None:
    header = RunHeader()
    async with Host(header).run_test(size=SIZE) as pilot:
        header.update_view(full_view(CRASHED), None)
        await pilot.pause()
        assert "CRASHED" in plain(header)
        assert header.has_class("-crashed")


async def test_header_shows_finished_for_a_finished_run() -> None:
    header = RunHeader()
    async with Host(header).run_test(size=SIZE) as pilot:
        header.update_view(full_view(RUN), None)
        await pilot.pause()
        text = plain(header)
        assert "FINISHED" in text and "CRASHED" not in text
        assert header.has_class("-finished") and not header.has_class("-crashed")


def test_finished_and_crashed_are_styled_differently() -> None:
    finished = header_text(full_view(RUN), None)
    crashed = header_text(full_view(CRASHED), None)
    assert styles_over(finished, "FINISHED") != styles_over(crashed, "CRASHED")


async def test_header_names_each_lanes_policy_with_state_dim_and_telemetry() -> None:
    header = RunHeader()
    async with Host(header).run_test(size=SIZE) as pilot:
        header.update_view(full_view(), None)
        await pilot.pause()
        text = plain(header)
        assert "tiny_iql.pt · 37 in · seed" in text
        assert "heuristic: heuristic" in text
        assert "head-to-head" in text and "episode 2/2" in text and "epoch 10/10" in text


def test_header_rate_is_the_latest_epochs_not_an_average() -> None:
    view = full_view()
    lane = view.lanes[0]
    epochs = (dataclasses.replace(lane.epochs[-2], samples_per_second=1000.0),
              dataclasses.replace(lane.epochs[-1], samples_per_second=3000.0))  # fmt: skip
    view = dataclasses.replace(
        view, lanes=(dataclasses.replace(lane, epochs=epochs), *view.lanes[1:])
    )
    line = line_with(header_text(view, None).plain, lane.name + ":")
    assert "3.0k samples/s" in line and "2.0k" not in line


@pytest.mark.parametrize(("age", "shown"), [(None, "data —"), (2.14, "data 2.1 s old")])
def test_header_shows_data_freshness_and_no_clock(age: float | None, shown: str) -> None:
    assert shown in header_text(full_view(), age).plain


async def test_header_counts_corrupt_lines_and_names_the_source(tmp_path: Path) -> None:
    lines = RUN.read_text().splitlines()
    path = tmp_path / "damaged.jsonl"
    path.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
    header = RunHeader()
    async with Host(header).run_test(size=SIZE) as pilot:
        header.update_view(full_view(path), 0.5)
        await pilot.pause()
        assert "1 corrupt line skipped" in plain(header)
        assert "replay" in plain(header)


# ---------------------------------------------------------------------------- scoreboard
async def test_scoreboard_curve_has_fixed_bounds_0_to_100() -> None:
    view = full_view()
    lane = view.lanes[0]
    epochs = tuple(dataclasses.replace(lane.epochs[0], epoch=i + 1, val_accuracy=acc)
                   for i, acc in enumerate((0.0, 50.0, 100.0)))  # fmt: skip
    view = dataclasses.replace(
        view, lanes=(dataclasses.replace(lane, epochs=epochs), *view.lanes[1:])
    )
    board = Scoreboard()
    async with Host(board).run_test(size=SIZE) as pilot:
        board.update_view(view)
        await pilot.pause()
        text = plain(board)
        assert "acc 0–100" in text
        assert "▁▅█" in row_of(text, lane.name)


async def test_scoreboard_shows_delta_against_the_heuristic_at_the_same_epoch() -> None:
    view = full_view()
    heuristic, iql = view.lanes[0].epochs[-1], view.lanes[1].epochs[-1]
    assert heuristic.epoch == iql.epoch
    board = Scoreboard()
    async with Host(board).run_test(size=SIZE) as pilot:
        board.update_view(view)
        await pilot.pause()
        row = row_of(plain(board), "tiny_iql")
        assert f"{iql.val_accuracy - heuristic.val_accuracy:+.2f} at e{iql.epoch}" in row


async def test_scoreboard_counts_fossilised_and_culled_seeds_this_episode() -> None:
    board = Scoreboard()
    async with Host(board).run_test(size=SIZE) as pilot:
        board.update_view(full_view())
        await pilot.pause()
        text = plain(board)
        assert " 1/0 " in row_of(text, "heuristic")  # slot0 fossilised in episode 2
        assert " 0/2 " in row_of(text, "tiny_iql")  # slot0 and slot1 culled


async def test_scoreboard_shows_the_paired_result_only_after_a_finished_episode() -> None:
    board = Scoreboard()
    async with Host(board).run_test(size=SIZE) as pilot:
        board.update_view(view_until(is_paused_epoch))
        await pilot.pause()
        assert NO_PAIRED in plain(board)
        view = full_view()
        board.update_view(view)
        await pilot.pause()
        assert view.paired[0].summary() in plain(board)
        assert NO_PAIRED not in plain(board)


# ---------------------------------------------------------------------------- seed grid
async def test_grid_lays_out_lanes_as_rows_and_slots_as_columns() -> None:
    grid = SeedGrid()
    async with Host(grid).run_test(size=SIZE) as pilot:
        grid.update_view(full_view(), (0, 0))
        await pilot.pause()
        assert grid.shape == (2, 3)
        a, b, c = grid.card_at(0, 0), grid.card_at(0, 1), grid.card_at(1, 0)
        assert b.region.x > a.region.x and b.region.y == a.region.y
        assert c.region.y > a.region.y and c.region.x == a.region.x


async def test_only_the_selected_card_has_the_selected_class() -> None:
    grid = SeedGrid()
    async with Host(grid).run_test(size=SIZE) as pilot:
        view = full_view()
        grid.update_view(view, (0, 0))
        grid.update_view(view, (1, 2))
        await pilot.pause()
        selected = [card for card in grid.query(SeedCard) if card.has_class("-selected")]
        assert selected == [grid.card_at(1, 2)]


async def test_grid_updates_content_without_remounting_cards() -> None:
    grid = SeedGrid()
    async with Host(grid).run_test(size=SIZE) as pilot:
        store = TelemetryStore()
        recs = records()
        for record in recs[:3]:
            store.add(record)
        grid.update_view(store.view(), (0, 0))
        await pilot.pause()
        before = list(grid.query(SeedCard))
        texts_before = [plain(card) for card in before]
        for record in recs[3:]:
            store.add(record)
            grid.update_view(store.view(), (0, 0))
        await pilot.pause()
        after = list(grid.query(SeedCard))
        assert len(before) == 6 and all(x is y for x, y in zip(before, after, strict=True))
        assert [plain(card) for card in after] != texts_before


async def test_paused_seed_card_shows_paused() -> None:
    grid = SeedGrid()
    async with Host(grid).run_test(size=SIZE) as pilot:
        grid.update_view(view_until(is_paused_epoch), (0, 0))
        await pilot.pause()
        assert "PAUSED" in plain(grid.card_at(0, 0))
        assert "PAUSED" not in plain(grid.card_at(1, 0))


async def test_pause_command_shows_at_once_marked_pending() -> None:
    view = view_until(is_pause_command)
    assert not view.lane("heuristic").seed_history[0][-1].paused  # the record does not know yet
    grid = SeedGrid()
    async with Host(grid).run_test(size=SIZE) as pilot:
        grid.update_view(view, (0, 0))
        await pilot.pause()
        assert "PAUSED  pending" in plain(grid.card_at(0, 0))


async def test_failure_stage_is_named_not_placed_on_the_pipeline() -> None:
    view = replace_latest_seed(full_view(), 0, 0, stage=8, stage_name="CULLED")
    grid = SeedGrid()
    async with Host(grid).run_test(size=SIZE) as pilot:
        grid.update_view(view, (0, 0))
        await pilot.pause()
        text = plain(grid.card_at(0, 0))
        assert "✗ CULLED" in text and "DOR›GER" not in text


async def test_dormant_slot_is_quiet() -> None:
    grid = SeedGrid()
    async with Host(grid).run_test(size=SIZE) as pilot:
        grid.update_view(full_view(), (0, 0))
        await pilot.pause()
        assert plain(grid.card_at(0, 1)) == "DORMANT · empty"


async def test_compact_cards_use_at_most_four_lines() -> None:
    view = full_view()
    grid = SeedGrid()
    async with Host(grid).run_test(size=(80, 24)) as pilot:
        grid.update_view(view, (0, 0))
        grid.set_compact(True)
        await pilot.pause()
        for card in grid.query(SeedCard):
            assert len(plain(card).splitlines()) <= 4
            assert card.region.height <= 4
        seed = view.lanes[0].seed_history[0][-1]  # still says where the seed is
        assert SHORT.get(seed.stage, "✗") in plain(grid.card_at(0, 0))


# ---------------------------------------------------------------------------- gradients
async def test_paused_seed_gradients_show_not_measured_and_why() -> None:
    panel = GradientPanel()
    async with Host(panel).run_test(size=SIZE) as pilot:
        panel.update_view(view_until(is_paused_epoch))
        await pilot.pause()
        line = line_with(plain(panel), "heuristic")
        assert "not measured (paused)" in line
        assert "health" not in line


def test_not_measured_is_never_green() -> None:
    text = gradient_text(view_until(is_paused_epoch))
    line = line_with(text.plain, "heuristic")
    start = text.plain.index(line)
    overlapping = [str(s.style) for s in text.spans
                   if s.start < start + len(line) and s.end > start]  # fmt: skip
    assert overlapping and not any("green" in style for style in overlapping)


def test_measured_healthy_seed_is_green_with_its_health() -> None:
    text = gradient_text(full_view())
    line = line_with(text.plain, "heuristic")
    assert "health 1.00" in line
    assert any("green" in style for style in styles_over(text, "1.00"))


async def test_latched_gradient_flags_are_shown() -> None:
    view = replace_latest_seed(full_view(), 0, 0, has_vanishing=True, has_exploding=True)
    panel = GradientPanel()
    async with Host(panel).run_test(size=SIZE) as pilot:
        panel.update_view(view)
        await pilot.pause()
        line = line_with(plain(panel), "heuristic")
        assert "VANISHING" in line and "EXPLODING" in line


# ---------------------------------------------------------------------------- saturation
async def test_saturation_rows_show_raw_normalised_bound_and_window() -> None:
    view = full_view()
    panel = SaturationPanel()
    async with Host(panel).run_test(size=SIZE) as pilot:
        panel.update_view(view)
        await pilot.pause()
        text = plain(panel)
        row = next(r for r in view.lanes[1].saturation if r.feature == "grad_norm")
        assert f"{view.lanes[1].name} (last {row.window})" in text
        cells = line_with(text, "grad_norm").split()
        assert cells[:2] == ["grad_norm", "≤10"] and f"{row.normalised:.3f}" in cells


async def test_saturation_warning_is_shown_in_full() -> None:
    view = full_view()
    lane = view.lanes[1]
    warning = (
        "grad_norm pegged at its bound ≤10 in 90% of the last 10 epochs: the scale blinds the agent"
    )
    rows = (
        dataclasses.replace(lane.saturation[0], pegged_share=0.9, warning=warning),
        *lane.saturation[1:],
    )
    view = dataclasses.replace(
        view, lanes=(view.lanes[0], dataclasses.replace(lane, saturation=rows))
    )
    panel = SaturationPanel()
    async with Host(panel).run_test(size=SIZE) as pilot:
        panel.update_view(view)
        await pilot.pause()
        words = " ".join(plain(panel).split())
        assert "WARNING" in words and warning in words


async def test_iql_outliers_are_sorted_by_abs_z_and_the_heuristic_has_no_normaliser() -> None:
    view = full_view()
    lane = view.lanes[1]
    outliers = (
        InputOutlier(lane.name, "small", 1.0, 3.5),
        InputOutlier(lane.name, "big", 9.0, -8.0),
    )
    view = dataclasses.replace(
        view, lanes=(view.lanes[0], dataclasses.replace(lane, outliers=outliers))
    )
    panel = SaturationPanel()
    async with Host(panel).run_test(size=SIZE) as pilot:
        panel.update_view(view)
        await pilot.pause()
        text = plain(panel)
        assert "inputs outside the training distribution (|z| > 3)" in text
        assert text.index("big") < text.index("small")
        assert "no input normalisation" in line_with(text, "heuristic:")


# ---------------------------------------------------------------------------- decisions
def row_keys(table: DecisionTable) -> list[str]:
    return [table.row_key_at(i) for i in range(table.row_count)]


async def test_decision_cursor_stays_on_its_record_across_updates() -> None:
    table = DecisionTable()
    async with Host(table).run_test(size=SIZE) as pilot:
        store = TelemetryStore()
        recs = records()
        half = len(recs) // 2
        for record in recs[:half]:
            store.add(record)
        table.update_view(store.view())
        await pilot.pause()
        table.move_cursor(row=3)
        key = table.row_key_at(3)
        for record in recs[half:]:
            store.add(record)
            table.update_view(store.view())
        await pilot.pause()
        assert table.row_count > half // 2
        assert table.row_key_at(table.cursor_row) == key


async def test_decision_cursor_and_scroll_survive_rows_falling_out(monkeypatch) -> None:
    monkeypatch.setattr(store_module, "DECISIONS", 30)
    table = DecisionTable()
    async with Host(table).run_test(size=(140, 12)) as pilot:
        store = TelemetryStore()
        recs = records()
        fed = 0
        while len(store.view().decisions) < 30:
            store.add(recs[fed])
            fed += 1
        table.update_view(store.view())
        await pilot.pause()
        table.move_cursor(row=29)  # scrolls to the bottom
        await pilot.pause()
        table.move_cursor(row=24)  # mid-screen, no scroll
        await pilot.pause()
        key, offset = table.row_key_at(24), table.cursor_row - table.scroll_y
        assert offset > 0
        for record in recs[fed : fed + 6]:
            store.add(record)
            table.update_view(store.view())
        await pilot.pause()
        assert table.row_key_at(table.cursor_row) == key and table.cursor_row < 24
        assert table.cursor_row - table.scroll_y == offset  # the rows on screen did not jump


async def test_decision_table_never_exceeds_the_stores_cap(monkeypatch) -> None:
    monkeypatch.setattr(store_module, "DECISIONS", 7)
    table = DecisionTable()
    async with Host(table).run_test(size=SIZE) as pilot:
        store = TelemetryStore()
        for record in records():
            store.add(record)
            table.update_view(store.view())
            assert table.row_count <= 7
        await pilot.pause()
        assert row_keys(table) == [d.key for d in store.view().decisions]


async def test_decision_table_only_adds_new_rows() -> None:
    table = DecisionTable()
    async with Host(table).run_test(size=SIZE) as pilot:
        store = TelemetryStore()
        recs = records()
        for record in recs[:-6]:
            store.add(record)
        table.update_view(store.view())
        await pilot.pause()
        added: list[str] = []
        original = table.add_row
        table.add_row = lambda *cells, key=None, **kw: (
            added.append(key) or original(*cells, key=key, **kw)
        )
        table.clear = lambda *a, **kw: pytest.fail("the decision table was cleared")
        before = store.view().decisions
        for record in recs[-6:]:
            store.add(record)
        table.update_view(store.view())
        assert added == [d.key for d in store.view().decisions[len(before) :]]


async def test_decision_table_follows_new_rows_when_on_the_last_row() -> None:
    table = DecisionTable()
    async with Host(table).run_test(size=SIZE) as pilot:
        store = TelemetryStore()
        recs = records()
        for record in recs[:10]:
            store.add(record)
        table.update_view(store.view())
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1
        for record in recs[10:]:
            store.add(record)
        table.update_view(store.view())
        await pilot.pause()
        assert table.cursor_row == table.row_count - 1
        assert table.row_key_at(table.cursor_row) == store.view().decisions[-1].key


async def test_decision_row_marks_masked_q_values_and_heuristic_has_none() -> None:
    view = full_view()
    iql = next(d for d in view.decisions if d.q_values is not None and not all(d.action_mask))
    heur = next(d for d in view.decisions if d.q_values is None)
    table = DecisionTable()
    async with Host(table).run_test(size=SIZE) as pilot:
        table.update_view(view)
        await pilot.pause()
        cells = [str(c) for c in table.get_row(iql.key)]
        masked = iql.action_mask.index(False)
        assert cells[3 + masked] == f"({iql.q_values[masked]:+.2f})"
        short = ("W", "G-CONV", "G-ATT", "G-NORM", "G-DW", "ADV", "CULL")[iql.action]
        assert cells[2].split()[0] == short
        heur_cells = [str(c) for c in table.get_row(heur.key)]
        assert heur_cells[3:10] == ["—"] * 7
        assert heur_cells[-2].startswith("executed" if heur.executed else "refused")


async def test_shadow_decisions_get_their_own_marked_rows() -> None:
    view = full_view()
    parent = view.decisions[-1]
    shadow = dataclasses.replace(parent, lane="shadow_iql", executed=False, outcome="shadow")
    decisions = (*view.decisions[:-1], dataclasses.replace(parent, shadow=(shadow,)), shadow)
    table = DecisionTable()
    async with Host(table).run_test(size=SIZE) as pilot:
        table.update_view(dataclasses.replace(view, decisions=decisions))
        await pilot.pause()
        assert row_keys(table)[-2:] == [parent.key, shadow.key]
        assert "shadow" in str(table.get_row(shadow.key)[1])
        assert "shadow" not in str(table.get_row(parent.key)[1])


async def test_a_repeated_decision_key_gets_its_own_row() -> None:
    view = full_view()
    repeat = dataclasses.replace(view.decisions[0], outcome="from a second run in the same file")
    decisions = (*view.decisions, repeat)
    table = DecisionTable()
    async with Host(table).run_test(size=SIZE) as pilot:
        table.update_view(dataclasses.replace(view, decisions=decisions))
        await pilot.pause()
        assert table.row_count == len(decisions)
        assert row_keys(table)[-1] == f"{repeat.key}#2"
