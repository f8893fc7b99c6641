"""Pilot tests of the panels, fed through the real path: record file -> TelemetryStore -> StoreView
-> ``update_view``. Partial replays stop at a record a predicate picks, not at a line number."""

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
from training.recordio import read_records
from training.records import EpochRecord, Record, RunEvent
from widgets import DecisionTable, GradientPanel, RunHeader, SaturationPanel, Scoreboard
from widgets.decision_table import q_vector_text
from widgets.glyphs import ACTION_SHORT
from widgets.gradient_panel import gradient_text
from widgets.model import InputOutlier, StoreView
from widgets.run_header import header_text
from widgets.saturation_panel import GROUP_W
from widgets.scoreboard import NO_PAIRED
from widgets.seed_grid import SHORT, SeedCard, SeedGrid

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
    lanes = tuple(dataclasses.replace(lane, **changes) if i == index else lane
                  for i, lane in enumerate(view.lanes))  # fmt: skip
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


class TestPackage:
    def test_import_widgets_does_not_import_torch(self) -> None:
        code = "import widgets, sys; assert 'torch' not in sys.modules, 'widgets imported torch'"
        result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                cwd=Path(__file__).parents[1])  # fmt: skip
        assert result.returncode == 0, result.stderr


class TestRunHeader:
    @pytest.mark.parametrize(("path", "status", "other"),
                             [(CRASHED, "CRASHED", "FINISHED"), (RUN, "FINISHED", "CRASHED")])  # fmt: skip
    async def test_shows_how_the_run_ended(self, path: Path, status: str, other: str) -> None:
        header = await drawn(RunHeader(), full_view(path), None)
        assert status in plain(header) and other not in plain(header)
        assert header.has_class(f"-{status.lower()}") and not header.has_class(f"-{other.lower()}")

    def test_finished_and_crashed_are_styled_differently(self) -> None:
        finished = header_text(full_view(RUN), None)
        crashed = header_text(full_view(CRASHED), None)
        assert styles_over(finished, "FINISHED") != styles_over(crashed, "CRASHED")

    async def test_names_each_lanes_policy_with_state_dim_and_telemetry(self) -> None:
        text = plain(await drawn(RunHeader(), full_view(), None))
        assert "tiny_iql.pt · 37 in · seed" in text and "heuristic: heuristic" in text
        assert "head-to-head" in text and "episode 2/2" in text and "epoch 10/10" in text

    def test_rate_is_the_latest_epochs_not_an_average(self) -> None:
        old, new = (view := full_view()).lanes[0].epochs[-2:]
        epochs = (dataclasses.replace(old, samples_per_second=1000.0),
                  dataclasses.replace(new, samples_per_second=3000.0))  # fmt: skip
        line = line_with(header_text(with_lane(view, 0, epochs=epochs), None).plain, "heuristic:")
        assert "3.0k samples/s" in line and "2.0k" not in line

    @pytest.mark.parametrize(("age", "shown"), [(None, "data —"), (0.4, "data < 1 s old"), (2.14, "data 2 s old")])
    def test_shows_data_freshness_and_no_clock(self, age: float | None, shown: str) -> None:
        live = dataclasses.replace(full_view(), source="live")
        assert shown in header_text(live, age).plain

    async def test_counts_corrupt_lines_and_names_the_source(self, tmp_path: Path) -> None:
        lines = RUN.read_text().splitlines()
        path = tmp_path / "damaged.jsonl"
        path.write_text("\n".join([lines[0], "{not json", *lines[1:]]) + "\n")
        text = plain(await drawn(RunHeader(), full_view(path), 0.5))
        assert "1 corrupt line skipped" in text and "REPLAY" in text


