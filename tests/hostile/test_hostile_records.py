"""Record lines are hostile input: any line is accepted or skipped and counted, and nothing in
one reaches the UI as an exception. Follow survives a missing, truncated or replaced file."""

import json
import os
import threading
import time
from pathlib import Path

import pytest

from esper_tui.replay import RecordFeeder, replay_all
from esper_tui.store import TelemetryStore
from tests.waiting import wait_for
from training.records import MAX_LINE, EpochRecord, RecordError, record_from_line

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "run.jsonl"
LINES = FIXTURE.read_text().splitlines()
RUN_LINE = LINES[0]
EPOCH_LINE = next(line for line in LINES if '"kind":"epoch"' in line)


def edited(line: str, change) -> str:
    data = json.loads(line)
    change(data)
    return json.dumps(data)


GOOD = {
    "bom": "\ufeff" + EPOCH_LINE,
    "nan-loss": edited(EPOCH_LINE, lambda d: d.update(train_loss=float("nan"))),
    "overflowing-float-becomes-inf": EPOCH_LINE.replace('"val_loss":', '"val_loss":1e999,"x":', 1),
    "unknown-extra-field": edited(EPOCH_LINE, lambda d: d.update(extra={"a": [1, 2]})),
}
BAD = {
    "lane-is-a-list": edited(EPOCH_LINE, lambda d: d.update(lane=["a"])),
    "episode-is-text": edited(EPOCH_LINE, lambda d: d.update(episode="1")),
    "episode-is-true": edited(EPOCH_LINE, lambda d: d.update(episode=True)),
    "episode-huge": edited(EPOCH_LINE, lambda d: d.update(episode=10**30)),
    "integer-of-5000-digits": EPOCH_LINE.replace('"episode":1', '"episode":' + "9" * 5000, 1),
    "alpha-infinite": edited(EPOCH_LINE, lambda d: d["seeds"][0].update(alpha=float("inf"))),
    "stage-unknown": edited(EPOCH_LINE, lambda d: d["seeds"][0].update(stage=99)),
    "slots-a-million": edited(RUN_LINE, lambda d: d.update(slots=10**6)),
    "telemetry-a-string": edited(EPOCH_LINE, lambda d: d["seeds"][0].update(telemetry="x")),
    "telemetry-extra-key": edited(EPOCH_LINE, lambda d: d["seeds"][0]["telemetry"].update(evil=1)),
    "decision-action-99": edited(EPOCH_LINE, lambda d: d["decision"].update(action=99)),
    "deep-nesting": '{"kind":"epoch","v":1,"x":' + "[" * 100000 + "]" * 100000 + "}",
    "moderate-nesting-in-data": '{"kind":"event","v":1,"run_id":"r","event":"paused","data":'
    + '{"a":' * 40
    + "1"
    + "}" * 40
    + "}",
    "paired-wrong": '{"kind":"event","v":1,"run_id":"r","event":"finished","data":{"paired":[{"lane":1}]}}',
    "final-accuracy-text": '{"kind":"event","v":1,"run_id":"r","event":"episode_finished",'
    '"data":{"final_accuracy":{"a":"high"}}}',
    "top-level-array": "[1,2,3]",
    "top-level-number": "12",
    "kind-is-object": '{"kind":{"a":1},"v":1}',
    "version-true": edited(EPOCH_LINE, lambda d: d.update(v=True)),
    "not-json": "{this is not json",
    "three-megabyte-string": '{"kind":"event","v":1,"run_id":"' + "x" * (3 * 2**20) + '"}',
}


@pytest.mark.parametrize("case", sorted(GOOD))
def test_odd_but_valid_lines_are_accepted(case):
    assert record_from_line(GOOD[case]) is not None


@pytest.mark.parametrize("case", sorted(BAD))
def test_hostile_line_is_refused_as_a_record_error_only(case):
    with pytest.raises(RecordError):
        record_from_line(BAD[case])


def test_every_hostile_line_is_counted_and_the_good_ones_all_shown(tmp_path):
    path = tmp_path / "hostile.jsonl"
    body = [RUN_LINE] + [BAD[c] for c in sorted(BAD)] + LINES[1:]
    path.write_text("\n".join(body) + "\n")
    store = TelemetryStore(source="replay")
    replay_all(path, store)
    view = store.view()
    assert view.corrupt_lines == len(BAD)
    assert view.crash is None and view.finished is not None
    clean = TelemetryStore(source="replay")
    replay_all(FIXTURE, clean)
    assert [lane.epochs for lane in view.lanes] == [lane.epochs for lane in clean.view().lanes]
    assert [lane.finals for lane in view.lanes] == [lane.finals for lane in clean.view().lanes]


def test_an_endless_line_is_dropped_unparsed_and_the_next_line_read(tmp_path):
    path = tmp_path / "long.jsonl"
    with open(path, "w") as f:
        f.write(
            RUN_LINE
            + "\n"
            + '{"kind":"event","message":"'
            + "y" * (MAX_LINE * 3)
            + '"}\n'
            + EPOCH_LINE
            + "\n"
        )
    store = TelemetryStore(source="replay")
    replay_all(path, store)
    view = store.view()
    assert view.corrupt_lines == 1
    assert [len(lane.epochs) for lane in view.lanes if lane.epochs] == [1]


def test_a_feeder_that_dies_says_so_on_screen(tmp_path):
    store = TelemetryStore(source="replay")
    # removed after the CLI checked it
    feeder = RecordFeeder(tmp_path / "gone.jsonl", store, speed=0)
    feeder.start()
    feeder.join(5)
    view = store.view()
    assert view.status == "CRASHED" and "record reader stopped" in view.crash.message


