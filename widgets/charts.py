"""The chart view's data and widget: each lane's validation accuracy and loss over epochs, this
episode drawn over the finished ones (dimmer), and the focus seed's alpha and gradient norm.

Plots are ``textual-plot``'s ``PlotWidget`` (a framed axis with round-number ticks, braille
lines). Its rival ``textual-plotext`` was measured with ``benchmarks/charts.py`` (4 plots of
2 lanes x 4 series, redrawn and composed at 120x40, CPU time, one run): plotext cost 1.06x
textual-plot's time at 25 points, 1.28x at 50 and 1.48x at 100 (about 74 / 86 / 108 ms per
redraw for textual-plot), because plotext rebuilds its whole figure as an ANSI string and
re-parses it on every render. Seen in tmux, plotext also labels its axes at unrounded values
(27.9, 38.2, ...) and registers Textual themes in a module-level dict. So the project depends
on textual-plot only; the benchmark needs ``textual-plotext==1.0.1`` installed by hand.

``ChartData`` is plain data (no torch, no Textual state) so that the store or a test can build
it; ``LaneCharts`` only renders one, and only when it changed. Lane names come from model file
names: they reach the screen through ``Text`` (legend and captions), never as markup. Legends
sit on a line under each plot: textual-plot's floating legend hid the early epochs.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Grid, Vertical
from textual.widget import Widget
from textual.widgets import Static
from textual_plot import HiResMode, PlotWidget
from textual_plot.axis_formatter import AxisFormatter, NumericAxisFormatter

from training.records import EpochRecord, SeedRecord

# (this episode, finished episodes) per lane, in lane order; finished is the same hue, darker.
LANE_COLOURS = (
    ("#4aa3ff", "#2a5680"), ("#ff9f1c", "#80551a"), ("#3ecf6e", "#236a3b"),
    ("#e05ce0", "#703070"), ("#e6d43a", "#746b22"), ("#3fd8d8", "#226d6d"),
)  # fmt: skip
FOCUS_COLOUR = "#e6e6e6"
MAX_FINISHED = 8  # finished episodes drawn per lane (the newest); more only add noise
LABEL_WIDTH = 24  # legend labels are cut to this many cells
NORM_FLOOR = 1e-12  # a measured norm of exactly 0 is drawn here on the log axis
_NOTHING = object()  # what a LaneCharts shows before its first draw
EMPTY_MESSAGE = "No epochs yet: the charts fill in when the first epoch of this episode ends."
NO_FOCUS = "No focus seed: select a seed card on the dashboard."


def _same_length(epochs: Sequence[int], **series: Sequence[float | None]) -> None:
    for name, values in series.items():
        if len(values) != len(epochs):
            raise ValueError(f"{name} has {len(values)} values for {len(epochs)} epochs")


@dataclass(frozen=True)
class LaneCurves:
    """One lane's validation curves. ``finished`` holds the validation accuracy of each finished
    episode, epoch 1 first, oldest episode first."""

    name: str
    epochs: tuple[int, ...] = ()  # this episode's epochs, oldest first
    val_accuracy: tuple[float, ...] = ()  # percent, one per epoch
    val_loss: tuple[float, ...] = ()
    finished: tuple[tuple[float, ...], ...] = ()

    def __post_init__(self) -> None:
        _same_length(self.epochs, val_accuracy=self.val_accuracy, val_loss=self.val_loss)


@dataclass(frozen=True)
class FocusSeries:
    """The focus seed's alpha and raw gradient norm (global L2) per epoch; ``None`` where it was
    not measured (paused, dormant, culled), which is drawn as a gap, never as a value."""

    label: str  # which seed, e.g. "tiny_iql · slot1 · seed 3"; plain text
    epochs: tuple[int, ...] = ()
    alpha: tuple[float | None, ...] = ()
    gradient_norm: tuple[float | None, ...] = ()

    def __post_init__(self) -> None:
        _same_length(self.epochs, alpha=self.alpha, gradient_norm=self.gradient_norm)


@dataclass(frozen=True)
class ChartData:
    """Everything the chart view draws. ``max_epochs`` (0 = unknown) fixes the x axis for the
    episode so that curves grow left to right instead of rescaling every epoch."""

    episode: int
    lanes: tuple[LaneCurves, ...] = ()
    focus: FocusSeries | None = None
    max_epochs: int = 0

    @property
    def has_epochs(self) -> bool:
        return any(lane.epochs for lane in self.lanes)


def lane_curves(
    name: str, epochs: Sequence[EpochRecord], finished: Sequence[Sequence[float]] = ()
) -> LaneCurves:
    """A lane's curves from this episode's epoch records (oldest first) and the validation
    accuracy curves of its finished episodes."""
    return LaneCurves(
        name,
        tuple(r.epoch for r in epochs),
        tuple(r.val_accuracy for r in epochs),
        tuple(r.val_loss for r in epochs),
        tuple(tuple(c) for c in finished),
    )


def focus_series(label: str, history: Sequence[SeedRecord]) -> FocusSeries:
    """The focus seed's series from its slot's records this episode (oldest first), only those
    of the seed now in the slot (a slot can hold several in an episode). The norm is None
    wherever the record says gradients were not measured."""
    current = history[-1].seed_id if history else None
    mine = [r for r in history if r.seed_id == current]
    return FocusSeries(
        label,
        tuple(r.epoch for r in mine),
        tuple(r.alpha for r in mine),
        tuple(r.telemetry.gradient_norm if r.gradients_measured else None for r in mine),
    )


def segments(
    xs: Sequence[float], ys: Sequence[float | None]
) -> list[tuple[list[float], list[float]]]:
    """The runs of consecutive finite values: a line never bridges an epoch that has none."""
    runs: list[tuple[list[float], list[float]]] = []
    current: tuple[list[float], list[float]] = ([], [])
    for x, y in zip(xs, ys, strict=True):
        if y is None or not math.isfinite(y):
            if current[0]:
                runs.append(current)
            current = ([], [])
            continue
        current[0].append(float(x))
        current[1].append(float(y))
    if current[0]:
        runs.append(current)
    return runs


def gaps_caption(epochs: Sequence[int], values: Sequence[float | None]) -> str:
    """ "not measured: 3, 4 · non-finite: 7" for the epochs a focus plot cannot draw."""
    missing = [str(e) for e, v in zip(epochs, values, strict=True) if v is None]
    bad = [
        str(e)
        for e, v in zip(epochs, values, strict=True)
        if v is not None and not math.isfinite(v)
    ]
    parts = ([f"not measured: epoch {', '.join(missing[-6:])}"] if missing else []) + (
        [f"non-finite: epoch {', '.join(bad[-6:])}"] if bad else []
    )
    return " · ".join(parts)


def log_norms(values: Sequence[float | None]) -> list[float | None]:
    """log10 of each measured norm (0 drawn at ``NORM_FLOOR``); None and non-finite stay gaps."""
    return [
        None if v is None or not math.isfinite(v) else math.log10(max(v, NORM_FLOOR))
        for v in values
    ]


class Log10Formatter(AxisFormatter):
    """Ticks for values plotted as log10: whole decades where the range spans two or more,
    labelled with the value itself (1e-3, 0.1, 10)."""

    def get_ticks(self, min_: float, max_: float, max_ticks: int = 8) -> list[float]:
        decades = list(range(math.ceil(min_), math.floor(max_) + 1))
        if len(decades) < 2:
            return NumericAxisFormatter().get_ticks(min_, max_, max_ticks)
        step = max(1, math.ceil(len(decades) / max_ticks))
        return [float(d) for d in decades[::step]]

    def get_labels_for_ticks(self, ticks: Sequence[float]) -> list[str]:
        return [
            f"{10**t:.0e}".replace("e+0", "e").replace("e-0", "e-").replace("e+", "e")
            if float(t).is_integer()
            else f"{10**t:.2g}"
            for t in ticks
        ]


def _label(text: str) -> str:
    return text if len(text) <= LABEL_WIDTH else text[: LABEL_WIDTH - 1] + "…"


def legend(lanes: Sequence[LaneCurves], note: str = "") -> Text:
    """A one-line legend under a plot ("━━ heuristic  ━━ iql  · note"), lane names as plain
    text."""
    out = Text()
    for index, lane in enumerate(lanes):
        out.append("  " if index else "")
        out.append("━━ ", style=LANE_COLOURS[index % len(LANE_COLOURS)][0])
        out.append(_label(lane.name))
    if note:
        out.append(f"  · {note}", style="dim")
    return out


class ChartCell(Vertical):
    """One titled plot and a caption line under it."""

    def __init__(self, title: str, plot_id: str) -> None:
        super().__init__(classes="chart-cell")
        self.border_title = title  # a fixed string from this module, never user text
        self._plot_id = plot_id

    def compose(self) -> ComposeResult:
        plot = PlotWidget(id=self._plot_id, allow_pan_and_zoom=False)
        plot.can_focus = False  # the chart screen's keys stay the screen's
        yield plot
        yield Static("", classes="chart-caption")


class LaneCharts(Widget):
    """Four plots: validation accuracy and loss per lane; the focus seed's alpha and gradient
    norm (log scale). ``update_view`` redraws only when the data changed."""

    DEFAULT_CSS = """
    LaneCharts { height: 1fr; }
    LaneCharts #charts-empty { height: 1fr; content-align: center middle; color: $text-muted; }
    LaneCharts #charts-grid { grid-size: 2 2; grid-gutter: 0 1; height: 1fr; }
    LaneCharts .chart-cell { border: round $panel-lighten-2; border-title-color: $text; }
    LaneCharts .chart-caption { height: 1; color: $text-muted; }
    LaneCharts PlotWidget { height: 1fr; }
    """

    def __init__(self, data: ChartData | None = None, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._data = data
        self._drawn: object = _NOTHING

    @property
    def data(self) -> ChartData | None:
        return self._data

    def compose(self) -> ComposeResult:
        yield Static(EMPTY_MESSAGE, id="charts-empty")
        with Grid(id="charts-grid"):
            yield ChartCell("Validation accuracy (%) by epoch", "plot-accuracy")
            yield ChartCell("Validation loss by epoch", "plot-loss")
            yield ChartCell("Focus seed: alpha by epoch", "plot-alpha")
            yield ChartCell("Focus seed: gradient norm by epoch (log)", "plot-norm")

    def on_mount(self) -> None:
        for plot in self.query(PlotWidget):
            plot.margin_top = 0
            plot.margin_bottom = 1  # the tick labels; "epoch" is in the titles
        alpha = self.query_one("#plot-alpha", PlotWidget)
        alpha.set_ylimits(-0.05, 1.05)  # 0 and 1 stay off the frame
        self.query_one("#plot-norm", PlotWidget).set_y_formatter(Log10Formatter())
        self._draw()

    def update_view(self, data: ChartData | None) -> None:
        """Show ``data``; a no-op when it equals what is drawn."""
        self._data = data
        if self.is_mounted:
            self._draw()

    def _draw(self) -> None:
        data = self._data
        if data == self._drawn:
            return
        self._drawn = data
        ready = data is not None and data.has_epochs
        self.query_one("#charts-empty").display = not ready
        self.query_one("#charts-grid").display = ready
        if data is None or not ready:
            return
        with self.app.batch_update():
            self._draw_lanes(data)
            self._draw_focus(data)

    def _plot(self, plot_id: str) -> PlotWidget:
        return self.query_one(f"#{plot_id}", PlotWidget)

    def _caption(self, plot_id: str, text: str | Text) -> None:
        caption = Text(text) if isinstance(text, str) else text
        caption.no_wrap, caption.overflow = True, "ellipsis"
        cell = self._plot(plot_id).parent
        assert cell is not None
        cell.query_one(".chart-caption", Static).update(caption)

    def _x_limits(self, plot: PlotWidget, data: ChartData) -> None:
        if data.max_epochs > 1:
            plot.set_xlimits(1.0, float(data.max_epochs))
        else:
            plot.set_xlimits()

    def _draw_lanes(self, data: ChartData) -> None:
        accuracy, loss = self._plot("plot-accuracy"), self._plot("plot-loss")
        accuracy.clear()
        loss.clear()
        for plot in (accuracy, loss):
            self._x_limits(plot, data)
        for index, lane in enumerate(data.lanes):  # the finished episodes first: drawn beneath
            dim = LANE_COLOURS[index % len(LANE_COLOURS)][1]
            shown = lane.finished[-MAX_FINISHED:]
            for curve in shown:  # unlabelled: the caption says what the dim lines are
                for xs, ys in segments(range(1, len(curve) + 1), curve):
                    accuracy.plot(xs, ys, line_style=dim, hires_mode=HiResMode.BRAILLE)
        for index, lane in enumerate(data.lanes):
            bright = LANE_COLOURS[index % len(LANE_COLOURS)][0]
            for plot, values in ((accuracy, lane.val_accuracy), (loss, lane.val_loss)):
                for xs, ys in segments(lane.epochs, values):
                    plot.plot(xs, ys, line_style=bright, hires_mode=HiResMode.BRAILLE)
        finished = max((len(lane.finished) for lane in data.lanes), default=0)
        self._caption(
            "plot-accuracy", legend(data.lanes, f"dimmer: {finished} finished" if finished else "")
        )
        self._caption("plot-loss", legend(data.lanes, f"episode {data.episode}"))

    def _draw_focus(self, data: ChartData) -> None:
        alpha, norm = self._plot("plot-alpha"), self._plot("plot-norm")
        alpha.clear()
        norm.clear()
        focus = data.focus
        for plot in (alpha, norm):
            self._x_limits(plot, data)
        if focus is None or not focus.epochs:
            self._caption(
                "plot-alpha", NO_FOCUS if focus is None else f"{focus.label}: no epochs yet"
            )
            self._caption("plot-norm", "" if focus is None else focus.label)
            return
        for xs, ys in segments(focus.epochs, focus.alpha):
            alpha.plot(xs, ys, line_style=FOCUS_COLOUR, hires_mode=HiResMode.BRAILLE)
        for xs, ys in segments(focus.epochs, log_norms(focus.gradient_norm)):
            norm.plot(xs, ys, line_style=FOCUS_COLOUR, hires_mode=HiResMode.BRAILLE)
        if not any(v is not None for v in log_norms(focus.gradient_norm)):
            norm.set_ylimits(-3.0, 1.0)  # nothing measured yet: a plain default range
        else:
            norm.set_ylimits()
        alpha_gaps, norm_gaps = (
            gaps_caption(focus.epochs, focus.alpha),
            gaps_caption(focus.epochs, focus.gradient_norm),
        )
        self._caption("plot-alpha", focus.label + (f" · {alpha_gaps}" if alpha_gaps else ""))
        self._caption("plot-norm", focus.label + (f" · {norm_gaps}" if norm_gaps else ""))
