"""The trainer's vitals as text: the header's compact line, and the formats and colour thresholds
the vitals view shares with it.

Thresholds are esper-lite's: memory is a warning from 75 % and critical from 90 %; utilisation
(host CPU, GPU) from 80 % and 95 %. A reading that is not there is "N/A", never 0: a missing
sensor must not look idle.
"""

from __future__ import annotations

from rich.cells import cell_len
from rich.text import Text

from training.records import GpuVitals, Vitals
from widgets.glyphs import fit

NA = "N/A"
MEMORY_WARN, MEMORY_CRITICAL = 75.0, 90.0
UTIL_WARN, UTIL_CRITICAL = 80.0, 95.0
OK_STYLE, WARN_STYLE, CRITICAL_STYLE = "green", "bold yellow", "bold white on red"
NARROW = 100


def level_style(pct: float | None, warn: float, critical: float) -> str:
    """The colour of a percentage against its thresholds ("dim" when N/A)."""
    if pct is None:
        return "dim"
    if pct >= critical:
        return CRITICAL_STYLE
    if pct >= warn:
        return WARN_STYLE
    return OK_STYLE


def memory_style(pct: float | None) -> str:
    return level_style(pct, MEMORY_WARN, MEMORY_CRITICAL)


def util_style(pct: float | None) -> str:
    return level_style(pct, UTIL_WARN, UTIL_CRITICAL)


def pct_text(value: float | None) -> str:
    return NA if value is None else f"{value:.0f}%"


def size_text(mb: float | None, short: bool = False) -> str:
    """812 MB, 12.1 GB (812M, 12.1G when short); N/A."""
    if mb is None:
        return NA
    if mb >= 1024:
        return f"{mb / 1024:.1f}{'G' if short else ' GB'}"
    return f"{mb:.0f}{'M' if short else ' MB'}"


def pair_text(used: float | None, total: float | None, short: bool = False) -> str:
    """Used of total in one unit: 12.1/80 GB, 300/512 MB (12.1/80G when short); N/A."""
    if used is None:
        return NA
    if total is None:
        return size_text(used, short)
    if total >= 1024:
        return f"{used / 1024:.1f}/{total / 1024:.0f}{'G' if short else ' GB'}"
    return f"{used:.0f}/{total:.0f}{'M' if short else ' MB'}"


def gpu_mem_pct(gpu: GpuVitals) -> float | None:
    if gpu.mem_used_mb is None or not gpu.mem_total_mb:
        return None
    return 100.0 * gpu.mem_used_mb / gpu.mem_total_mb


def _gpu_item(gpu: GpuVitals, narrow: bool) -> Text:
    label = f"GPU{gpu.index}"
    util = Text(f"{label} " if narrow else f"{label} util ", style="bold")
    util.append(pct_text(gpu.util_pct), style=util_style(gpu.util_pct))
    used = pair_text(gpu.mem_used_mb, gpu.mem_total_mb, narrow)
    memory = Text("" if narrow else "mem ", style="dim")
    memory.append(used, style=memory_style(gpu_mem_pct(gpu)))
    return util + Text(" ") + memory


def _gpu_extra(gpu: GpuVitals) -> Text | None:
    """Temperature, power and torch's allocation: after every GPU's utilisation and memory."""
    extra = []
    if gpu.temp_c is not None:
        extra.append(f"{gpu.temp_c:.0f}°C")
    if gpu.power_w is not None:
        extra.append(f"{gpu.power_w:.0f} W")
    if gpu.torch_allocated_mb is not None:
        extra.append(f"torch {size_text(gpu.torch_allocated_mb)}")
    return Text(f"GPU{gpu.index} " + " · ".join(extra), style="dim") if extra else None


def vitals_line(vitals: Vitals | None, width: int) -> Text:
    """The header's compact line: the trainer's CPU and RSS, the host's CPU and memory, and each
    GPU's utilisation and memory, coloured by the thresholds; cut at an item to ``width``."""
    if vitals is None:
        return Text("vitals: none recorded", style="dim")
    narrow = width < NARROW
    items: list[Text] = []
    cpu = Text("CPU " if narrow else "trainer CPU ", style="bold")
    cpu.append(pct_text(vitals.proc_cpu_pct))
    cpu.append(" RSS " if narrow else " · RSS ", style="dim")
    cpu.append(size_text(vitals.proc_rss_mb, narrow))
    items.append(cpu)
    host = Text("host " if narrow else "host CPU ", style="bold")
    host.append(pct_text(vitals.host_cpu_pct), style=util_style(vitals.host_cpu_pct))
    host.append(" mem " if narrow else " · mem ", style="dim")
    if narrow or vitals.host_mem_used_mb is None:
        host.append(pct_text(vitals.host_mem_pct), style=memory_style(vitals.host_mem_pct))
    else:
        host.append(
            f"{pair_text(vitals.host_mem_used_mb, vitals.host_mem_total_mb)}"
            f" ({pct_text(vitals.host_mem_pct)})",
            style=memory_style(vitals.host_mem_pct),
        )
    items.append(host)
    if not vitals.gpus:
        items.append(Text("GPU N/A", style="dim"))
    items.extend(_gpu_item(gpu, narrow) for gpu in vitals.gpus)
    if not narrow:
        items.extend(e for e in map(_gpu_extra, vitals.gpus) if e is not None)
    separator = " │ " if narrow else "  │  "
    out = Text()
    for index, item in enumerate(items):  # whole items only: a cut reading would mislead
        gap = separator if index else ""
        if cell_len(out.plain) + len(gap) + cell_len(item.plain) > width:
            out.append(" …" if cell_len(out.plain) + 2 <= width else "", style="dim")
            break
        out.append(gap, style="dim")
        out.append_text(item)
    return fit(out, width)
