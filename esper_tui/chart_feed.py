"""The chart view's data, from the store's view: each lane's validation curves (this episode
and the finished ones) and the selected seed's alpha and gradient-norm history.

The chart widgets (``widgets.charts``) take plain ``ChartData``; this is the one adapter from
``StoreView`` to it, cached per store version and selection so a poll of an unchanged store
costs a comparison.
"""

from __future__ import annotations

from collections.abc import Callable

from widgets.charts import ChartData, focus_series, lane_curves

from widgets.model import StoreView
from widgets.seed_grid import grid_lanes


def chart_data(view: StoreView, selected: tuple[int, int]) -> ChartData | None:
    """``None`` before the run has lanes; otherwise every lane with epochs, and the selected
    seed card's seed (None when that slot is empty)."""
    if not view.lanes:
        return None
    lanes = tuple(lane_curves(lane.name, lane.epochs, [curve.val_accuracy for curve in lane.past])
                  for lane in view.lanes if lane.epochs)  # fmt: skip
    focus = None
    growing = grid_lanes(view)
    lane_index, slot = selected
    if lane_index < len(growing):
        lane = growing[lane_index]
        history = lane.seed_history.get(slot, ())
        if history and history[-1].seed_id is not None:
            label = f"{lane.name} · slot {slot} · {history[-1].blueprint_id}"
            focus = focus_series(label, history)
    return ChartData(view.episode, lanes, focus, view.run.epochs if view.run is not None else 0)


def chart_provider(view: Callable[[], StoreView], selected: Callable[[], tuple[int, int]]
                   ) -> Callable[[], ChartData | None]:  # fmt: skip
    """A zero-argument provider for ``ChartsScreen``: rebuilt only when the store's version or
    the selection changed."""
    cache: dict[str, object] = {}

    def provide() -> ChartData | None:
        current, where = view(), selected()
        key = (current.version, where)
        if cache.get("key") != key:
            cache["key"], cache["data"] = key, chart_data(current, where)
        return cache["data"]  # type: ignore[return-value]

    return provide
