"""Terminal escape injection, in what the app draws: no text from a record, a model file or a
path reaches a panel as anything but visible characters. Control characters, escape sequences
(CSI, OSC, DCS, C1) and lone surrogates are shown escaped in every panel, dialog, toast and the
exit line, live or replayed, while the record keeps them as written. What reaches the terminal
itself, and the command lines' messages, are test_hostile_terminal.py."""

import dataclasses
import json
import shutil
from collections.abc import Mapping

import msgspec
from hypothesis import given, settings
from hypothesis import strategies as st

from esper_tui.app import EsperApp
from esper_tui.chart_feed import chart_data
from esper_tui.operator import applied_text
from esper_tui.replay import read_records, replay_all
from esper_tui.screens.detail import model_text
from esper_tui.screens.dialogs import finished_text
from esper_tui.store import TelemetryStore
from tests.hostile.text_support import ANY_TEXT, ATTACK, FIXTURE, ROOT, SETTINGS, unsafe
from training.records import RunEvent, record_from_line
from training.records.text import printable
from widgets.decision_rows import decision_cells
from widgets.decision_why import why_text
from widgets.gradient_panel import gradient_text
from widgets.run_header import header_text
from widgets.run_source import SourceState
from widgets.saturation_panel import saturation_text
from widgets.scoreboard import scoreboard_text
from widgets.seed_card import card_text

LINES = FIXTURE.read_text().splitlines()
# Structural fields: they decide which record or event a line is, so they stay as they are.
STRUCTURAL = {
    "kind",
    "event",
    "policy_kind",
    "mode",
    "type",
    "created_at",
    "captured_at",
    "model_format",
    "telemetry_type",
    "executing_lane",
}


def strings_in(value, path=""):
    """Every string reachable from a view model: (where, text)."""
    if isinstance(value, str):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            yield from strings_in(getattr(value, f.name), f"{path}.{f.name}")
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield from strings_in(key, f"{path}[key]")
            yield from strings_in(item, f"{path}[{key!r}]")
    elif isinstance(value, tuple | list):
        for i, item in enumerate(value):
            yield from strings_in(item, f"{path}[{i}]")


def poisoned(value, hostile: str, key: str = ""):
    """The fixture's JSON with ``hostile`` appended to every free string and every object key
    that names a lane (final accuracies), so lanes stay distinct and the run keeps its shape."""
    if isinstance(value, str):
        return value if key in STRUCTURAL else value + hostile
    if isinstance(value, dict):
        lanes = key == "final_accuracy"
        return {(k + hostile if lanes else k): poisoned(v, hostile, k) for k, v in value.items()}
    if isinstance(value, list):
        return [poisoned(v, hostile, key) for v in value]
    return value


def hostile_lines(hostile: str) -> list[str]:
    lines = [json.dumps(poisoned(json.loads(line), hostile)) for line in LINES]
    crash = {
        "kind": "event",
        "v": 1,
        "run_id": "r" + hostile,
        "event": "crashed",
        "message": "boom" + hostile,
        "traceback": "Traceback\n  File " + hostile + "\nValueError: " + hostile,
        "data": {},
    }
    command = {
        "kind": "event",
        "v": 1,
        "run_id": "r",
        "event": "command_applied",
        "message": hostile,
        "lane": "heuristic" + hostile,
        "slot": 0,
        "data": {"type": "cull", "note": {hostile: hostile}},
    }
    return [*lines[:-1], json.dumps(command), lines[-1], json.dumps(crash)]


def rendered(view, store: TelemetryStore) -> list[tuple[str, str, bool]]:
    """(where, text, multiline) of everything a panel, dialog, toast or the exit line shows."""
    out = [
        ("header", header_text(view, SourceState("follow", waiting=""), 140).plain, True),
        ("scoreboard", scoreboard_text(view, 140).plain, True),
        ("gradients", gradient_text(view, 140).plain, True),
        ("saturation", saturation_text(view, 140).plain, True),
        ("finished", finished_text(view).plain, True),
    ]
    for lane in view.lanes:
        out.append(("detail model", model_text(view, lane.name).plain, True))
        for slot, history in lane.seed_history.items():
            for compact in (True, False, 1):
                out.append(
                    (
                        "card",
                        card_text(lane.name, slot, history, "culled", compact, True).plain,
                        True,
                    )
                )
    for decision in view.decisions:
        out += [
            ("decision", " ".join(c.plain for c in decision_cells(decision, True)), False),
            ("why pane", why_text(decision, view, 120).plain, True),
        ]
    for event in view.events:
        out += [("toast", applied_text(event), False), ("toast", event.message, False)]
    if view.crash is not None:
        out += [
            ("crash", view.crash.message, False),
            ("traceback", view.crash.traceback or "", True),
        ]
    data = chart_data(view, (0, 0))
    if data is not None:
        out += [("chart", lane.name, False) for lane in data.lanes]
        out += [("chart", data.focus.label, False)] if data.focus is not None else []
    app = EsperApp(store, None, refresh_hz=0, record_path=None, controls=False, clock=None)
    out.append(("exit line", app.exit_summary(), False))
    return out


def assert_safe(view, store: TelemetryStore) -> None:
    for where, text in strings_in(view):
        assert not unsafe(text, multiline=where.endswith(".traceback")), (where, text)
    for where, text, multiline in rendered(view, store):
        assert not unsafe(text, multiline), (where, text)
        text.encode("utf-8")  # strict: a lone surrogate would raise here, as print() does