class TestScoreboard:
    async def test_curve_has_fixed_bounds_0_to_100(self) -> None:
        view = full_view()
        first = view.lanes[0].epochs[0]
        epochs = tuple(dataclasses.replace(first, epoch=i + 1, val_accuracy=acc)
                       for i, acc in enumerate((0.0, 50.0, 100.0)))  # fmt: skip
        text = plain(await drawn(Scoreboard(), with_lane(view, 0, epochs=epochs)))
        assert "acc 0–100" in text and "▁▅█" in row_of(text, "heuristic")

    async def test_shows_delta_against_the_heuristic_at_the_same_epoch(self) -> None:
        view = full_view()
        heuristic, iql = view.lanes[0].epochs[-1], view.lanes[1].epochs[-1]
        assert heuristic.epoch == iql.epoch
        row = row_of(plain(await drawn(Scoreboard(), view)), "tiny_iql")
        assert f"{iql.val_accuracy - heuristic.val_accuracy:+.2f} at e{iql.epoch}" in row

    async def test_counts_fossilised_and_culled_seeds_this_episode(self) -> None:
        text = plain(await drawn(Scoreboard(), full_view()))
        assert " 1/0 " in row_of(text, "heuristic")  # slot0 fossilised in episode 2
        assert " 0/1 " in row_of(text, "tiny_iql")  # slot1 culled by the operator

    async def test_shows_the_paired_result_only_after_a_finished_episode(self) -> None:
        assert NO_PAIRED in plain(await drawn(Scoreboard(), view_until(is_paused_epoch)))
        text = plain(await drawn(Scoreboard(), view := full_view()))
        assert view.paired[0].summary() in text and NO_PAIRED not in text


class TestSeedGrid:
    async def test_grid_lays_out_lanes_as_rows_and_slots_as_columns(self) -> None:
        grid = SeedGrid()
        async with Host(grid).run_test(size=SIZE) as pilot:
            grid.update_view(full_view(), (0, 0))
            await pilot.pause()
            assert grid.shape == (2, 3)
            a, b, c = grid.card_at(0, 0), grid.card_at(0, 1), grid.card_at(1, 0)
            assert b.region.x > a.region.x and b.region.y == a.region.y
            assert c.region.y > a.region.y and c.region.x == a.region.x

    async def test_only_the_selected_card_has_the_selected_class(self) -> None:
        grid = SeedGrid()
        async with Host(grid).run_test(size=SIZE) as pilot:
            grid.update_view(full_view(), (0, 0))
            grid.update_view(full_view(), (1, 2))
            await pilot.pause()
            selected = [card for card in grid.query(SeedCard) if card.has_class("-selected")]
            assert selected == [grid.card_at(1, 2)]

    async def test_grid_updates_content_without_remounting_cards(self) -> None:
        grid, store, recs = SeedGrid(), TelemetryStore(), records()
        async with Host(grid).run_test(size=SIZE) as pilot:
            grid.update_view(fed(store, recs[:3]), (0, 0))
            await pilot.pause()
            before = list(grid.query(SeedCard))
            texts_before = [plain(card) for card in before]
            for record in recs[3:]:
                grid.update_view(fed(store, [record]), (0, 0))
            await pilot.pause()
            after = list(grid.query(SeedCard))
            assert len(before) == 6 and all(x is y for x, y in zip(before, after, strict=True))
            assert [plain(card) for card in after] != texts_before

    async def test_paused_seed_card_shows_paused(self) -> None:
        grid = await drawn(SeedGrid(), view_until(is_paused_epoch), (0, 0))
        assert "PAUSED" in plain(grid.card_at(0, 0)) and "PAUSED" not in plain(grid.card_at(1, 0))

    async def test_pause_command_shows_at_once_marked_pending(self) -> None:
        view = view_until(is_pause_command)
        assert not view.lane("heuristic").seed_history[0][-1].paused  # the record does not know yet
        grid = await drawn(SeedGrid(), view, (0, 0))
        assert "PAUSED  pending" in plain(grid.card_at(0, 0))

    async def test_failure_stage_is_named_not_placed_on_the_pipeline(self) -> None:
        view = with_latest_seed(full_view(), 0, 0, stage=8, stage_name="CULLED")
        text = plain((await drawn(SeedGrid(), view, (0, 0))).card_at(0, 0))
        assert "✗ CULLED" in text and "DOR›GER" not in text

    async def test_dormant_slot_is_quiet(self) -> None:
        grid = await drawn(SeedGrid(), full_view(), (0, 0))
        assert plain(grid.card_at(0, 1)) == "DORMANT · empty"

    async def test_compact_cards_use_at_most_four_lines(self) -> None:
        view, grid = full_view(), SeedGrid()
        async with Host(grid).run_test(size=(80, 24)) as pilot:
            grid.update_view(view, (0, 0))
            grid.set_compact(True)
            await pilot.pause()
            for card in grid.query(SeedCard):
                assert len(plain(card).splitlines()) <= 4 and card.region.height <= 4
            stage = view.lanes[0].seed_history[0][-1].stage  # still says where the seed is
            assert SHORT.get(stage, "✗") in plain(grid.card_at(0, 0))


