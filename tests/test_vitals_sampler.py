"""The trainer's vitals sampler: real psutil readings of this process, at most one sample per
interval, and every missing sensor N/A (None), said once, never an exception. Also: a compare
run's epoch records carry them, through the record file."""

from __future__ import annotations

import logging
from pathlib import Path

import psutil
import pynvml
import pytest

from esper_tui.cli import iql
from esper_tui.replay import read_records
from training.records import EpochRecord, Vitals
from training.runs.vitals import EpochVitals, to_record
from training.util import vitals as vitals_module
from training.util.vitals import VitalsSampler, cuda_indices, process_sampler


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_cpu_run_reads_the_process_and_the_host_and_no_gpu():
    sample = VitalsSampler(["cpu"]).sample()
    assert sample.proc_rss_mb is not None and sample.proc_rss_mb > 10
    assert sample.proc_threads is not None and sample.proc_threads >= 1
    assert sample.proc_cpu_pct is not None and sample.proc_cpu_pct >= 0
    assert sample.host_mem_total_mb == pytest.approx(psutil.virtual_memory().total / 2**20)
    assert 0 <= (sample.host_cpu_pct or 0) <= 100 and 0 < (sample.host_mem_pct or 0) <= 100
    assert sample.gpus == ()
    assert sample.t is not None


def test_at_most_one_sample_per_interval():
    clock = Clock()
    sampler = VitalsSampler(["cpu"], interval=2.0, clock=clock)
    first = sampler.latest()
    clock.now += 1.9
    assert sampler.latest() is first
    clock.now += 0.2
    assert sampler.latest() is not first


def test_cuda_device_strings_name_their_indices():
    assert cuda_indices(["cpu"]) == ()
    assert cuda_indices(["cuda:1", "cuda:1", "cuda:0"]) == (1, 0)


def test_without_nvml_every_gpu_sensor_reads_na_and_is_said_once(monkeypatch, caplog):
    def no_library() -> None:
        raise pynvml.NVMLError_LibraryNotFound()

    monkeypatch.setattr(pynvml, "nvmlInit", no_library)
    sampler = VitalsSampler(["cuda:0"])
    with caplog.at_level(logging.WARNING, logger=vitals_module.__name__):
        samples = [sampler.sample() for _ in range(3)]
    gpu = samples[-1].gpus[0]
    assert gpu.index == 0
    assert (gpu.util_pct, gpu.mem_used_mb, gpu.mem_total_mb, gpu.temp_c, gpu.power_w) == (None,) * 5
    nvml_lines = [r for r in caplog.records if "NVML is not available" in r.getMessage()]
    assert len(nvml_lines) == 1
    assert samples[-1].proc_rss_mb is not None  # the rest is still read


def test_a_sensor_that_fails_reads_na_and_never_raises(monkeypatch, caplog):
    def broken():
        raise OSError("/proc/meminfo is gone")

    sampler = VitalsSampler(["cpu"])
    monkeypatch.setattr(psutil, "virtual_memory", broken)
    with caplog.at_level(logging.WARNING, logger=vitals_module.__name__):
        sample = sampler.sample()
        sampler.sample()
    assert sample.host_mem_total_mb is None and sample.host_mem_pct is None
    assert sample.proc_rss_mb is not None
    assert sum("host vitals read N/A" in r.getMessage() for r in caplog.records) == 1


def test_one_sampler_per_process_and_devices():
    assert process_sampler(["cpu"]) is process_sampler(["cpu"])
    assert process_sampler(["cpu"]) is not process_sampler(["cuda:0"])


def test_readings_past_the_records_bounds_are_clamped_so_the_line_stays_readable():
    sample = VitalsSampler(["cpu"]).sample()
    from dataclasses import replace

    record = to_record(replace(sample, host_cpu_pct=100.7, host_mem_pct=-0.1))
    assert record.host_cpu_pct == 100.0 and record.host_mem_pct == 0.0


def test_a_sampler_that_raises_leaves_the_epoch_without_vitals():
    class Broken(VitalsSampler):
        def latest(self):
            raise RuntimeError("boom")

    assert EpochVitals(["cpu"], Broken(["cpu"])).latest() is None


def test_a_compare_run_records_vitals_in_every_epoch(tmp_path):
    record = tmp_path / "r.jsonl"
    flags = "--preset tiny --episodes 1 --epochs 2 --device cpu".split()
    model = str(Path(__file__).parent / "fixtures" / "tiny_iql.pt")
    assert iql.main(["compare", "--model", model, *flags, "--record", str(record)]) == 0
    records, corrupt = read_records(record)
    epochs = [r for r in records if isinstance(r, EpochRecord)]
    assert corrupt == 0 and len(epochs) == 2 * 2
    for epoch in epochs:
        assert isinstance(epoch.vitals, Vitals)
        assert epoch.vitals.proc_rss_mb and epoch.vitals.proc_rss_mb > 10
        assert epoch.vitals.gpus == ()  # a CPU run: GPU N/A


def test_a_missing_gpu_sensor_is_said_once_in_the_record(monkeypatch):
    """A run on a GPU whose NVML is missing: every epoch's GPU readings are N/A, and one
    ``vitals_unavailable`` event says why (once per process, not once per epoch)."""
    from training.env.environment import EnvConfig
    from training.records import RunEvent
    from training.runs import comparison
    from training.runs.config import RunConfig
    from training.runs.driver import run_in_process
    from training.runs.lanes import Lane

    def no_library() -> None:
        raise pynvml.NVMLError_LibraryNotFound()

    monkeypatch.setattr(pynvml, "nvmlInit", no_library)
    sampler = VitalsSampler(["cuda:0"], interval=0.0)
    monkeypatch.setattr(comparison, "EpochVitals", lambda devices: EpochVitals(devices, sampler))
    records: list = []
    config = RunConfig(env=EnvConfig(preset="tiny", max_epochs=2, device="cpu"), episodes=2)
    run_in_process(config, [Lane.heuristic()], records.append)
    events = [r for r in records if isinstance(r, RunEvent) and r.event == "vitals_unavailable"]
    assert len(events) == 1 and "NVML is not available" in events[0].message
    epochs = [r for r in records if isinstance(r, EpochRecord)]
    assert len(epochs) == 4
    assert all(e.vitals and e.vitals.gpus[0].util_pct is None for e in epochs)
