"""The trainer's vitals as the ``epoch`` record carries them: the process's sampler
(``training.util.vitals``) read once per epoch, never per batch, and its plain sample turned into
the record's ``Vitals``, clamped to the bounds the record accepts (a reader would count a line
with a percentage of 100.7 as corrupt)."""

from __future__ import annotations

from collections.abc import Sequence

from training.records import GpuVitals, Vitals
from training.util.vitals import GpuSample, VitalsSample, VitalsSampler, process_sampler

PERCENT_MAX = 100.0
PROCESS_PERCENT_MAX = 100.0 * 4096


def _clamp(value: float | None, top: float) -> float | None:
    return None if value is None else min(max(value, 0.0), top)


def _gpu(sample: GpuSample) -> GpuVitals:
    return GpuVitals(
        index=sample.index,
        name=None if sample.name is None else sample.name[:256],
        util_pct=_clamp(sample.util_pct, PERCENT_MAX),
        mem_used_mb=sample.mem_used_mb,
        mem_total_mb=sample.mem_total_mb,
        temp_c=sample.temp_c,
        power_w=sample.power_w,
        torch_allocated_mb=sample.torch_allocated_mb,
        torch_reserved_mb=sample.torch_reserved_mb,
        torch_peak_mb=sample.torch_peak_mb,
    )


def to_record(sample: VitalsSample) -> Vitals:
    """The record's ``Vitals`` for a sample (None stays None: N/A)."""
    return Vitals(
        t=sample.t,
        proc_cpu_pct=_clamp(sample.proc_cpu_pct, PROCESS_PERCENT_MAX),
        proc_rss_mb=sample.proc_rss_mb,
        proc_threads=sample.proc_threads,
        host_cpu_pct=_clamp(sample.host_cpu_pct, PERCENT_MAX),
        host_mem_used_mb=sample.host_mem_used_mb,
        host_mem_total_mb=sample.host_mem_total_mb,
        host_mem_pct=_clamp(sample.host_mem_pct, PERCENT_MAX),
        gpus=tuple(_gpu(g) for g in sample.gpus[:64]),
    )


class EpochVitals:
    """What one episode's epochs carry: the latest sample of this process's sampler, converted
    once per sample (epochs shorter than the sampling interval share it)."""

    def __init__(self, devices: Sequence[str], sampler: VitalsSampler | None = None) -> None:
        self._sampler = sampler if sampler is not None else process_sampler(devices)
        self._sample: VitalsSample | None = None
        self._vitals: Vitals | None = None

    def unreported(self) -> list[str]:
        """Sensors found missing since the last call, once per process (the record says so in a
        ``vitals_unavailable`` event; the screen shows them as N/A)."""
        try:
            return self._sampler.unreported()
        except Exception:  # noqa: BLE001
            return []

    def latest(self) -> Vitals | None:
        """Never raises: a sampler failure is an epoch without vitals, never a lost epoch."""
        try:
            sample = self._sampler.latest()
            if sample is not self._sample:
                self._sample, self._vitals = sample, to_record(sample)
        except Exception:  # noqa: BLE001 - vitals must never stop training
            return self._vitals
        return self._vitals
