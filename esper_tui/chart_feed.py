"""The chart view's data, from the store's view: each lane's validation curves (this episode
and the finished ones) and the selected seed's alpha and gradient-norm history.

The chart widgets (``widgets.charts``) take plain ``ChartData``; this is the one adapter from
``StoreView`` to it, cached per store version and selection so a poll of an unchanged store
costs a comparison.
"""

from __future__ import annotations

from collections.abc import Callable

from widgets.charts import ChartData, focus_series, lane_curves
from widgets.model import LaneView, StoreView
from widgets.seed_grid import grid_lanes


def chart_data(view: StoreView, selected: tuple[int, int]) -> ChartData | None:
    """``None`` before the run has lanes; otherwise every lane with epochs, and a seed's alpha
    and norm: the selected card's, or else the agent's focus seed (None without a live seed)."""
    if not view.lanes:
        return None
    lanes = tuple(
        lane_curves(lane.name, lane.epochs, [curve.val_accuracy for curve in lane.past])
        for lane in view.lanes
        if lane.epochs
    )
    focus = None
    for lane, slot in _candidates(view, selected):
        history = lane.seed_history.get(slot, ())
        if history and history[-1].seed_id is not None:
            focus = focus_series(f"{lane.name} · slot {slot} · {history[-1].blueprint_id}", history)
            break
    return ChartData(view.episode, lanes, focus, view.run.epochs if view.run is not None else 0)


def _candidates(view: StoreView, selected: tuple[int, int]) -> list[tuple[LaneView, int]]:
    """The selected card's slot; else the agent's focus seed of the selected lane, then of the
    other lanes (the seed its ten features describe)."""
    growing = grid_lanes(view)
    lane_index, slot = selected
    ordered = list(growing)
    out: list[tuple[LaneView, int]] = []
    if lane_index < len(growing):
        out.append((growing[lane_index], slot))
        ordered.insert(0, ordered.pop(lane_index))
    for lane in ordered:
        seed_id = lane.focus[-1].seed_id if lane.focus else None
        for index, history in lane.seed_history.items():
            if seed_id is not None and history and history[-1].seed_id == seed_id:
                out.append((lane, index))
    return out


def chart_provider(
    view: Callable[[], StoreView], selected: Callable[[], tuple[int, int]]
) -> Callable[[], ChartData | None]:
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