class TestGradientPanel:
    async def test_paused_seed_gradients_show_not_measured_and_why(self) -> None:
        panel = await drawn(GradientPanel(), view_until(is_paused_epoch))
        line = line_with(plain(panel), "heuristic")
        assert "not measured (paused)" in line and "health" not in line

    def test_not_measured_is_never_green(self) -> None:
        text = gradient_text(view_until(is_paused_epoch))
        styles = styles_over(text, line_with(text.plain, "heuristic"))
        assert styles and not any("green" in style for style in styles)

    def test_measured_healthy_seed_is_green_with_its_health(self) -> None:
        text = gradient_text(full_view())
        assert "health 1.00" in line_with(text.plain, "heuristic")
        assert any("green" in style for style in styles_over(text, "1.00"))

    async def test_latched_gradient_flags_are_shown(self) -> None:
        view = with_latest_seed(full_view(), 0, 0, has_vanishing=True, has_exploding=True)
        line = line_with(plain(await drawn(GradientPanel(), view)), "heuristic")
        assert "VANISHING" in line and "EXPLODING" in line


class TestSaturationPanel:
    async def test_saturation_rows_show_raw_normalised_bound_and_window(self) -> None:
        text = plain(await drawn(SaturationPanel(), view := full_view()))
        row = next(r for r in view.lanes[1].saturation if r.feature == "grad_norm")
        assert f"{view.lanes[1].name} last {row.window}"[: GROUP_W - 2] in text
        cells = line_with(text, "grad_norm").split()
        assert cells[:2] == ["grad_norm", "≤10"] and f"{row.normalised:.3f}" in cells

    async def test_saturation_warning_is_shown_in_full(self) -> None:
        rows = (view := full_view()).lanes[1].saturation
        warning = "grad_norm pegged at its bound ≤10 in 90% of the last 10 epochs: the scale blinds"
        rows = (dataclasses.replace(rows[0], pegged_share=0.9, warning=warning), *rows[1:])
        panel = await drawn(SaturationPanel(), with_lane(view, 1, saturation=rows))
        words = " ".join(plain(panel).split())
        assert "WARNING" in words and warning in words

    async def test_outliers_sorted_by_abs_z_and_only_for_iql_lanes(self) -> None:
        lane = "tiny_iql"
        outliers = (InputOutlier(lane, "small", 1, 3.5), InputOutlier(lane, "big", 9, -8))
        text = plain(await drawn(SaturationPanel(), with_lane(full_view(), 1, outliers=outliers)))
        assert "tiny_iql out of training distribution (|z| > 3): big" in " ".join(text.split())
        assert text.index("big") < text.index("small")
        assert "heuristic out of" not in text  # the heuristic reads raw signals

    async def test_shows_all_ten_features(self) -> None:
        text = plain(await drawn(SaturationPanel(), view := full_view()))
        assert all(row.feature in text for row in view.lanes[0].saturation)
        assert len(view.lanes[0].saturation) == 10