def _follow(path, store) -> RecordFeeder:
    feeder = RecordFeeder(path, store, follow=True, poll=0.02)
    feeder.start()
    return feeder


def _epochs(store) -> int:
    return sum(len(lane.epochs) for lane in store.view().lanes)


def test_follow_waits_for_a_file_that_is_not_there_yet(tmp_path):
    path = tmp_path / "later.jsonl"
    store = TelemetryStore(source="follow")
    feeder = _follow(path, store)
    try:
        assert wait_for(lambda: "waiting for later.jsonl" in store.view().source)
        path.write_text(RUN_LINE + "\n" + EPOCH_LINE + "\n")
        assert wait_for(lambda: _epochs(store) == 1)
        assert store.view().source == "follow"
    finally:
        assert feeder.stop()


@pytest.mark.parametrize("how", ["truncated", "replaced"])
def test_follow_starts_a_fresh_view_when_the_file_is_truncated_or_replaced(tmp_path, how):
    path = tmp_path / "run.jsonl"
    path.write_text("\n".join(LINES[:12]) + "\n")
    store = TelemetryStore(source="follow")
    feeder = _follow(path, store)
    try:
        assert wait_for(lambda: _epochs(store) >= 5)
        if how == "truncated":
            path.write_text(RUN_LINE + "\n" + EPOCH_LINE + "\n")
        else:
            fresh = tmp_path / "next.jsonl"
            fresh.write_text(RUN_LINE + "\n" + EPOCH_LINE + "\n")
            os.replace(fresh, path)
        assert wait_for(lambda: _epochs(store) == 1 and how in store.view().source)
    finally:
        assert feeder.stop()


def test_replay_controls_pause_speed_and_episode_jumps(tmp_path):
    store = TelemetryStore(source="replay")
    feeder = RecordFeeder(FIXTURE, store, speed=1000.0, linger=True)
    assert feeder.mode == "replay"
    assert feeder.change_speed(0.0) == 1000.0 and feeder.change_speed(2.0) == 2000.0
    assert feeder.change_speed(1e9) == 10_000.0
    feeder.start()
    try:
        assert wait_for(lambda: store.view().finished is not None)
        assert feeder.is_alive()  # lingers at the end so that it can go back
        episodes = {r.episode for lane in store.view().lanes for r in lane.epochs}
        last = max(episodes)
        # slowest speed: the replay then stays in the episode it went back to until sped up
        # (at full speed it finished again between two looks on a fast machine)
        assert feeder.change_speed(1e-9) == 0.01
        feeder.jump_episode(-1)
        assert wait_for(lambda: store.view().finished is None and store.view().episode >= last - 1)
        assert feeder.change_speed(1e9) == 10_000.0  # applied at once, not after 100 s
        assert feeder.toggle_pause() is True and feeder.toggle_pause() is False
        assert wait_for(lambda: store.view().finished is not None)
    finally:
        assert feeder.stop()
    assert not feeder.is_alive()
    assert threading.active_count() >= 1


def test_a_faster_speed_applies_at_once_not_after_the_slow_wait():
    store = TelemetryStore(source="replay")
    feeder = RecordFeeder(FIXTURE, store, speed=0.01)  # one epoch record per 100 s
    feeder.start()
    try:
        assert wait_for(lambda: _epochs(store) == 1)
        started = time.monotonic()
        feeder.change_speed(1e9)
        assert wait_for(lambda: store.view().finished is not None, timeout=20.0)
        assert time.monotonic() - started < 20.0  # before: the first 100 s wait went on
    finally:
        assert feeder.stop()


def test_a_record_from_a_real_run_reads_back_whole(tmp_path):
    records = [record_from_line(line) for line in LINES]
    assert sum(isinstance(r, EpochRecord) for r in records) == 40


def test_follow_never_blocks_on_a_fifo_put_where_the_file_was(tmp_path):
    path = tmp_path / "run.jsonl"
    path.write_text(RUN_LINE + "\n" + EPOCH_LINE + "\n")
    store = TelemetryStore(source="follow")
    feeder = _follow(path, store)
    try:
        assert wait_for(lambda: _epochs(store) == 1)
        path.unlink()
        os.mkfifo(path)
        time.sleep(0.2)  # several polls meet the FIFO
        assert feeder.is_alive() and store.view().crash is None
    finally:
        assert feeder.stop()


def test_a_fifo_in_place_of_a_followed_file_that_is_not_there_yet_is_not_opened_but_waited_past(
    tmp_path,
):
    path = tmp_path / "later.jsonl"
    os.mkfifo(path)
    store = TelemetryStore(source="follow")
    feeder = _follow(path, store)
    try:
        assert wait_for(
            lambda: "later.jsonl is a FIFO (named pipe), not a record" in store.view().source
        )
        assert feeder.is_alive() and store.view().crash is None
        path.unlink()
        path.write_text(RUN_LINE + "\n" + EPOCH_LINE + "\n")
        assert wait_for(lambda: _epochs(store) == 1) and store.view().source == "follow"
    finally:
        assert feeder.stop()


def test_a_seed_record_without_its_ten_features_is_skipped_not_indexed(tmp_path):
    """Found by the property test: ``features: []`` reached the saturation panel's indexing."""
    import json
    from pathlib import Path

    from esper_tui.replay import read_records

    fixture = Path(__file__).resolve().parents[1] / "fixtures" / "run.jsonl"
    line = next(row for row in fixture.read_text().splitlines() if '"kind":"epoch"' in row)
    d = json.loads(line)
    d["seeds"][0]["features"] = []
    (tmp_path / "r.jsonl").write_text(line + "\n" + json.dumps(d) + "\n")
    records, corrupt = read_records(tmp_path / "r.jsonl")
    assert len(records) == 1 and corrupt == 1
