"""Trainer vitals: what the training process and its machine are doing, sampled at most every
``INTERVAL_S`` seconds, off the per-batch path.

The process (CPU %, RSS, threads) and the host (CPU %, memory) come from psutil; each CUDA device
the process trains on from NVML (``nvidia-ml-py``: utilisation, memory used and total,
temperature, power), initialised once per process with its handles cached, as nvitop does, and
from torch's allocator counters (allocated, reserved, peak), which read host-side bookkeeping and
never synchronise the device.

A sensor that is missing (no NVML library, no driver, a device that does not report power, a CPU
run) reads ``None`` (shown as N/A), is logged once, and never raises: a sample can never stop or
slow training. The result is plain data; ``training.runs`` turns it into the record's ``Vitals``.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import psutil

log = logging.getLogger(__name__)

INTERVAL_S = 2.0  # at most one sample this often: epochs of a tiny preset are far shorter
MB = 2**20


@dataclass(frozen=True)
class GpuSample:
    """One CUDA device; ``None`` = that sensor is not available (N/A)."""

    index: int
    name: str | None = None
    util_pct: float | None = None
    mem_used_mb: float | None = None
    mem_total_mb: float | None = None
    temp_c: float | None = None
    power_w: float | None = None
    torch_allocated_mb: float | None = None
    torch_reserved_mb: float | None = None
    torch_peak_mb: float | None = None


@dataclass(frozen=True)
class VitalsSample:
    """The process and its host at wall-clock time ``t`` (seconds since the Unix epoch)."""

    t: float | None = None
    proc_cpu_pct: float | None = None  # of one core: 250 = two and a half cores busy
    proc_rss_mb: float | None = None
    proc_threads: int | None = None
    host_cpu_pct: float | None = None  # of all cores
    host_mem_used_mb: float | None = None
    host_mem_total_mb: float | None = None
    host_mem_pct: float | None = None
    gpus: tuple[GpuSample, ...] = ()


def cuda_indices(devices: Sequence[str]) -> tuple[int, ...]:
    """The CUDA device indices among torch device strings ("cuda" is the current device)."""
    out: list[int] = []
    for device in devices:
        text = str(device).strip().lower()
        if not text.startswith("cuda"):
            continue
        _, _, number = text.partition(":")
        if number.isdigit():
            index = int(number)
        else:
            try:
                import torch

                index = torch.cuda.current_device() if torch.cuda.is_initialized() else 0
            except Exception:  # noqa: BLE001 - a sensor never raises
                index = 0
        if index not in out:
            out.append(index)
    return tuple(out)


class _Nvml:
    """NVML, initialised once on first use, with one cached handle per device; every failure
    is a ``None`` said once."""

    def __init__(self, said: Callable[[str, str], None]) -> None:
        self._say = said
        self._module: Any = None
        self._ready: bool | None = None  # None: not tried yet
        self._handles: dict[int, Any] = {}
        self._names: dict[int, str | None] = {}

    def _start(self) -> bool:
        if self._ready is None:
            try:
                import pynvml

                pynvml.nvmlInit()
                self._module = pynvml
                self._ready = True
            except Exception as error:  # noqa: BLE001 - no library, no driver, no permission
                self._say("nvml", f"GPU sensors read N/A: NVML is not available ({error})")
                self._ready = False
        return self._ready

    def handle(self, index: int) -> Any:
        if not self._start():
            return None
        if index not in self._handles:
            self._handles[index] = self._find(index)
        return self._handles[index]

    def _find(self, index: int) -> Any:
        """The NVML handle of torch's device ``index``: by UUID, so that CUDA_VISIBLE_DEVICES
        (which renumbers torch's devices, not NVML's) cannot point at another card."""
        nvml = self._module
        try:
            import torch

            uuid = str(torch.cuda.get_device_properties(index).uuid)
            return nvml.nvmlDeviceGetHandleByUUID(
                uuid if uuid.startswith(("GPU-", "MIG-")) else f"GPU-{uuid}"
            )
        except Exception:  # noqa: BLE001 - older torch or drivers: NVML's own numbering
            pass
        try:
            return nvml.nvmlDeviceGetHandleByIndex(index)
        except Exception as error:  # noqa: BLE001
            self._say(f"nvml-{index}", f"GPU {index} reads N/A: NVML has no such device ({error})")
            return None

    def read(self, index: int, sensor: str, call: Callable[[Any, Any], Any]) -> Any:
        handle = self.handle(index)
        if handle is None:
            return None
        try:
            return call(self._module, handle)
        except Exception as error:  # noqa: BLE001 - not supported on this card, or lost
            self._say(f"{sensor}-{index}", f"GPU {index} {sensor} reads N/A ({error})")
            return None

    def name(self, index: int) -> str | None:
        if index not in self._names:
            name = self.read(index, "name", lambda nvml, h: nvml.nvmlDeviceGetName(h))
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            self._names[index] = None if name is None else str(name)
        return self._names[index]

    def close(self) -> None:
        if self._ready:
            try:
                self._module.nvmlShutdown()
            except Exception:  # noqa: BLE001
                pass
        self._ready, self._handles = None, {}


def _util(nvml: Any, handle: Any) -> float:
    return float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu)


def _memory(nvml: Any, handle: Any) -> tuple[float, float]:
    info = nvml.nvmlDeviceGetMemoryInfo(handle)
    return info.used / MB, info.total / MB


def _temperature(nvml: Any, handle: Any) -> float:
    return float(nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU))


def _power(nvml: Any, handle: Any) -> float:
    return nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0  # milliwatts


class VitalsSampler:
    """Samples the process, the host and the CUDA devices in ``devices`` (torch device strings;
    none on a CPU run). ``latest()`` returns the last sample, taking a new one only when
    ``interval`` seconds have passed: call it as often as you like, e.g. once per epoch."""

    def __init__(
        self,
        devices: Sequence[str] = (),
        interval: float = INTERVAL_S,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
    ) -> None:
        self.interval = interval
        self._clock, self._wall = clock, wall
        self._said: set[str] = set()
        self._messages: list[str] = []  # what was said, in order; ``unreported`` hands them on
        self._reported = 0
        self._gpus = cuda_indices(devices)
        self._nvml = _Nvml(self._say)
        self._last: VitalsSample | None = None
        self._last_at = 0.0
        self._pid = os.getpid()
        self._process: psutil.Process | None = None
        try:
            self._process = psutil.Process()
            self._process.cpu_percent(None)  # the first reading of a fresh counter is 0
            psutil.cpu_percent(None)
        except Exception as error:  # noqa: BLE001 - /proc unreadable: process sensors N/A
            self._say("process", f"process vitals read N/A ({error})")

    @property
    def devices(self) -> tuple[int, ...]:
        return self._gpus

    def _say(self, key: str, message: str) -> None:
        if key not in self._said:
            self._said.add(key)
            self._messages.append(message)
            log.warning("%s", message)

    def unreported(self) -> list[str]:
        """What this sampler has said about missing sensors since the last call (each once)."""
        fresh = self._messages[self._reported :]
        self._reported = len(self._messages)
        return fresh

    def latest(self) -> VitalsSample:
        """The newest sample, at most ``interval`` seconds old."""
        now = self._clock()
        if self._last is None or now - self._last_at >= self.interval:
            self._last, self._last_at = self.sample(), now
        return self._last

    def sample(self) -> VitalsSample:
        """A sample now; never raises."""
        proc_cpu = rss = threads = None
        if self._process is not None:
            try:
                with self._process.oneshot():
                    proc_cpu = self._process.cpu_percent(None)
                    rss = self._process.memory_info().rss / MB
                    threads = self._process.num_threads()
            except Exception as error:  # noqa: BLE001
                self._say("process", f"process vitals read N/A ({error})")
        host_cpu = used = total = pct = None
        try:
            host_cpu = psutil.cpu_percent(None)
            memory = psutil.virtual_memory()
            used, total, pct = (
                (memory.total - memory.available) / MB,
                memory.total / MB,
                memory.percent,
            )
        except Exception as error:  # noqa: BLE001
            self._say("host", f"host vitals read N/A ({error})")
        return VitalsSample(
            t=self._wall(),
            proc_cpu_pct=proc_cpu,
            proc_rss_mb=rss,
            proc_threads=threads,
            host_cpu_pct=host_cpu,
            host_mem_used_mb=used,
            host_mem_total_mb=total,
            host_mem_pct=pct,
            gpus=tuple(self._gpu(index) for index in self._gpus),
        )

    def _gpu(self, index: int) -> GpuSample:
        nvml = self._nvml
        memory = nvml.read(index, "memory", _memory)
        allocated = reserved = peak = None
        try:
            import torch

            if torch.cuda.is_initialized():  # never initialise CUDA just to read its counters
                allocated = torch.cuda.memory_allocated(index) / MB
                reserved = torch.cuda.memory_reserved(index) / MB
                peak = torch.cuda.max_memory_allocated(index) / MB
        except Exception as error:  # noqa: BLE001
            self._say(f"torch-{index}", f"GPU {index} torch memory reads N/A ({error})")
        return GpuSample(
            index=index,
            name=nvml.name(index),
            util_pct=nvml.read(index, "utilisation", _util),
            mem_used_mb=None if memory is None else memory[0],
            mem_total_mb=None if memory is None else memory[1],
            temp_c=nvml.read(index, "temperature", _temperature),
            power_w=nvml.read(index, "power", _power),
            torch_allocated_mb=allocated,
            torch_reserved_mb=reserved,
            torch_peak_mb=peak,
        )

    def close(self) -> None:
        self._nvml.close()


_SAMPLERS: dict[tuple[int, tuple[int, ...]], VitalsSampler] = {}


def process_sampler(devices: Sequence[str] = ()) -> VitalsSampler:
    """The sampler of this process for these devices: one per process (NVML is initialised
    once and its handles kept), made again in a forked or spawned child, whose pid differs."""
    key = (os.getpid(), cuda_indices(devices))
    sampler = _SAMPLERS.get(key)
    if sampler is None:
        for old in [k for k in _SAMPLERS if k[0] != key[0]]:
            del _SAMPLERS[old]  # a parent's, inherited by fork: its psutil handle names the parent
        sampler = _SAMPLERS[key] = VitalsSampler(devices)
    return sampler
