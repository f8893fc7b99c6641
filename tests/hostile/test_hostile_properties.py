"""Property tests: any JSON value in any field of a real record never raises past the store,
and any bytes given as a model file either load or give ``ModelLoadError``."""

import json
import tempfile
import warnings
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esper_tui.replay import RecordFeeder
from esper_tui.store import TelemetryStore
from training.policies.checkpoint import load_checkpoint
from training.policies.checkpoint_checks import ModelLoadError
from training.records import RecordError, RunEvent, record_from_line, record_to_line

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
LINES = (FIXTURES / "run.jsonl").read_text().splitlines() + (
    FIXTURES / "crashed.jsonl"
).read_text().splitlines()
COMMAND = RunEvent(
    "fixture0001",
    "command_applied",
    "cull: done",
    lane="heuristic",
    episode=1,
    epoch=3,
    slot=0,
    data={"command_id": 7, "type": "cull"},
)
SAMPLES = {
    json.loads(line)["kind"] + ":" + json.loads(line).get("event", ""): json.loads(line)
    for line in [*LINES, record_to_line(COMMAND)]
}
MODEL = (FIXTURES / "tiny_iql.pt").read_bytes()
SETTINGS = settings(
    max_examples=150, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)


def field_paths(value, prefix=()):
    """Every place in a record where a value sits: object keys, and the first item of lists."""
    yield prefix
    if isinstance(value, dict):
        for key, child in value.items():
            yield from field_paths(child, (*prefix, key))
    elif isinstance(value, list) and value:
        yield from field_paths(value[0], (*prefix, 0))


PATHS = sorted(
    {(kind, path) for kind, sample in SAMPLES.items() for path in field_paths(sample) if path},
    key=repr,
)
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


def replaced(sample: dict, path: tuple, value) -> dict:
    data = json.loads(json.dumps(sample))
    target = data
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return data


def through_the_store(line: str) -> None:
    """What the feeder does with one line, minus the feeder's own safety net around the store."""
    store = TelemetryStore(source="replay")
    store.add(record_from_line(LINES[0]))  # a run to add to
    try:
        record = record_from_line(line)
    except RecordError:
        return
    store.add(record)
    store.view()


def test_the_paths_cover_every_record_kind_and_nested_record():
    kinds = {kind.split(":")[0] for kind, _ in PATHS}
    assert kinds == {"run", "epoch", "event"}
    assert any(path[:3] == ("seeds", 0, "telemetry") for _, path in PATHS)
    assert any(path[:2] == ("decision", "shadow") or path[:1] == ("decision",) for _, path in PATHS)


@SETTINGS
@given(st.sampled_from(PATHS), JSON)
def test_any_json_value_in_any_field_never_raises_past_the_store(where, value):
    kind, path = where
    through_the_store(json.dumps(replaced(SAMPLES[kind], path, value)))


@SETTINGS
@given(
    st.sampled_from(PATHS),
    st.sampled_from([10**400, -(10**30), 1e308 * 10, float("nan"), "x" * 5000, [[[[[]]]]], True]),
)
def test_extreme_values_in_any_field_never_raise_past_the_store(where, value):
    kind, path = where
    through_the_store(json.dumps(replaced(SAMPLES[kind], path, value)))


@settings(max_examples=100, deadline=None, database=None)
@given(st.binary(max_size=300))
def test_any_bytes_never_kill_the_feeder(data):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "r.jsonl"
        path.write_bytes(LINES[0].encode() + b"\n" + data + b"\n" + LINES[1].encode() + b"\n")
        store = TelemetryStore(source="replay")
        RecordFeeder(path, store, speed=0).run()
        assert store.view().crash is None and store.view().run is not None


def _load(data: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "m.pt"
        path.write_bytes(data)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                load_checkpoint(path)
            except ModelLoadError:
                pass


@settings(max_examples=60, deadline=None, database=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_as_a_model_file_load_or_give_model_load_error(data):
    _load(data)


@settings(max_examples=60, deadline=None, database=None)
@given(
    st.lists(
        st.tuples(st.integers(0, len(MODEL) - 1), st.integers(1, 255)), min_size=1, max_size=4
    ),
    st.integers(0, len(MODEL)),
)
def test_a_damaged_real_checkpoint_loads_or_gives_model_load_error(flips, cut):
    data = bytearray(MODEL)
    for offset, mask in flips:
        data[offset] ^= mask
    _load(bytes(data[: max(cut, 1)]))
