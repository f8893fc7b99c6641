"""Every record kind, written by the one encoder and read back by the decoder, is equal field for
field. The records are drawn from the record types themselves (``msgspec.inspect``), within the
bounds the decoder enforces, so a field added later is covered without touching this test."""

import json
import math
from datetime import UTC, datetime
from pathlib import Path

import msgspec
import msgspec.inspect as mi
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from training.records import (
    EpochRecord,
    PairedResult,
    RunEvent,
    RunInfo,
    record_from_line,
    record_to_line,
)
from training.records.fields import EventData

FIXTURES = Path(__file__).resolve().parent / "fixtures"
SETTINGS = settings(
    max_examples=60, deadline=None, database=None, suppress_health_check=list(HealthCheck)
)
EVENT_DATA_KEYS = {field.name for field in mi.type_info(EventData).fields}
JSON_LEAF = (
    st.none()
    | st.booleans()
    | st.integers(-(2**53), 2**53)
    | st.floats(allow_nan=False)
    | st.text(max_size=8)
)
JSON = st.recursive(
    JSON_LEAF,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=6,
)


def _bounded(low, high, gt, lt):
    return (low if low is not None else gt), (high if high is not None else lt)


def strategy(t: mi.Type, depth: int = 0) -> st.SearchStrategy:
    """Values of msgspec type ``t`` that its decoder accepts (never NaN: NaN != NaN)."""
    if isinstance(t, mi.StructType):
        if depth > 3:
            return st.nothing()
        fields = {f.name: strategy(f.type, depth + 1) for f in t.fields}
        if t.cls is RunEvent:
            fields["data"] = event_data()
        return st.builds(t.cls, **fields)
    if isinstance(t, mi.UnionType):
        return st.one_of([strategy(option, depth) for option in t.types])
    if isinstance(t, mi.LiteralType):
        return st.sampled_from(t.values)
    if isinstance(t, mi.NoneType):
        return st.none()
    if isinstance(t, mi.BoolType):
        return st.booleans()
    if isinstance(t, mi.IntType):
        low, high = _bounded(t.ge, t.le, t.gt, t.lt)
        return st.integers(
            low if low is not None else -(2**63), high if high is not None else 2**63 - 1
        )
    if isinstance(t, mi.FloatType):
        low, high = _bounded(t.ge, t.le, t.gt, t.lt)
        bounded = low is not None or high is not None
        return st.floats(low, high, allow_nan=False, allow_infinity=not bounded)
    if isinstance(t, mi.StrType):
        return st.text(max_size=min(t.max_length or 30, 30))
    if isinstance(t, mi.DateTimeType):
        return st.datetimes(timezones=st.none() | st.just(UTC))
    if isinstance(t, mi.VarTupleType):
        if isinstance(t.item_type, mi.StructType) and depth > 1:
            return st.just(())  # shadow decisions of shadow decisions: none
        low = t.min_length or 0
        high = max(low, min(t.max_length if t.max_length is not None else 3, 3))
        return st.lists(strategy(t.item_type, depth), min_size=low, max_size=high).map(tuple)
    if isinstance(t, mi.TupleType):
        return st.tuples(*(strategy(item, depth) for item in t.item_types))
    if isinstance(t, mi.DictType):
        return st.dictionaries(st.text(max_size=5), JSON, max_size=3)
    raise AssertionError(f"no strategy for {t!r}: teach this test the new field type")


def event_data() -> st.SearchStrategy:
    """An event's free-form data: anything, plus the parts the store reads, well formed."""
    free = st.dictionaries(
        st.text(max_size=8).filter(lambda k: k not in EVENT_DATA_KEYS), JSON, max_size=3
    )
    paired = st.lists(strategy(mi.type_info(PairedResult)), max_size=2).map(
        lambda items: {"paired": [msgspec.to_builtins(p) for p in items]}
    )
    return st.tuples(free, st.none() | paired).map(lambda parts: {**parts[0], **(parts[1] or {})})


def roundtrip(record):
    line = record_to_line(record)
    assert "\n" not in line
    return record_from_line(line), record_from_line(line.encode())


@SETTINGS
@given(strategy(mi.type_info(RunInfo)))
def test_a_run_record_reads_back_equal(record):
    assert roundtrip(record) == (record, record)


@SETTINGS
@given(strategy(mi.type_info(EpochRecord)))
def test_an_epoch_record_reads_back_equal(record):
    assert roundtrip(record) == (record, record)


@SETTINGS
@given(strategy(mi.type_info(RunEvent)))
def test_an_event_record_reads_back_equal(record):
    assert roundtrip(record) == (record, record)


def test_a_diverged_loss_is_written_as_nan_and_reads_back_as_nan():
    line = next(
        x for x in (FIXTURES / "run.jsonl").read_text().splitlines() if '"kind":"epoch"' in x
    )
    record = msgspec.structs.replace(record_from_line(line), train_loss=math.nan, val_loss=math.inf)
    written = record_to_line(record)
    assert '"train_loss":NaN' in written and '"val_loss":Infinity' in written
    back = record_from_line(written)
    assert math.isnan(back.train_loss) and back.val_loss == math.inf


def test_records_written_by_earlier_versions_read_and_write_back_the_same():
    for name in ("run.jsonl", "crashed.jsonl"):
        for line in (FIXTURES / name).read_text().splitlines():
            record = record_from_line(line)
            assert record.v == 1
            again = json.loads(record_to_line(record))
            old = json.loads(line)
            for key, value in old.items():  # every old field, same value (dates in UTC either way)
                if key != "seeds":
                    assert again[key] == value, (name, key)
            assert record_from_line(record_to_line(record)) == record


def test_a_tz_aware_capture_time_survives(tmp_path):
    stamp = datetime(2026, 12, 7, 12, 0, 0, 123456, tzinfo=UTC)
    line = next(
        x for x in (FIXTURES / "run.jsonl").read_text().splitlines() if '"kind":"epoch"' in x
    )
    record = record_from_line(line)
    seeds = tuple(
        msgspec.structs.replace(
            s, telemetry=msgspec.structs.replace(s.telemetry, captured_at=stamp)
        )
        for s in record.seeds
    )
    back = record_from_line(record_to_line(msgspec.structs.replace(record, seeds=seeds)))
    assert all(s.telemetry.captured_at == stamp for s in back.seeds)


def test_numpy_and_torch_scalars_left_in_a_record_are_written_as_numbers():
    import numpy as np
    import torch

    line = next(
        x
        for x in (FIXTURES / "run.jsonl").read_text().splitlines()
        if "tiny_iql" in x and '"kind":"epoch"' in x
    )
    record = record_from_line(line)
    decision = msgspec.structs.replace(
        record.decision,
        features=tuple(np.array([1.5, 2.5], dtype=np.float32)),
        z_scores=(np.float64(0.25), torch.tensor(3.0)),
    )
    back = record_from_line(
        record_to_line(
            msgspec.structs.replace(record, decision=decision, train_loss=np.float64(2.0))
        )
    )
    assert back.decision.features == (1.5, 2.5) and back.decision.z_scores == (0.25, 3.0)
    assert back.train_loss == 2.0 and type(back.train_loss) is float
