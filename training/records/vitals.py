"""What the training process, its host and its GPUs were doing: sampled at most every few
seconds in the trainer and carried by each ``epoch`` record (``EpochRecord.vitals``).

Every field is optional: None means the sensor is not there (no GPU, no NVML, a counter that
failed) and is shown as "N/A", never as zero. A value outside what a sensor can report (a
negative size, a percentage far above 100, anything not finite) makes the line count as corrupt,
like any other out-of-range field of a record.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

_FINITE = 1e15  # above any real reading; also refuses inf (NaN fails every bound)

Percent = Annotated[float, msgspec.Meta(ge=0.0, le=100.5)]  # one device or the whole host
# psutil reports a process's CPU as the sum over its threads: up to 100 × the cores.
ProcessPercent = Annotated[float, msgspec.Meta(ge=0.0, le=100.5 * 4096)]
Megabytes = Annotated[float, msgspec.Meta(ge=0.0, le=_FINITE)]
Watts = Annotated[float, msgspec.Meta(ge=0.0, le=100_000.0)]
Celsius = Annotated[float, msgspec.Meta(ge=-273.15, le=1000.0)]
Seconds = Annotated[float, msgspec.Meta(ge=0.0, le=_FINITE)]  # a unix time
Count = Annotated[int, msgspec.Meta(ge=0, le=10**7)]
GpuIndex = Annotated[int, msgspec.Meta(ge=0, le=1023)]
Name = Annotated[str, msgspec.Meta(max_length=256)]


class GpuVitals(msgspec.Struct, frozen=True, kw_only=True):
    """One GPU: NVML's view of the device and torch's allocator counters for this process."""

    index: GpuIndex
    name: Name | None = None
    util_pct: Percent | None = None
    mem_used_mb: Megabytes | None = None
    mem_total_mb: Megabytes | None = None
    temp_c: Celsius | None = None
    power_w: Watts | None = None
    torch_allocated_mb: Megabytes | None = None
    torch_reserved_mb: Megabytes | None = None
    torch_peak_mb: Megabytes | None = None


class Vitals(msgspec.Struct, frozen=True, kw_only=True):
    """The process and its host at time ``t``, and every GPU the process can see."""

    t: Seconds | None = None
    proc_cpu_pct: ProcessPercent | None = None
    proc_rss_mb: Megabytes | None = None
    proc_threads: Count | None = None
    host_cpu_pct: Percent | None = None
    host_mem_used_mb: Megabytes | None = None
    host_mem_total_mb: Megabytes | None = None
    host_mem_pct: Percent | None = None
    gpus: Annotated[tuple[GpuVitals, ...], msgspec.Meta(max_length=64)] = ()
