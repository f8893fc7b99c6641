"""Pilot tests of the run overview panels (header, scoreboard, seed grid), fed through the real
path: record file -> TelemetryStore -> StoreView -> ``update_view``. Partial replays stop at a
record a predicate picks, not at a line number."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from esper_tui.store import TelemetryStore
from tests.widgets_support import (
    CRASHED,
    RUN,
    SIZE,
    Host,
    drawn,
    fed,
    full_view,
    is_pause_command,
    is_paused_epoch,
    line_with,
    plain,
    records,
    row_of,
    styles_over,
    view_until,
    with_lane,
    with_latest_seed,
)
from widgets import RunHeader, Scoreboard
from widgets.run_header import header_text
from widgets.scoreboard import NO_PAIRED
from widgets.seed_card import SHORT, SeedCard
from widgets.seed_grid import SeedGrid


class TestPackage:
    def test_import_widgets_does_not_import_torch(self) -> None:
        code = "import widgets, sys; assert 'torch' not in sys.modules, 'widgets imported torch'"
        result = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            cwd=Path(__file__).parents[1],
        )
        assert result.returncode == 0, result.stderr


class TestRunHeader:
    @pytest.mark.parametrize(
        ("path", "status", "other"),
        [(CRASHED, "CRASHED", "FINISHED"), (RUN, "FINISHED", "CRASHED")],
    )
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
        assert "TI tiny_iql: tiny_iql.pt · 37 in · seed" in text and "HE heuristic ·" in text
        assert "head-to-head" in text and "episode 2/2" in text and "epoch 10/10" in text

    def test_rate_is_over_the_last_epochs_and_says_so(self) -> None:
        """The rate of equal-sized epochs over a window: the harmonic mean (1000 and 3000
        samples/s over two epochs of the same size is 1.5k/s, not their average 2.0k), labelled."""
        old, new = (view := full_view()).lanes[0].epochs[-2:]
        epochs = (
            msgspec.structs.replace(old, samples_per_second=1000.0),
            msgspec.structs.replace(new, samples_per_second=3000.0),
        )
        line = line_with(header_text(with_lane(view, 0, epochs=epochs), None).plain, "HE heuristic")
        assert "1.5k samples/s" in line and "samples/s over the last 5 epochs" in line

    @pytest.mark.parametrize(
        ("age", "shown"), [(None, "data —"), (0.4, "data < 1 s old"), (2.14, "data 2 s old")]
    )
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
        epochs = tuple(
            msgspec.structs.replace(first, epoch=i + 1, val_accuracy=acc)
            for i, acc in enumerate((0.0, 50.0, 100.0))
        )
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
