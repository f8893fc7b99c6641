"""The vitals view's widget: the newest sample in full, the history of the percentages as a chart
(0-100 %, fixed bounds: a line never rescales away a small change), and every sample in a table.

It takes the store's view and draws ``view.vitals`` and ``view.vitals_history`` only; rows are
added as samples arrive and the table is rebuilt only when a sample lands inside the history
(parallel workers' samples interleave), keeping the cursor where it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widget import Widget
from textual.widgets import DataTable, Static
from textual_plot import HiResMode, PlotWidget

from training.records import GpuVitals, Vitals
from widgets.charts import segments
from widgets.vitals_text import (
    NA,
    gpu_mem_pct,
    memory_style,
    pair_text,
    pct_text,
    size_text,
    util_style,
)

EMPTY = "No vitals in this record: its epochs were written before the trainer sampled them."
# (label, colour) of each series; GPU series get one pair per device
HOST_CPU = ("host CPU", "#4aa3ff")
HOST_MEM = ("host mem", "#3ecf6e")
GPU_COLOURS = (("#ff9f1c", "#e05ce0"), ("#e6d43a", "#3fd8d8"), ("#ff6b6b", "#b0b0ff"))


@dataclass(frozen=True)
class Series:
    label: str
    colour: str
    values: tuple[float | None, ...]


def _gpu(vitals: Vitals, index: int) -> GpuVitals | None:
    return next((g for g in vitals.gpus if g.index == index), None)


def percent_series(history: Sequence[Vitals]) -> list[Series]:
    """Host CPU and memory, and each GPU's utilisation and memory, in % per sample."""
    out = [
        Series(*HOST_CPU, tuple(v.host_cpu_pct for v in history)),
        Series(*HOST_MEM, tuple(v.host_mem_pct for v in history)),
    ]
    indices = sorted({g.index for v in history for g in v.gpus})
    for n, index in enumerate(indices):
        util, mem = GPU_COLOURS[n % len(GPU_COLOURS)]
        gpus = [_gpu(v, index) for v in history]
        out.append(
            Series(f"GPU{index} util", util, tuple(None if g is None else g.util_pct for g in gpus))
        )
        out.append(
            Series(
                f"GPU{index} mem", mem, tuple(None if g is None else gpu_mem_pct(g) for g in gpus)
            )
        )
    return out


def clock_text(t: float | None) -> str:
    return "—" if t is None else datetime.fromtimestamp(t, UTC).strftime("%H:%M:%S")


def _styled(text: str, style: str) -> Text:
    return Text(text, style=style)


def summary_text(vitals: Vitals | None) -> Text:
    """The newest sample in full: the trainer, the host, then two lines per GPU. Lines are
    short enough for 80 columns and never wrap (the widget's height is their count)."""
    if vitals is None:
        return Text(EMPTY, style="dim")
    out = Text(no_wrap=True, overflow="ellipsis")
    out.append("trainer  ", style="bold")
    out.append(f"CPU {pct_text(vitals.proc_cpu_pct)} of one core")
    out.append(f" · RSS {size_text(vitals.proc_rss_mb)}")
    threads = NA if vitals.proc_threads is None else str(vitals.proc_threads)
    out.append(f" · {threads} threads")
    out.append("\nhost     ", style="bold")
    out.append("CPU ")
    out.append(pct_text(vitals.host_cpu_pct), style=util_style(vitals.host_cpu_pct))
    out.append(" · memory ")
    out.append(
        f"{pair_text(vitals.host_mem_used_mb, vitals.host_mem_total_mb)} "
        f"({pct_text(vitals.host_mem_pct)})",
        style=memory_style(vitals.host_mem_pct),
    )
    if not vitals.gpus:
        out.append("\nGPU      ", style="bold")
        out.append("N/A (a CPU run, or no GPU sensors)", style="dim")
    for gpu in vitals.gpus:
        out.append(f"\nGPU{gpu.index:<6}", style="bold")
        out.append("util ")
        out.append(pct_text(gpu.util_pct), style=util_style(gpu.util_pct))
        out.append(" · memory ")
        out.append(
            f"{pair_text(gpu.mem_used_mb, gpu.mem_total_mb)} ({pct_text(gpu_mem_pct(gpu))})",
            style=memory_style(gpu_mem_pct(gpu)),
        )
        temp = NA if gpu.temp_c is None else f"{gpu.temp_c:.0f}°C"
        power = NA if gpu.power_w is None else f"{gpu.power_w:.0f} W"
        out.append(f" · {temp} · {power}")
        out.append(f"\n         {gpu.name or 'name N/A'}", style="dim")
        out.append(
            f" · torch {size_text(gpu.torch_allocated_mb)} allocated, "
            f"{size_text(gpu.torch_reserved_mb)} reserved, {size_text(gpu.torch_peak_mb)} peak",
            style="dim",
        )
    return out


def legend(series: Sequence[Series], span_s: float) -> Text:
    out = Text()
    for index, item in enumerate(series):
        out.append("  " if index else "")
        out.append("━━ ", style=item.colour)
        out.append(item.label)
    out.append(f"  · last {span_s / 60:.1f} min, 0-100 %", style="dim")
    return out


