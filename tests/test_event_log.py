"""The event log the store derives from the records: every run event, every seed transition once
with its gate, failed gates, and unreadable record lines with their line number."""

from pathlib import Path

import msgspec

from esper_tui.event_log import EventLog
from esper_tui.replay import replay_all
from esper_tui.store import TelemetryStore
from tests.widgets_support import RUN, full_view, records
from training.records import EpochRecord
from training.seeds.gates import GateResult


def texts(kind: str | None = None) -> list[str]:
    return [e.text for e in full_view().log if kind is None or e.kind == kind]


def test_the_run_events_are_told_in_full():
    log = texts()
    assert log[0] == "run started: head-to-head, 2 lane(s)"
    assert "operator paused the seed in heuristic slot 0" in log
    assert "refused: cull heuristic slot 2: slot2 is empty (DORMANT)" in log
    assert log[-1].startswith("run finished: tiny_iql vs heuristic: -3.44 points")


def test_a_finished_episode_carries_its_finals_and_the_paired_result_so_far():
    first = texts("episode")[0]
    assert (
        "episode 1/2 finished" in first
        and "final accuracy heuristic 41.88, tiny_iql 38.75" in first
    )
    assert "so far tiny_iql vs heuristic: -3.12 points" in first


def test_each_stage_transition_is_logged_once_with_its_gate():
    stages = texts("stage")
    blend = [t for t in stages if "heuristic slot0" in t and "TRAINING → BLENDING" in t]
    assert (
        blend
        == [
            "heuristic slot0 conv_enhance seed: TRAINING → BLENDING (advanced by policy); gate G2 blend passed"
        ]
        * 2
    )
    keys = [
        (e.episode, e.lane, e.slot, e.epoch, e.text) for e in full_view().log if e.kind == "stage"
    ]
    assert len(keys) == len(set(keys))  # the timeline repeats in every record; the log does not


def test_culls_and_fossilizations_are_their_own_kinds():
    assert texts("cull") == [
        "tiny_iql slot1 attention seed: TRAINING → CULLED (culled by operator)"
    ]
    assert texts("fossil") == [
        "heuristic slot0 conv_enhance seed: PROBATIONARY → FOSSILIZED (advanced by policy); gate G5 fossilize passed"
    ]
    seed_events = [e for e in full_view().log if e.kind in ("stage", "cull", "fossil")]
    assert all(
        e.lane is not None and e.slot is not None and e.epoch is not None for e in seed_events
    )


def test_a_gate_that_fails_without_a_transition_is_logged():
    epoch = next(
        r for r in records() if isinstance(r, EpochRecord) and any(s.seed_id for s in r.seeds)
    )
    seed = next(s for s in epoch.seeds if s.seed_id)
    failed = GateResult("G2 blend", 3, 4, False, (), ("accuracy did not improve",), epoch.epoch)
    later = msgspec.structs.replace(
        epoch,
        epoch=epoch.epoch + 1,
        seeds=tuple(
            msgspec.structs.replace(s, gate=failed) if s is seed else s for s in epoch.seeds
        ),
    )
    log = EventLog(100)
    log.add_epoch(epoch)
    log.add_epoch(later)
    gates = [e for e in log.entries() if e.kind == "gate"]
    assert (
        len(gates) == 1
        and "gate G2 blend (TRAINING → BLENDING) failed: accuracy did not improve" in gates[0].text
    )
    # the same gate again: nothing new
    log.add_epoch(msgspec.structs.replace(later, epoch=later.epoch + 1))
    assert len([e for e in log.entries() if e.kind == "gate"]) == 1


def test_unreadable_lines_are_logged_with_their_line_number(tmp_path: Path):
    lines = RUN.read_text().splitlines()
    damaged = tmp_path / "damaged.jsonl"
    damaged.write_text(
        "\n".join([lines[0], "", "{not json", *lines[1:4], '{"kind": "nope", "v": 1}']) + "\n"
    )
    replay_all(damaged, store := TelemetryStore(source="replay"))
    unreadable = [e.text for e in store.view().log if e.kind == "unreadable"]
    assert len(unreadable) == 2 and store.view().corrupt_lines == 2
    assert unreadable[0].startswith("record line 3 skipped as unreadable: not JSON")
    assert unreadable[1].startswith(
        "record line 7 skipped as unreadable: unknown record kind 'nope'"
    )


def test_the_log_is_bounded():
    log = EventLog(5)
    for record in records():
        if isinstance(record, EpochRecord):
            log.add_epoch(record)
    entries = log.entries()
    assert len(entries) == 5 and entries[-1].seq > 5
