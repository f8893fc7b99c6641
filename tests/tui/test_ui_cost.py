"""What keeps the UI thread's work per record small. Training runs in a thread of the dashboard's
process, so the UI's work stalls it: the start-up heap is frozen before the app runs (a full
collection walked torch and the models, 180 ms each), the footer is recomposed only when its
keys change, and the decision pane keeps its height from one decision to the next."""

import gc

from esper_tui.app import EsperApp
from tests.tui.conftest import RUN, settle, snapshot_app, store_from
from widgets.decision_why import DecisionWhy
from widgets.footer import FittingFooter

MID_RUN = (1, "tiny_iql", 5)


def test_esper_tui_freezes_its_start_up_heap_just_before_the_app_runs(monkeypatch, capsys):
    from esper_tui.cli import tui

    frozen: list[int] = []
    monkeypatch.setattr(tui, "missing_terminal", lambda: None)  # as in a terminal
    monkeypatch.setattr(EsperApp, "run", lambda self, *a, **k: frozen.append(gc.get_freeze_count()))
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        assert tui.main(["--replay", str(RUN)]) == 0
    finally:
        gc.unfreeze()  # the rest of this test process collects as before
    assert frozen and frozen[0] > 10_000  # torch, numpy, textual and the store, at least


async def test_the_footer_is_recomposed_only_when_a_key_it_shows_changes():
    app = snapshot_app(upto=MID_RUN)
    async with app.run_test(size=(120, 40)) as pilot:
        await settle(pilot)
        footer = app.screen.query_one(FittingFooter)
        recomposed: list[int] = []
        original = footer.recompose

        async def counting():
            recomposed.append(1)
            await original()

        footer.recompose = counting
        for _ in range(3):  # what a new record of the selected seed asks for, keys unchanged
            app.screen.refresh_bindings()
            await settle(pilot)
        assert recomposed == []
        await pilot.press("tab")  # the next panel: other keys
        await settle(pilot)
        assert recomposed  # ... and the footer shows them


def _decisions(lane: str):
    view = store_from(RUN).view()
    return view, [d for d in view.decisions if d.lane == lane]


def test_the_decision_pane_keeps_its_height_when_a_shorter_decision_follows():
    view, iql = _decisions("tiny_iql")
    _, heuristic = _decisions("heuristic")
    pane = DecisionWhy()
    pane._view = view  # noqa: SLF001 - build() without an app
    pane._decision = iql[-1]  # noqa: SLF001
    long = pane.build(60).plain.count("\n") + 1
    pane._decision = heuristic[-1]  # noqa: SLF001 - no Q, V or advantage: fewer lines
    short = pane.build(60)
    assert short.plain.count("\n") + 1 == long  # padded: no layout of the screen
    assert short.plain.rstrip("\n") == short.plain.rstrip()  # only blank lines added
    fresh = DecisionWhy()
    fresh._view, fresh._decision = view, heuristic[-1]  # noqa: SLF001
    assert short.plain.rstrip("\n") == fresh.build(60).plain  # the same words
    assert pane.build(80).plain == fresh.build(80).plain  # another width starts afresh
