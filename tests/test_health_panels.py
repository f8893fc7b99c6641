"""Pilot tests of the health panels (gradient health, normalisation saturation) and the decision
table, fed through the real path: record file -> TelemetryStore -> StoreView -> ``update_view``."""

from __future__ import annotations

import dataclasses

import pytest

import esper_tui.store as store_module
from esper_tui.store import TelemetryStore
from tests.widgets_support import (
    SIZE,
    Host,
    drawn,
    fed,
    full_view,
    is_paused_epoch,
    line_with,
    plain,
    records,
    row_keys,
    styles_over,
    view_until,
    with_lane,
    with_latest_seed,
)
from widgets import DecisionTable, GradientPanel, SaturationPanel
from widgets.decision_table import q_vector_text
from widgets.glyphs import ACTION_SHORT
from widgets.gradient_panel import gradient_text
from widgets.model import InputOutlier
from widgets.saturation_panel import GROUP_W


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
        assert (
            heur_cells[8] == ("done" if heur.executed else "REFUSED")
            and heur.reason in heur_cells[9]
        )

    def test_q_vector_marks_masked_actions(self) -> None:
        iql = next(
            d for d in full_view().decisions if d.q_values is not None and not all(d.action_mask)
        )
        masked = iql.action_mask.index(False)
        assert f"{ACTION_SHORT[masked]} ({iql.q_values[masked]:+.2f})" in q_vector_text(iql).plain

    async def test_shadow_decisions_get_their_own_marked_rows(self) -> None:
        parent = (view := full_view()).decisions[-1]
        shadow = dataclasses.replace(parent, lane="shadow_iql", executed=False, outcome="shadow")
        decisions = (*view.decisions[:-1], dataclasses.replace(parent, shadow=(shadow,)), shadow)
        table = await drawn(DecisionTable(), dataclasses.replace(view, decisions=decisions))
        assert row_keys(table)[-2:] == [parent.key, shadow.key]
        assert (
            "⁝" in str(table.get_row(shadow.key)[1])
            and str(table.get_row(shadow.key)[8]) == "advice"
        )
        assert "⁝" not in str(table.get_row(parent.key)[1])

    async def test_a_repeated_decision_key_gets_its_own_row(self) -> None:
        first = (view := full_view()).decisions[0]
        repeat = dataclasses.replace(first, outcome="from a second run in one file")
        decisions = (*view.decisions, repeat)
        table = await drawn(DecisionTable(), dataclasses.replace(view, decisions=decisions))
        assert table.row_count == len(decisions) and row_keys(table)[-1] == f"{repeat.key}#2"
