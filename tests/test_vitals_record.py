"""Vitals travel in each epoch record: written and read back whole, N/A kept as None, and a
reading no sensor can give makes the line corrupt like any other out-of-range field."""

import json
from pathlib import Path

import pytest

from training.records import (
    EpochRecord,
    GpuVitals,
    RecordError,
    Vitals,
    record_from_line,
    record_to_line,
)

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "run.jsonl"
EPOCH_LINE = next(x for x in FIXTURE.read_text().splitlines() if '"kind":"epoch"' in x)
VITALS = Vitals(
    t=1_765_000_000.5,
    proc_cpu_pct=180.0,  # two busy threads
    proc_rss_mb=812.5,
    proc_threads=9,
    host_cpu_pct=97.0,
    host_mem_used_mb=6000.0,
    host_mem_total_mb=8000.0,
    host_mem_pct=75.0,
    gpus=(GpuVitals(index=0, name="NVIDIA H100", util_pct=88.0, temp_c=61.0, power_w=402.5),),
)


def _with_vitals(vitals) -> str:
    data = json.loads(EPOCH_LINE)
    data["vitals"] = vitals
    return json.dumps(data)


def test_an_epoch_record_carries_its_vitals_through_a_line():
    record = record_from_line(_with_vitals(json.loads(json.dumps(_builtins(VITALS)))))
    assert isinstance(record, EpochRecord) and record.vitals == VITALS
    assert record_from_line(record_to_line(record)) == record
    assert record.vitals.gpus[0].mem_used_mb is None  # N/A, not zero


def test_a_record_without_vitals_reads_as_none():
    record = record_from_line(EPOCH_LINE)
    assert isinstance(record, EpochRecord) and record.vitals is None


@pytest.mark.parametrize(
    "change",
    [
        {"host_mem_pct": -1.0},
        {"host_cpu_pct": 250.0},
        {"proc_rss_mb": 1e999},
        {"proc_threads": 2.5},
        {"gpus": [{"index": 0, "util_pct": 101.0}]},
        {"gpus": [{"name": "no index"}]},
        {"t": "yesterday"},
    ],
)
def test_a_reading_no_sensor_can_give_makes_the_line_corrupt(change):
    with pytest.raises(RecordError):
        record_from_line(_with_vitals({**_builtins(VITALS), **change}))


def _builtins(vitals: Vitals) -> dict:
    import msgspec

    return msgspec.to_builtins(vitals)
