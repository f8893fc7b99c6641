"""The decision table on the dashboard: enter opens the decision's seed, following pauses when
the cursor moves and End resumes it, and / filters by lane, refusal and disagreement."""

import msgspec

from esper_tui.replay import read_records
from esper_tui.screens import FilterScreen, SeedDetailScreen
from tests.tui.conftest import RUN, snapshot_app, store_from
from training.records import EpochRecord
from widgets.decision_panel import DecisionPanel
from widgets.decision_rows import DecisionFilter
from widgets.decision_table import DecisionTable

MID_RUN = (1, "tiny_iql", 5)
SIZE = (120, 40)


def table_of(app) -> DecisionTable:
    return app.screen.query_one(DecisionTable)


def shown(table: DecisionTable) -> list:
    return [table.decision_at(i) for i in range(table.row_count)]


async def focus_table(pilot, app) -> DecisionTable:
    await pilot.press("tab", "tab", "tab")
    table = table_of(app)
    assert app.focused is table
    return table


async def test_enter_on_a_decision_row_opens_its_seed():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=SIZE) as pilot:
        table = await focus_table(pilot, app)
        row = max(
            i for i, d in enumerate(shown(table)) if d.lane == "tiny_iql" and d.target_slot == 2
        )
        table.move_cursor(row=row)
        await pilot.press("enter")
        assert isinstance(app.screen, SeedDetailScreen)
        assert (app.screen.lane, app.screen.slot) == ("tiny_iql", 2)


def pane_text(app) -> str:
    return app.screen.query_one(DecisionPanel).why.render().plain  # type: ignore[union-attr]


async def test_the_pane_tells_the_cursor_rows_decision_with_every_q():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=SIZE) as pilot:
        table = await focus_table(pilot, app)
        await pilot.press("up", "up")  # the IQL lane's previous decision
        decision = table.cursor_decision
        pane = pane_text(app)
        assert (
            decision.q_values is not None
            and f"{decision.episode}·{decision.epoch} {decision.lane}" in pane
        )
        assert all(f"{q:+.2f}" in pane for q in decision.q_values)
        assert " ".join(decision.reason.split()) in " ".join(pane.split())


async def test_following_pauses_when_the_cursor_moves_and_end_resumes_it():
    app = snapshot_app(upto=MID_RUN)
    records = [r for r in read_records(RUN)[0] if isinstance(r, EpochRecord)]
    later = [r for r in records if (r.episode, r.epoch) == (1, 6)]
    async with app.run_test(size=SIZE) as pilot:
        table = await focus_table(pilot, app)
        panel = app.screen.query_one(DecisionPanel)
        assert table.following and table.cursor_row == table.row_count - 1
        await pilot.press("up", "up")
        key = table.row_key_at(table.cursor_row)
        assert not table.following and "following paused" in panel.panel_state().plain
        for record in later:
            app.store.add(record)
        app.dashboard.poll()
        await pilot.pause()
        assert table.row_key_at(table.cursor_row) == key  # stays on the row the user chose
        await pilot.press("end")
        assert table.following and table.cursor_row == table.row_count - 1
        assert "paused" not in panel.panel_state().plain


async def test_filter_by_lane_then_disagreements_only():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        everything = shown(table)
        await pilot.press("slash")
        assert isinstance(app.screen, FilterScreen)
        await pilot.press("down", "down", "enter")  # lane tiny_iql
        await pilot.press("down", "down", "enter")  # disagreements only
        await pilot.press("escape")
        assert table.row_filter == DecisionFilter("tiny_iql", disagreements_only=True)
        rows = shown(table)
        assert rows and all(d.lane == "tiny_iql" and d.agrees is False for d in rows)
        assert len(rows) == sum(d.lane == "tiny_iql" and d.agrees is False for d in everything)
        assert (
            "filter: lane tiny_iql, disagreements only"
            in app.screen.query_one(DecisionPanel).panel_state().plain
        )


async def test_filter_refused_only_keeps_refusals_as_they_arrive():
    store = store_from(RUN, MID_RUN)
    app = snapshot_app(store=store)
    async with app.run_test(size=SIZE) as pilot:
        table = table_of(app)
        table.row_filter = DecisionFilter(refused_only=True)
        await pilot.pause()
        assert table.row_count == sum(not d.executed for d in store.view().decisions)
        record = next(
            r
            for r in read_records(RUN)[0]
            if isinstance(r, EpochRecord) and r.epoch == 6 and r.decision
        )
        refused = msgspec.structs.replace(
            record.decision, executed=False, outcome="refused: slot busy"
        )
        store.add(msgspec.structs.replace(record, decision=refused))
        app.dashboard.poll()
        await pilot.pause()
        assert shown(table)[-1].outcome == "refused: slot busy"
        assert all(not d.executed for d in shown(table))


async def test_a_narrow_table_names_the_columns_it_leaves_to_the_pane():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        panel = app.screen.query_one(DecisionPanel)
        shown = panel.table.shown_columns
        assert "reason" not in shown and "when" in shown and "action" in shown
        assert "reason: in the pane ↓" in panel.panel_state().plain
        decision = panel.table.cursor_decision
        assert " ".join(decision.reason.split()) in " ".join(pane_text(app).split())