def row_cells(vitals: Vitals, gpu_indices: Sequence[int]) -> list[Text]:
    cells = [
        Text(clock_text(vitals.t)),
        Text(pct_text(vitals.proc_cpu_pct)),
        Text(size_text(vitals.proc_rss_mb)),
        Text(NA if vitals.proc_threads is None else str(vitals.proc_threads)),
        _styled(pct_text(vitals.host_cpu_pct), util_style(vitals.host_cpu_pct)),
        _styled(pct_text(vitals.host_mem_pct), memory_style(vitals.host_mem_pct)),
    ]
    for index in gpu_indices:
        gpu = _gpu(vitals, index)
        if gpu is None:
            cells.extend(Text(NA, style="dim") for _ in range(5))
            continue
        cells += [
            _styled(pct_text(gpu.util_pct), util_style(gpu.util_pct)),
            _styled(pair_text(gpu.mem_used_mb, gpu.mem_total_mb), memory_style(gpu_mem_pct(gpu))),
            Text(NA if gpu.temp_c is None else f"{gpu.temp_c:.0f}°C"),
            Text(NA if gpu.power_w is None else f"{gpu.power_w:.0f} W"),
            Text(
                f"{size_text(gpu.torch_allocated_mb)} / {size_text(gpu.torch_reserved_mb)}"
                f" / {size_text(gpu.torch_peak_mb)}"
            ),
        ]
    return cells


def columns(gpu_indices: Sequence[int]) -> list[str]:
    out = ["time UTC", "CPU", "RSS", "threads", "host CPU", "host mem"]
    for index in gpu_indices:
        out += [
            f"GPU{index} util",
            f"GPU{index} mem",
            "temp",
            "power",
            "torch alloc / reserved / peak",
        ]
    return out


class VitalsView(Widget):
    """The newest sample, the percentages over time, and the table of samples (newest last)."""

    DEFAULT_CSS = """
    VitalsView { height: 1fr; }
    VitalsView #vitals-summary { height: auto; padding: 0 1; text-wrap: nowrap; text-overflow: ellipsis; }
    VitalsView #vitals-chart { height: 1fr; min-height: 6; border: round $panel-lighten-2; }
    VitalsView #vitals-chart PlotWidget { height: 1fr; }
    VitalsView #vitals-legend { height: 1; color: $text-muted; }
    VitalsView #vitals-table { height: 1fr; min-height: 4; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._history: tuple[Vitals, ...] | None = None
        self._latest: Vitals | None = None
        self._gpus: tuple[int, ...] = ()
        self._rows: tuple[Vitals, ...] = ()

    def compose(self) -> ComposeResult:
        yield Static("", id="vitals-summary")
        with Vertical(id="vitals-chart"):
            plot = PlotWidget(id="vitals-plot", allow_pan_and_zoom=False)
            plot.can_focus = False
            yield plot
            yield Static("", id="vitals-legend")
        yield DataTable(id="vitals-table", cursor_type="row", zebra_stripes=True)

    def on_mount(self) -> None:
        chart = self.query_one("#vitals-chart")
        chart.border_title = "Utilisation and memory (%) by minutes since the first sample"
        plot = self.query_one(PlotWidget)
        plot.margin_top = 0
        plot.margin_bottom = 1  # the tick labels; the axis is named in the title
        plot.set_ylimits(0.0, 100.0)

    def update_view(self, latest: Vitals | None, history: tuple[Vitals, ...]) -> None:
        """Redraw what changed: the summary, the chart and the table's new rows."""
        if latest == self._latest and history == self._history:
            return
        self._latest, self._history = latest, history
        summary = summary_text(latest)
        panel = self.query_one("#vitals-summary", Static)
        panel.styles.height = summary.plain.count("\n") + 1  # its lines never wrap
        panel.update(summary)
        self._draw_chart(history)
        self._fill_table(history)

    def _draw_chart(self, history: tuple[Vitals, ...]) -> None:
        plot = self.query_one(PlotWidget)
        plot.clear()
        timed = [v for v in history if v.t is not None]
        if not timed:
            self.query_one("#vitals-legend", Static).update(Text("no samples yet", style="dim"))
            return
        start = timed[0].t or 0.0
        xs = [((v.t or start) - start) / 60.0 for v in timed]
        span = xs[-1] if xs else 0.0
        plot.set_xlimits(0.0, max(span, 0.5))
        series = percent_series(timed)
        for item in series:
            for run_x, run_y in segments(xs, item.values):
                if len(run_x) == 1:  # one sample: a dot, not a line of no length
                    plot.scatter(
                        run_x, run_y, marker_style=item.colour, hires_mode=HiResMode.BRAILLE
                    )
                else:
                    plot.plot(run_x, run_y, line_style=item.colour, hires_mode=HiResMode.BRAILLE)
        caption = legend(series, span * 60.0)
        caption.no_wrap, caption.overflow = True, "ellipsis"
        self.query_one("#vitals-legend", Static).update(caption)

    def _fill_table(self, history: tuple[Vitals, ...]) -> None:
        """New rows are appended; a sample that lands inside the history rebuilds the table.
        The cursor stays on its row, or follows the newest row when it was on the newest."""
        table = self.query_one(DataTable)
        gpus = tuple(sorted({g.index for v in history for g in v.gpus}))
        cursor = table.cursor_row
        following = not self._rows or cursor >= len(self._rows) - 1
        grows = bool(self._rows) and gpus == self._gpus and history[: len(self._rows)] == self._rows
        if not grows:
            table.clear(columns=True)
            table.add_columns(*columns(gpus))
            self._gpus, self._rows = gpus, ()
        for vitals in history[len(self._rows) :]:
            table.add_row(*row_cells(vitals, gpus))
        self._rows = history
        if history:
            row = len(history) - 1 if following else min(cursor, len(history) - 1)
            table.move_cursor(row=row)
            table.call_after_refresh(table.move_cursor, row=row)  # scrolled once laid out