class TestDecisionTable:
    async def test_cursor_stays_on_its_record_across_updates(self) -> None:
        table, store, recs = DecisionTable(), TelemetryStore(), records()
        async with Host(table).run_test(size=SIZE) as pilot:
            half = len(recs) // 2
            table.update_view(fed(store, recs[:half]))
            await pilot.pause()
            table.move_cursor(row=3)
            table.following = False  # as a key press or a click does
            key = table.row_key_at(3)
            for record in recs[half:]:
                table.update_view(fed(store, [record]))
            await pilot.pause()
            assert table.row_count > half // 2 and table.row_key_at(table.cursor_row) == key

    async def test_cursor_and_scroll_survive_rows_falling_out(self, monkeypatch) -> None:
        monkeypatch.setattr(store_module, "DECISIONS", 30)
        table, store, recs = DecisionTable(), TelemetryStore(), records()
        async with Host(table).run_test(size=(140, 12)) as pilot:
            n = next(i for i in range(len(recs)) if len(fed(store, [recs[i]]).decisions) == 30) + 1
            table.update_view(store.view())
            await pilot.pause()
            table.move_cursor(row=29)  # scrolls to the bottom
            table.move_cursor(row=24)  # mid-screen, no scroll
            table.following = False
            await pilot.pause()
            key, offset = table.row_key_at(24), table.cursor_row - table.scroll_y
            assert offset > 0
            for record in recs[n : n + 6]:
                table.update_view(fed(store, [record]))
            await pilot.pause()
            assert table.row_key_at(table.cursor_row) == key and table.cursor_row < 24
            assert table.cursor_row - table.scroll_y == offset  # the rows on screen did not jump

    async def test_never_exceeds_the_stores_cap(self, monkeypatch) -> None:
        monkeypatch.setattr(store_module, "DECISIONS", 7)
        table, store = DecisionTable(), TelemetryStore()
        async with Host(table).run_test(size=SIZE) as pilot:
            for record in records():
                table.update_view(fed(store, [record]))
                assert table.row_count <= 7
            await pilot.pause()
            assert row_keys(table) == [d.key for d in store.view().decisions]

    async def test_only_adds_new_rows(self) -> None:
        table, store, recs = DecisionTable(), TelemetryStore(), records()
        async with Host(table).run_test(size=SIZE) as pilot:
            before = fed(store, recs[:-6]).decisions
            table.update_view(store.view())
            await pilot.pause()
            added: list[str] = []
            add_row = table.add_row
            table.add_row = lambda *cells, key=None: added.append(key) or add_row(*cells, key=key)
            table.clear = lambda *a, **kw: pytest.fail("the decision table was cleared")
            table.update_view(fed(store, recs[-6:]))
            assert added == [d.key for d in store.view().decisions[len(before) :]]

    async def test_follows_new_rows_when_on_the_last_row(self) -> None:
        table, store, recs = DecisionTable(), TelemetryStore(), records()
        async with Host(table).run_test(size=SIZE) as pilot:
            table.update_view(fed(store, recs[:10]))
            await pilot.pause()
            assert table.cursor_row == table.row_count - 1
            table.update_view(fed(store, recs[10:]))
            await pilot.pause()
            assert table.cursor_row == table.row_count - 1
            assert table.row_key_at(table.cursor_row) == store.view().decisions[-1].key

    async def test_row_shows_chosen_and_best_q_and_heuristic_has_none(self) -> None:
        view = full_view()
        iql = next(d for d in view.decisions if d.q_values is not None and d.agrees is False)
        heur = next(d for d in view.decisions if d.q_values is None)
        table = await drawn(DecisionTable(), view)
        cells = [str(c) for c in table.get_row(iql.key)]
        assert cells[2].split()[0] == ACTION_SHORT[iql.action]
        assert cells[3] == f"{iql.q_values[iql.action]:+.2f}"
        assert cells[7] == f"{ACTION_SHORT[iql.reference_action]} ✗"
        heur_cells = [str(c) for c in table.get_row(heur.key)]
        assert heur_cells[3:7] == ["—"] * 4
        assert heur_cells[8] == ("done" if heur.executed else "REFUSED") and heur.reason in heur_cells[9]

    def test_q_vector_marks_masked_actions(self) -> None:
        iql = next(d for d in full_view().decisions if d.q_values is not None and not all(d.action_mask))
        masked = iql.action_mask.index(False)
        assert f"{ACTION_SHORT[masked]} ({iql.q_values[masked]:+.2f})" in q_vector_text(iql).plain

    async def test_shadow_decisions_get_their_own_marked_rows(self) -> None:
        parent = (view := full_view()).decisions[-1]
        shadow = dataclasses.replace(parent, lane="shadow_iql", executed=False, outcome="shadow")
        decisions = (*view.decisions[:-1], dataclasses.replace(parent, shadow=(shadow,)), shadow)
        table = await drawn(DecisionTable(), dataclasses.replace(view, decisions=decisions))
        assert row_keys(table)[-2:] == [parent.key, shadow.key]
        assert "⁝" in str(table.get_row(shadow.key)[1]) and str(table.get_row(shadow.key)[8]) == "advice"
        assert "⁝" not in str(table.get_row(parent.key)[1])

    async def test_a_repeated_decision_key_gets_its_own_row(self) -> None:
        first = (view := full_view()).decisions[0]
        repeat = dataclasses.replace(first, outcome="from a second run in one file")
        decisions = (*view.decisions, repeat)
        table = await drawn(DecisionTable(), dataclasses.replace(view, decisions=decisions))
        assert table.row_count == len(decisions) and row_keys(table)[-1] == f"{repeat.key}#2"