def test_printable_escapes_what_a_terminal_obeys_and_keeps_what_it_draws():
    assert printable(ATTACK) == "\\x1b]0;pwned\\x07\\x1b[2J\\x1b[?1049l"
    assert printable("a\x9b2Jb\ud800c\u202ed") == "a\\x9b2Jb\\ud800c\\u202ed"
    assert printable("tab\there\nline", multiline=True) == "tab\there\nline"
    assert printable("tab\there\nline") == "tab\\there\\nline"
    kept = "iql[beta=3] · α→β 学习 ✓ \u00a0nbsp \ue0b0"
    assert printable(kept) is kept


@settings(max_examples=300, deadline=None, database=None)
@given(st.text(st.characters(exclude_categories=())))
def test_printable_text_is_safe_and_encodable_for_any_string(text):
    shown = printable(text)
    assert not unsafe(shown)
    shown.encode("utf-8")
    assert printable(shown) == shown  # once is enough
    if text.isprintable():
        assert shown == text


@SETTINGS
@given(ANY_TEXT)
def test_any_string_in_any_record_field_reaches_no_panel_raw_when_replayed(hostile):
    store = TelemetryStore(source="replay")
    for line in hostile_lines(hostile):
        store.add(record_from_line(line))
    assert_safe(store.view(), store)


@SETTINGS
@given(ANY_TEXT)
def test_any_string_in_a_live_record_reaches_no_panel_raw(hostile):
    """A live run's records reach the store as objects (lane names from model files, paths,
    tracebacks): the store makes them printable as they come in."""
    records = [raw_record(line) for line in hostile_lines(hostile)]
    store = TelemetryStore()
    for record in records:
        store.add(record)
    assert_safe(store.view(), store)


def raw_record(line: str):
    """The record a line describes, its strings exactly as in the line (as a live run makes
    them): decoded, then every string put back from the JSON."""
    data = json.loads(line)
    record = record_from_line(json.dumps(_placeholders(data)))
    return _restore(record, data)


def _placeholders(value):
    if isinstance(value, str):
        return value.encode("unicode_escape").decode("ascii")
    if isinstance(value, dict):
        return {_placeholders(k): _placeholders(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_placeholders(v) for v in value]
    return value


def _restore(value, original):
    """Undo ``_placeholders`` on every string of a decoded record."""
    if isinstance(value, str):
        return value.encode("ascii").decode("unicode_escape")
    if isinstance(value, msgspec.Struct):
        return msgspec.structs.replace(
            value,
            **{name: _restore(getattr(value, name), None) for name in value.__struct_fields__},
        )
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{
                f.name: _restore(getattr(value, f.name), None)
                for f in dataclasses.fields(value)
                if f.init
            },
        )
    if isinstance(value, dict):
        return {_restore(k, None): _restore(v, None) for k, v in value.items()}
    if isinstance(value, tuple):
        return tuple(_restore(v, None) for v in value)
    if isinstance(value, list):
        return [_restore(v, None) for v in value]
    return value


def test_a_model_file_named_with_escape_codes_gives_a_printable_lane(tmp_path):
    from esper_tui.cli.lanes import load_model_lanes

    # not UTF-8: a surrogate
    name = "evil\x1b]0;pwned\x07\x1b[2J" + b"\xff".decode("utf-8", "surrogateescape")
    model = tmp_path / f"{name}.pt"
    shutil.copy(ROOT / "tests" / "fixtures" / "tiny_iql.pt", model)
    (lane,) = load_model_lanes([str(model)], "cpu")
    assert lane.name == "evil\\x1b]0;pwned\\x07\\x1b[2J\\udcff"
    store = TelemetryStore()
    from training.records import RunInfo

    store.add(RunInfo("r", "head-to-head", (lane.info,), "tiny", "cpu", 0, 1, 1, 1))
    assert_safe(store.view(), store)
    assert "\\x1b]0;pwned" in header_text(store.view(), SourceState(), 200).plain


def test_the_replay_feeder_and_the_store_agree_on_what_is_shown():
    """The decoder and the store make text printable with the same function: a replayed file
    and the same records added live show the same names."""
    hostile = ATTACK + "\ud800"
    lines = hostile_lines(hostile)
    replayed = TelemetryStore(source="replay")
    for line in lines:
        replayed.add(record_from_line(line))
    live = TelemetryStore()
    for line in lines:
        live.add(raw_record(line))
    assert [lane.name for lane in replayed.view().lanes] == [
        lane.name for lane in live.view().lanes
    ]
    assert replayed.view().crash == live.view().crash


def test_a_record_file_keeps_the_live_run_s_text_as_it_was(tmp_path):
    """The screen shows text escaped; the record keeps it exactly (nothing is lost)."""
    path = tmp_path / "r.jsonl"
    store = TelemetryStore(path)
    event = RunEvent("r", "crashed", "boom " + ATTACK, traceback="t\n" + ATTACK)
    store.add(event)
    store.close()
    records, corrupt = read_records(path)
    assert corrupt == 0 and json.loads(path.read_text())["message"] == "boom " + ATTACK
    assert store.view().crash.message == "boom " + printable(ATTACK)
    replay_all(path, replayed := TelemetryStore(source="replay"))
    assert replayed.view().crash.message == store.view().crash.message
