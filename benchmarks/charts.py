"""Per-update cost of the two maintained Textual plotting widgets, side by side in one run.

The chart view (``widgets/charts.py``) redraws four plots whenever the store changes. This script
times that redraw with each candidate, in a headless ``App.run_test()`` at 120x40: four plots,
each cleared and replotted with 2 lanes x 4 series of N points, then the screen is composed
(``pilot.pause()`` runs the compositor). Rounds alternate the candidates so that drift in the
machine's speed hits both alike; times are CPU seconds of this process (the machine is shared).

    python benchmarks/charts.py [--points 25 50 100] [--updates 30] [--rounds 3]

``textual-plot`` is the one the project depends on; the other candidate is needed only here:
``pip install 'textual-plotext==1.0.1'``.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import statistics
import sys
import time
from collections.abc import Callable, Sequence

from textual.app import App, ComposeResult
from textual.containers import Grid
from textual.widget import Widget
from textual_plot import HiResMode, PlotWidget

try:
    from textual_plotext import PlotextPlot
except ImportError:  # the rival is not a dependency: without it, measure textual-plot alone
    PlotextPlot = None

PLOTS = 4
LANES = 2
SERIES = 4
COLOURS = ("dodger_blue1", "orange1", "grey50", "grey37")
Line = tuple[str, list[float], list[float], int]  # label, xs, ys, colour index


def lines(points: int, tick: int) -> list[Line]:
    """2 lanes x 4 series of ``points`` values; ``tick`` shifts them so every update differs."""
    out: list[Line] = []
    xs = [float(i) for i in range(1, points + 1)]
    for lane in range(LANES):
        for series in range(SERIES):
            phase = 0.3 * tick + lane + 0.7 * series
            ys = [50 + 30 * math.sin(x / 7 + phase) + 5 * series for x in xs]
            out.append((f"lane{lane} s{series}", xs, ys, (lane * SERIES + series) % len(COLOURS)))
    return out


def draw_textual_plot(widget: Widget, data: Sequence[Line]) -> None:
    assert isinstance(widget, PlotWidget)
    widget.clear()
    for label, xs, ys, colour in data:
        widget.plot(xs, ys, line_style=COLOURS[colour], hires_mode=HiResMode.BRAILLE, label=label)


def draw_plotext(widget: Widget, data: Sequence[Line]) -> None:
    assert PlotextPlot is not None and isinstance(widget, PlotextPlot)
    plt = widget.plt
    plt.clear_data()
    for label, xs, ys, colour in data:
        plt.plot(xs, ys, label=label, marker="braille", color=COLOURS[colour].replace("_", ""))
    widget.refresh()


Candidate = tuple[Callable[[str], Widget], Callable[[Widget, Sequence[Line]], None]]
CANDIDATES: dict[str, Candidate] = {
    "textual-plot": (lambda id: PlotWidget(id=id, allow_pan_and_zoom=False), draw_textual_plot),
}
if PlotextPlot is not None:
    CANDIDATES["textual-plotext"] = (lambda id: PlotextPlot(id=id), draw_plotext)


class PlotsApp(App[None]):
    CSS = "#plots { grid-size: 2 2; }"

    def __init__(self, make: Callable[[str], Widget]) -> None:
        super().__init__()
        self._make = make

    def compose(self) -> ComposeResult:
        with Grid(id="plots"):
            for index in range(PLOTS):
                yield self._make(f"plot{index}")

    def on_mount(self) -> None:
        for widget in self.query(PlotWidget):
            widget.show_legend()
        if PlotextPlot is not None:
            for widget in self.query(PlotextPlot):
                widget.plt.title("bench")


async def per_update(name: str, points: int, updates: int) -> float:
    """Median CPU seconds from new data to a composed screen, over ``updates`` redraws."""
    make, draw = CANDIDATES[name]
    app = PlotsApp(make)
    samples: list[float] = []
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        widgets = [app.query_one(f"#plot{index}") for index in range(PLOTS)]
        for tick in range(updates + 2):
            data = lines(points, tick)
            start = time.process_time()
            for widget in widgets:
                draw(widget, data)
            await pilot.pause()
            if tick >= 2:  # the first two include sizing the canvases
                samples.append(time.process_time() - start)
    return statistics.median(samples)


async def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, nargs="+", default=[25, 50, 100])
    parser.add_argument("--updates", type=int, default=30)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    if "textual-plotext" not in CANDIDATES:
        print(
            "textual-plotext is not installed: timing textual-plot alone "
            "(pip install 'textual-plotext==1.0.1' for the comparison).",
            file=sys.stderr,
        )
    print(f"{PLOTS} plots x {LANES} lanes x {SERIES} series, 120x40, median CPU ms per update")
    print(
        f"{'points':>6}"
        + "".join(f"  {name:>15}" for name in CANDIDATES)
        + ("  plotext / plot" if len(CANDIDATES) == 2 else "")
    )
    for points in args.points:
        rounds: dict[str, list[float]] = {name: [] for name in CANDIDATES}
        for _ in range(args.rounds):
            for name in CANDIDATES:
                rounds[name].append(await per_update(name, points, args.updates))
        line = f"{points:>6}" + "".join(
            f"  {statistics.median(v) * 1e3:>15.1f}" for v in rounds.values()
        )
        if len(CANDIDATES) == 2:
            plot, plotext = rounds["textual-plot"], rounds["textual-plotext"]
            ratios = [b / a for a, b in zip(plot, plotext, strict=True)]
            line += (
                f"  {statistics.median(plotext) / statistics.median(plot):>14.2f}"
                f"   (per round {min(ratios):.2f}..{max(ratios):.2f})"
            )
        print(line)


if __name__ == "__main__":
    asyncio.run(main())
